"""DESIGN.md §5 item 5: every published score table equals the replay.

An ``assessment.published`` entry carries the score table it publishes and
the log size it was cut at. While the verifier streams the log it notes each
publication (``Publications.note``); afterwards ``check`` streams the entries
again up to the largest cut — feeding only the framework and the published
assessments' entries to a ``verify.scoreboard`` — and compares each signed
table with the replay at its cut. Memory holds the current scores of those
streams only, and the second pass checks no signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from verify.errors import VerifyError
from verify.findings import Finding
from verify.scoreboard import Scoreboard, table_difference
from verify.statement import parse_entry

PUBLISHED = "assessment.published"


@dataclass(frozen=True)
class Publication:
    index: int
    stream: str
    cut_at: int
    scores: dict[str, Any]


@dataclass
class Publications:
    found: list[Publication] = field(default_factory=list)

    def note(self, index: int, raw: bytes) -> None:
        """Remember a publication entry (already checked by the replay)."""
        try:
            entry = parse_entry(raw)
            body = entry.signed.body
            self.found.append(
                Publication(index, entry.stream, body["cut_at"], body["scores"])
            )
        except (VerifyError, KeyError, TypeError):
            return  # a malformed entry is the replay's finding, not ours

    def check(self, entries: Callable[[int], Iterator[tuple[int, bytes]]]) -> list[Finding]:
        """Compare every noted table with the replay of ``entries(stop)`` below its cut."""
        if not self.found:
            return []
        pending = sorted(self.found, key=lambda p: (p.cut_at, p.index))
        streams = {"framework", *(p.stream for p in pending)}
        markers = [f'"stream":"{s}"'.encode() for s in sorted(streams)]
        board = Scoreboard()
        findings = []
        for index, raw in entries(pending[-1].cut_at):
            while pending and pending[0].cut_at <= index:  # the replay at its cut
                findings.extend(_compare(board, pending.pop(0)))
            if any(marker in raw for marker in markers):
                entry = parse_entry(raw)
                if entry.stream in streams:
                    board.apply(index, entry)
        # The rest are cut at the largest size: the whole replay.
        for publication in pending:
            findings.extend(_compare(board, publication))
        return findings


def _compare(board: Scoreboard, publication: Publication) -> list[Finding]:
    stream = publication.stream
    where = (publication.index, stream, PUBLISHED)
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
