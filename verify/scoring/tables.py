"""Score tables: their rows, the published form and how two tables differ.

What ``verify.scoring.scoreboard`` answers (docs/scoring.md): one row per KPI,
expected outcome, dimension and the overall score, each with its provenance
(log indexes, the method's version) and its disclosure, the most restricted of
what it reveals (docs/decisions.md, decision 26).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from verify.scoring.methods import Scored, format_score

SCORES_FORMAT = "pmm-scores/v1"
LEVELS = ("kpi", "outcome", "dimension", "overall")


@dataclass(frozen=True)
class ScoreRow:
    """One line of a score table, with its provenance (log indexes, method version)."""

    level: str  # kpi | outcome | dimension | overall
    code: str
    score: str | None
    status: str  # scored, revised, or why there is no score
    grade: str | None = None
    method: str | None = None
    method_version: str | None = None
    sources: tuple[int, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    disclosure: str = "public"
    restated_by: int | None = None


@dataclass(frozen=True)
class ScoreTable:
    stream: str
    member: str
    cycle: str
    reference_year: int
    rows: tuple[ScoreRow, ...]

    def published(self) -> dict[str, Any]:
        """The table as an ``assessment.published`` body carries it (docs/scoring.md)."""
        table: dict[str, Any] = {
            "format": SCORES_FORMAT,
            "reference_year": self.reference_year,
        }
        for level, key in (
            ("kpi", "kpis"),
            ("outcome", "outcomes"),
            ("dimension", "dimensions"),
        ):
            table[key] = {r.code: r.score for r in self.rows if r.level == level}
        table["overall"] = next(r.score for r in self.rows if r.level == "overall")
        return table


_ORDER = {"public": 0, "wco": 1, "restricted": 2}


def widest(disclosures: Iterable[str]) -> str:
    """The most restricted disclosure among the inputs (a score reveals its inputs)."""
    return max(disclosures, key=lambda d: _ORDER[d], default="public")


def with_outcome(
    row: ScoreRow, outcome: Scored | str, used: list[int], disclosure: str | None = None
) -> ScoreRow:
    """``row`` with a score or a status, more sources and perhaps a wider level."""
    sources = tuple(sorted({*row.sources, *used}))
    if isinstance(outcome, str):
        return replace(
            row, status=outcome, sources=sources, disclosure=disclosure or row.disclosure
        )
    return replace(
        row,
        score=format_score(outcome.score) if outcome.score is not None else None,
        status="scored" if outcome.score is not None else (outcome.reason or "unscorable"),
        grade=outcome.level,
        sources=sources,
        disclosure=disclosure or row.disclosure,
    )


def revise(
    row: ScoreRow, revised: tuple[Decimal, int] | None, value_index: int = -1
) -> ScoreRow:
    """``row`` as a score revision (score, log index) leaves it."""
    # The later of the value and the revision wins: a correction recorded
    # after a score revision is scored afresh (docs/scoring.md).
    if revised is None or revised[1] < value_index:
        return row
    return replace(
        row,
        score=format_score(revised[0]),
        status="revised",
        sources=tuple(sorted({*row.sources, revised[1]})),
    )


def table_difference(claimed: Mapping[str, Any], replayed: Mapping[str, Any]) -> str | None:
    """The first difference between a published table and the replayed one."""
    if claimed.get("reference_year") != replayed["reference_year"]:
        return (
            f"reference_year is {claimed.get('reference_year')}, the assessment's "
            f"table is for {replayed['reference_year']}"
        )
    for level in ("kpis", "outcomes", "dimensions"):
        mine, theirs = claimed.get(level, {}), replayed[level]
        for code in sorted(set(mine) | set(theirs)):
            if code not in theirs:
                return f"{level}.{code} is not in the replayed table"
            if code not in mine:
                return f"{level}.{code} is missing (replay gives {theirs[code]})"
            if mine[code] != theirs[code]:
                return f"{level}.{code} is {mine[code]}, the replay gives {theirs[code]}"
    if claimed.get("overall") != replayed["overall"]:
        return (
            f"overall is {claimed.get('overall')}, the replay gives {replayed['overall']}"
        )
    return None
