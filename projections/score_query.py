"""Score reads as every surface asks them: the command line, the JSON API, the pages.

``pmm scores|diff``, ``GET /scores|/diff|/history`` (and their exports) and the
pages under ``/ui`` ask the same questions of docs/design.md §2, each defined
once here (docs/decisions.md, decision 46): which record time — now, as of a
time, at a log size, as published, or now from the live projection — which
assessment, the rows the reader's audience allows (docs/design.md, "Who reads
what") and how many it withholds, with the provenance each row carries, and
the names of the restricted rows shown, which the caller writes to the access
log before answering.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ledger.application import Ledger
from projections.changes import Diff
from projections.changes import diff as diff_query
from projections.disclosure import visible
from projections.errors import NoSuchAssessmentError
from projections.exports import SCORE_COLUMNS, changes_frame, history_frame, score_rows
from projections.log_reader import LogReader
from projections.runner import LiveScores
from projections.timetravel import Position, Scores, find_assessment, scores


@dataclass(frozen=True)
class When:
    """The record time a score read names (docs/design.md §2); all None: now."""

    cycle: str | None = None
    as_of: str | None = None
    at_size: int | None = None
    published: str | None = None  # CYCLE (its latest publication) or CYCLE@N

    @property
    def now(self) -> bool:
        return self.as_of is None and self.at_size is None and self.published is None


@dataclass(frozen=True)
class ScoreRead:
    """One score table read at ``audience``: the rows it may see, with provenance."""

    found: Scores
    year: int
    audience: str
    rows: list[dict[str, Any]]

    @property
    def withheld(self) -> int:
        return len(self.found.table.rows) - len(self.rows)

    def header(self) -> dict[str, Any]:
        """What the answer says besides its rows (``GET /scores``, the pages)."""
        table, where = self.found.table, self.found.position
        return {
            "stream": table.stream,
            "member": table.member,
            "cycle": table.cycle,
            "reference_year": self.year,
            "position": {
                "size": where.size,
                "label": where.label,
                "recorded_at": where.recorded_at,
            },
            "audience": self.audience,
            "withheld": self.withheld,
        }

    def frame(self) -> pd.DataFrame:
        """The rows as a frame, for files and the command line."""
        return pd.DataFrame(self.rows, columns=SCORE_COLUMNS)

    def restricted_shown(self) -> list[str]:
        return restricted_score_names(self.rows)


def restricted_score_names(rows: list[dict[str, Any]]) -> list[str]:
    """The score rows shown at ``restricted``, named for the access log."""
    return [
        f"score {row['level']} {row['code']}"
        for row in rows
        if row["disclosure"] == "restricted"
    ]


def read_scores(
    ledger: Ledger, member: str, year: int, when: When, audience: str, live: bool = False
) -> ScoreRead:
    """``member``'s scores for ``year`` at ``when``, shown at ``audience``; with
    ``live``, "now" is the live projection, brought up to date first."""
    if live and when.now:
        found = live_scores(ledger, member, year, when.cycle)
    else:
        found = scores(
            ledger,
            member,
            year,
            cycle=when.cycle,
            as_of=when.as_of,
            at_size=when.at_size,
            published=when.published,
        )
    return ScoreRead(
        found, year, audience, score_rows(found.table, found.position, audience)
    )


def live_scores(ledger: Ledger, member: str, year: int, cycle: str | None) -> Scores:
    """Now: the live projection, brought up to date first (its watermark shown)."""
    stream = find_assessment(LogReader.of(ledger), member, year, cycle)
    live = LiveScores(ledger)
    try:
        size = live.catch_up()
        table = live.table(stream, year)
    finally:
        live.close()
    if not table.rows:
        raise NoSuchAssessmentError(f"{stream} has no scores for {year}")
    return Scores(table, Position(size, "now, from the live projection"))


@dataclass(frozen=True, eq=False)
class DiffRead:
    """What changed between two record times, as ``audience`` may see it."""

    found: Diff
    member: str
    year: int
    audience: str
    frame: pd.DataFrame  # the visible entries and moved scores, one row each

    def answer(self) -> dict[str, Any]:
        """``GET /diff``'s answer (the pages show it too)."""
        found, audience = self.found, self.audience
        changes = [asdict(c) for c in found.changes if visible(c.disclosure, audience)]
        moved = [asdict(s) for s in found.score_changes if visible(s.disclosure, audience)]
        return {
            "stream": found.stream,
            "member": self.member,
            "reference_year": self.year,
            "from": {"size": found.start.size, "label": found.start.label},
            "to": {"size": found.end.size, "label": found.end.label},
            "audience": audience,
            "withheld": len(found.changes) + len(found.score_changes) - len(self.frame),
            "changes": changes,
            "score_changes": moved,
        }


def read_diff(
    ledger: Ledger,
    member: str,
    year: int,
    start: str,
    end: str | None,
    cycle: str | None,
    audience: str,
) -> DiffRead:
    """The changes to ``member``'s ``year`` from ``start`` to ``end`` (default now)."""
    found = diff_query(ledger, member, year, start=start, end=end, cycle=cycle)
    return DiffRead(found, member, year, audience, changes_frame(found, audience))


def read_history(
    ledger: Ledger, member: str, year: int, cycle: str | None, audience: str
) -> tuple[pd.DataFrame, int]:
    """Every value recorded that ``audience`` may see, and how many it may not."""
    everything = history_frame(ledger, member, year, "restricted", cycle)
    if everything.empty:
        return everything, 0
    frame = everything[everything["disclosure"].map(lambda d: visible(d, audience))]
    return frame.reset_index(drop=True), len(everything) - len(frame)
