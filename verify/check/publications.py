"""docs/design.md §5 item 5: every published score table equals the replay.

An ``assessment.published`` entry carries the score table it publishes and
the log size it was cut at. While the verifier streams the log it notes each
publication (``Publications.note``); afterwards ``check`` streams the entries
again up to the largest cut — feeding only the framework and the published
assessments' entries to a ``verify.scoring.scoreboard`` — and compares each signed
table with the replay at its cut. Memory holds the current scores of those
streams only, and the second pass checks no signatures. Publications cut above
the first missing or unreadable entry are not compared (docs/verifier.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from verify.check.findings import Finding
from verify.formats.entry import parse_entry
from verify.rules.workflow import Publication
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import table_difference

PUBLISHED = "assessment.published"
# A publication (its position: its log index) and its stream.
Noted = tuple[str, Publication]


@dataclass
class Publications:
    found: list[Noted] = field(default_factory=list)

    def note(self, index: int, raw: bytes) -> None:
        """Remember a publication entry (already checked by the replay)."""
        try:
            entry = parse_entry(raw)
            body = entry.signed.body
            version, cut_at = entry.stream_version, body["cut_at"]
            found = Publication(version, cut_at, body["title"], index, body["scores"])
            self.found.append((entry.stream, found))
        except Exception:  # a malformed entry is the replay's finding
            return

    def check(
        self, entries: Callable[[int], Iterator[tuple[int, bytes]]], usable: int
    ) -> list[Finding]:
        """Compare every noted table with the replay of ``entries(stop)`` below its cut.

        Only publications cut at ``usable`` or below are compared: from the first
        entry that is missing or unreadable (already a finding), the replay below
        a later cut is incomplete, so no table cut above it can be judged."""
        pending = sorted(
            (n for n in self.found if n[1].cut_at <= usable),
            key=lambda n: (n[1].cut_at, n[1].position),
        )
        if not pending:
            return []
        streams = {"framework", *(stream for stream, _ in pending)}
        markers = [f'"stream":"{s}"'.encode() for s in sorted(streams)]
        board = Scoreboard()
        findings = []
        for index, raw in entries(pending[-1][1].cut_at):
            while pending and pending[0][1].cut_at <= index:  # the replay at its cut
                findings.extend(_compare(board, pending.pop(0)))
            if any(marker in raw for marker in markers):
                try:
                    entry = parse_entry(raw)
                    if entry.stream in streams:
                        board.apply(index, entry)
                except Exception as exc:  # a finding, never a crash
                    reason = (
                        f"the score replay cannot take this entry ({type(exc).__name__}: "
                        f"{exc}); tables cut after it are not compared"
                    )
                    return [*findings, Finding("error", reason, index)]
        # The rest are cut at the largest size: the whole replay.
        for noted in pending:
            findings.extend(_compare(board, noted))
        return findings


def _compare(board: Scoreboard, noted: Noted) -> list[Finding]:
    try:
        return _differences(board, noted)
    except Exception as exc:  # a finding at the publication, never a crash
        reason = f"its table cannot be compared ({type(exc).__name__}: {exc})"
        return [Finding("error", reason, noted[1].position, noted[0], PUBLISHED)]


def _differences(board: Scoreboard, noted: Noted) -> list[Finding]:
    stream, publication = noted
    where = (publication.position, stream, PUBLISHED)
    if stream not in board.assessments:
        return [
            Finding(
                "scores",
                f"publishes {stream} at cut_at {publication.cut_at}, before the "
                "assessment was opened",
                *where,
            )
        ]
    year = publication.scores.get("reference_year")
    table = board.table(stream, year if isinstance(year, int) else None).published()
    problem = table_difference(publication.scores, table)
    if problem is None:
        return []
    return [
        Finding(
            "scores",
            f"the published table is not what the entries below cut_at "
            f"{publication.cut_at} give: {problem}",
            *where,
        )
    ]
