"""The code cites the project's own docs, and every citation leads somewhere.

The repository stands alone (docs/design.md): a comment that sends a reader to a
brief outside it, or to a tracker's issue number, explains nothing to a newcomer.
So the sources cite ``docs/*.md`` and its numbered sections, and this test fails
on a citation of a file that does not exist or of a section that is not there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("verify", "ledger", "intake", "projections", "api", "benchmarks", "tests")
FOREIGN = re.compile(r"DESIGN\.md|FORMATS\.md|\b[Ii]ssues? \d+\b")
DOC = re.compile(r"docs/([\w-]+\.md)(?: §(\d+(?:\.\d+)?))?")
SECTION = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.MULTILINE)


def _sources() -> list[Path]:
    found = []
    for package in PACKAGES:
        found += [
            p for p in sorted((ROOT / package).rglob("*.py")) if "corpus" not in p.parts
        ]
    return found


def _sections(doc: str) -> set[str]:
    return set(SECTION.findall((ROOT / "docs" / doc).read_text(encoding="utf-8")))


def test_sources_exist() -> None:
    assert len(_sources()) > 100


def test_no_citation_outside_the_repository() -> None:
    bad = []
    for path in _sources():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FOREIGN.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert bad == [], "\n".join(bad)


def test_every_cited_doc_and_section_exists() -> None:
    missing = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for doc, section in DOC.findall(text):
            if not (ROOT / "docs" / doc).exists():
                missing.append(f"{path.relative_to(ROOT)} cites docs/{doc}")
            elif section and section not in _sections(doc):
                missing.append(f"{path.relative_to(ROOT)} cites docs/{doc} §{section}")
    assert missing == [], "\n".join(sorted(set(missing)))


@pytest.mark.parametrize(("doc", "sections"), [("design.md", 8), ("formats.md", 2)])
def test_the_cited_docs_are_numbered(doc: str, sections: int) -> None:
    assert {str(n) for n in range(1, sections + 1)} <= _sections(doc)


# "decision 14", "decisions 35 and 31", "decisions 40-41", "docs/decisions.md 32",
# "docs/decisions.md, decision 46": every number cited.
DECISION = re.compile(
    r"\b[Dd]ecisions?(?:\.md,?)? (?:decision )?((?:\d+(?:, | and | or |–|-))*\d+)\b"
)


def _decisions() -> list[int]:
    text = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    return [int(n) for n in re.findall(r"^## (\d+)\. ", text, re.MULTILINE)]


def test_decisions_are_numbered_one_after_another() -> None:
    # A gap reads as a decision withdrawn or lost; a citation of the missing
    # number would lead nowhere.
    numbers = _decisions()
    gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
    assert numbers == list(range(1, len(numbers) + 1)), f"missing: {gaps}"


def test_every_cited_decision_exists() -> None:
    known = set(_decisions())
    texts = [p for p in _sources() if p != Path(__file__)]
    texts += [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    missing = []
    for path in texts:
        for cited in DECISION.findall(path.read_text(encoding="utf-8")):
            for number in re.findall(r"\d+", cited):
                if int(number) not in known:
                    missing.append(f"{path.relative_to(ROOT)} cites decision {number}")
    assert missing == [], "\n".join(sorted(set(missing)))


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("(decision 14)", ["14"]),
        ("decisions 35 and 31", ["35 and 31"]),
        ("decisions 40–41", ["40–41"]),
        ("docs/decisions.md 32", ["32"]),
        ("docs/decisions.md, decision 46", ["46"]),
        ("the decision to split", []),
    ],
)
def test_the_decision_pattern_reads_every_form(text: str, numbers: list[str]) -> None:
    assert DECISION.findall(text) == numbers
