"""What changed between two record times, by whom, why, on what evidence.

docs/design.md §2's third question. ``diff`` lists every entry of the Member's
assessment (and every framework definition) recorded in between that can move
a score — values, corrections, not-used declarations, disclosure changes,
score revisions, KPI revisions — each with the value before and after, the
principal, the reason, the evidence and its log index; then every score of
reference year T that moved, naming the entries in between that moved it. A
correction to year T−1 shows up as a restated variation KPI of year T.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.application import Ledger
from projections.disclosure import VALUE_TYPES, Disclosure, disclosure_now, narrowest
from projections.errors import QueryError
from projections.log_reader import LogReader
from projections.timetravel import Position, find_assessment, position
from verify.formats.entry import Entry
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreRow

_MOVES = {
    "value.submitted",
    "value.corrected",
    "kpi.not_used",
    "disclosure.set",
    "score.revised",
    "kpi.defined",
    "kpi.revised",
    "outcome.revised",
    "dimension.revised",
}


@dataclass(frozen=True)
class Change:
    """One entry recorded in between, and what it changed."""

    log_index: int
    recorded_at: str
    entry_type: str
    principal: str
    subject: str  # "KPI-07 2022", "KPI-07 (definition)"...
    old: Any
    new: Any
    reason: str | None
    evidence: tuple[str, ...]
    source: dict[str, str] | None
    disclosure: str  # of the value it records ("public" for definitions)


@dataclass(frozen=True)
class ScoreChange:
    level: str
    code: str
    old: str | None
    new: str | None
    old_status: str
    new_status: str
    caused_by: tuple[int, ...]  # log indexes recorded in between
    restated_by: int | None  # a T-1 correction that restated a variation KPI
    disclosure: str  # the score's (the widest of its inputs')


@dataclass(frozen=True)
class Diff:
    stream: str
    reference_year: int
    start: Position
    end: Position
    changes: tuple[Change, ...]
    score_changes: tuple[ScoreChange, ...]


def _before(board: Scoreboard, stream: str, entry_type: str, body: dict[str, Any]) -> Any:
    state = board.assessments.get(stream)
    if entry_type.startswith(("kpi.", "outcome.", "dimension.")) and "code" in body:
        group = {
            "kpi": board.kpis,
            "outcome": board.outcomes,
            "dimension": board.dimensions,
        }
        versions = group[entry_type.split(".")[0]].get(body["code"], [])
        return dict(versions[-1].body) if versions else None
    if state is None or "kpi" not in body:
        return None
    if entry_type == "score.revised":
        revised = state.revised.get((body["kpi"], body["reference_year"]))
        return str(revised[0]) if revised else None
    current = state.current_record(body["kpi"], body.get("reference_year", 0))
    return {"status": current.status, "value": current.value} if current else None


def _after(entry_type: str, body: dict[str, Any]) -> Any:
    if entry_type == "score.revised":
        return body["score"]
    if entry_type in ("value.submitted", "value.corrected"):
        return {"status": body["status"], "value": body.get("value")}
    if entry_type == "kpi.not_used":
        return "not used"
    if entry_type == "disclosure.set":
        return {"disclosure": body["disclosure"], "entry": body["entry"]}
    return body


def _subject(entry_type: str, body: dict[str, Any]) -> str:
    if "kpi" in body:
        year = body.get("reference_year")
        return f"{body['kpi']} {year}" if year else str(body["kpi"])
    if "code" in body:
        return f"{body['code']} (definition)"
    return f"entry {body.get('entry', '?')}"


def diff(
    ledger: Ledger,
    member: str,
    year: int,
    *,
    start: str,
    end: str | None = None,
    cycle: str | None = None,
) -> Diff:
    """Changes to ``member``'s year-``year`` scores between two record times.

    ``start`` and ``end`` are times (RFC 3339 or a date) or log sizes
    (``size:N``); ``end`` defaults to now.
    """
    log = LogReader.of(ledger)
    stream = find_assessment(log, member, year, cycle)
    first, last = _where(ledger, start), _where(ledger, end)
    if first.size > last.size:
        raise QueryError(f"--from ({first.label}) is after --to ({last.label})")
    entries = log.parsed([stream], last.size)  # read once, split at start
    # Every row at the level its values have now (decision 26), not then.
    now = disclosure_now(ledger, stream)
    board = Scoreboard()
    board.apply_all(e for e in entries if e[0] < first.size)
    old_rows = _rows(board, stream, year, now.levels)
    changes = []
    for index, entry in entries:
        if index < first.size:
            continue
        kind, body = entry.entry_type, entry.signed.body
        if kind in _MOVES:
            changes.append(
                Change(
                    index,
                    entry.recorded_at,
                    kind,
                    entry.signed.principal,
                    _subject(kind, body),
                    _before(board, entry.stream, kind, body),
                    _after(kind, body),
                    body.get("reason") or body.get("justification") or body.get("comment"),
                    tuple(body.get("evidence", ())),
                    body.get("source"),
                    _level(now, board, entry),
                )
            )
        board.apply(index, entry)
    new_rows = _rows(board, stream, year, now.levels)
    moved = [
        ScoreChange(
            row.level,
            row.code,
            old.score if old else None,
            row.score,
            old.status if old else "not defined",
            row.status,
            tuple(i for i in row.sources if i >= first.size),
            row.restated_by
            if row.restated_by is not None and row.restated_by >= first.size
            else None,
            # The old score and the new: as restricted as the stricter of them.
            narrowest([row.disclosure, old.disclosure if old else "public"]),
        )
        for key, row in new_rows.items()
        if (old := old_rows.get(key)) is None
        or (old.score, old.status) != (row.score, row.status)
    ]
    return Diff(stream, year, first, last, tuple(changes), tuple(moved))


def _where(ledger: Ledger, text: str | None) -> Position:
    if text is None:
        return position(ledger)
    if text.startswith("size:"):
        try:
            return position(ledger, at_size=int(text.removeprefix("size:")))
        except ValueError:
            raise QueryError(f"{text!r}: a log size is size:N, N a whole number") from None
    return position(ledger, as_of=text)


def _rows(
    board: Scoreboard, stream: str, year: int, levels: dict[int, str]
) -> dict[tuple[str, str], ScoreRow]:
    if stream not in board.assessments:
        return {}
    return {(r.level, r.code): r for r in board.table(stream, year, levels).rows}


def _level(now: Disclosure, board: Scoreboard, entry: Entry) -> str:
    """What a change row reveals: the entry, and for a new value the value it
    replaces too (the row shows both, old and new)."""
    level = now.entry(entry)
    body = entry.signed.body
    state = board.assessments.get(entry.stream)
    if entry.entry_type in VALUE_TYPES and state is not None:
        before = state.current_record(body["kpi"], body["reference_year"])
        if before is not None:
            level = narrowest([level, now.value(before.entry)])
    return level
