"""Bitemporal queries: scores for reference year T as recorded at any moment.

docs/design.md §2: every query answers "for reference year T, as recorded at R".
Record time is a log size (the first N entries); a time is turned into the
size of the log at that time (``recorded_at`` never decreases along the log,
so a binary search finds it), and a publication names its own size
(``cut_at``). Only the framework stream and the Member's assessment stream
are read, so one Member's query costs its own entries, not the whole log.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.application import Ledger
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.errors import NotFoundError
from projections.disclosure import disclosure_at_versions, disclosure_now
from projections.errors import NoSuchAssessmentError, QueryError
from projections.every_score import all_scores, replayed_scores
from projections.kept import Kept, kept_for
from projections.log_reader import LogReader
from projections.score_reads import (
    indexed_publications,
    indexed_size,
    indexed_snapshot,
    indexed_stream_levels,
    indexed_table,
    snapshot_table,
)
from verify.formats.entry import parse_entry
from verify.formats.schema import MEMBER_RE
from verify.formats.statement import parse_timestamp
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreTable

__all__ = [
    "Position",
    "Scores",
    "all_scores",
    "find_assessment",
    "parse_moment",
    "pick_assessment",
    "position",
    "replayed_scores",
    "replayed_table",
    "scores",
]


@dataclass(frozen=True)
class Position:
    """A point in record time: the first ``size`` entries of the log."""

    size: int
    label: str  # how it was asked for: "now", "as of …", "at size …", "as published …"
    recorded_at: str | None = None  # of the last entry within it


@dataclass(frozen=True)
class Scores:
    table: ScoreTable
    position: Position
    publication: dict[str, Any] | None = None  # the signed table, for --published


def find_assessment(log: LogReader, member: str, year: int, cycle: str | None) -> str:
    """The stream of ``member``'s assessment for reference ``year`` (or of ``cycle``)."""
    _check_member(member)
    return pick_assessment(log.opened(f"assessment/{member}/"), member, year, cycle)


def _check_member(member: str) -> None:
    if MEMBER_RE.fullmatch(member) is None:
        raise QueryError(f"{member!r} is not a Member code (ISO 3166-1 alpha-3, e.g. KEN)")


def pick_assessment(
    opened: list[tuple[str, bytes]], member: str, year: int, cycle: str | None
) -> str:
    """``find_assessment`` among ``member``'s opened streams (stream, first entry)."""
    found = []
    for stream, raw in opened:
        body = parse_entry(raw).signed.body
        if cycle is not None:
            if body["cycle"] == cycle:
                return stream
        elif body["reference_year"] == year:
            found.append(stream)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise QueryError(
            f"{member} has {len(found)} assessments for {year}: {', '.join(found)}; "
            "name one with --cycle"
        )
    what = f"cycle {cycle}" if cycle is not None else f"reference year {year}"
    raise NoSuchAssessmentError(f"{member} has no assessment for {what}")


def parse_moment(text: str) -> datetime:
    """An RFC 3339 time or a date (``2026-11-22`` means the end of that day, UTC)."""
    candidate = f"{text}T23:59:59.999999Z" if len(text) == 10 else text
    try:
        return parse_timestamp(candidate.replace("+00:00", "Z"))
    except Exception:
        raise QueryError(
            f"{text!r} is not a time: use RFC 3339 UTC (2026-11-22T12:00:00Z) or a date"
        ) from None


def position(
    ledger: Ledger,
    *,
    as_of: str | None = None,
    at_size: int | None = None,
) -> Position:
    """The record-time position a query names (default: the whole log, now)."""
    log, size = LogReader.of(ledger), ledger.log_size()
    if as_of is not None and at_size is not None:
        raise QueryError("name one record time: --as-of or --at-size, not both")
    if at_size is not None:
        if not 0 <= at_size <= size:
            raise QueryError(f"--at-size {at_size} is outside the log (0..{size})")
        return _labelled(log, at_size, f"at log size {at_size}")
    if as_of is not None:
        moment = parse_moment(as_of)
        return _labelled(log, log.size_at(moment), f"as recorded at {as_of}")
    return _labelled(log, size, "now")


def _labelled(log: LogReader, size: int, label: str) -> Position:
    if size == 0:
        return Position(0, label)
    return Position(size, label, log.recorded_at(size - 1))


def scores(
    ledger: Ledger,
    member: str,
    year: int,
    *,
    cycle: str | None = None,
    as_of: str | None = None,
    at_size: int | None = None,
    published: str | None = None,
) -> Scores:
    """Member's scores for reference ``year`` at a record time or as published."""
    if published is not None:
        if as_of is not None or at_size is not None:
            raise QueryError(
                "--published names its own record time; drop --as-of/--at-size"
            )
        return _published(ledger, member, year, published)
    if as_of is None:
        _check_member(member)
        fast = _snapshot(ledger, member, year, cycle, at_size)
        if fast is not None:
            return fast
    stream = find_assessment(LogReader.of(ledger), member, year, cycle)
    where = position(ledger, as_of=as_of, at_size=at_size)
    return Scores(_table(ledger, stream, year, where), where)


def _snapshot(
    ledger: Ledger, member: str, year: int, cycle: str | None, at_size: int | None
) -> Scores | None:
    """Now or at a size, from the index in one connection checkout (the read
    path of the HTTP API), or None: then the general path answers."""
    log = LogReader.of(ledger)
    found = indexed_snapshot(
        log,
        member,
        year,
        lambda opened: pick_assessment(opened, member, year, cycle),
        at_size,
    )
    if found is None:
        return None
    levels = disclosure_at_versions(ledger, found.stream, found.versions).levels
    label = "now" if at_size is None else f"at log size {at_size}"
    recorded_at = parse_entry(found.last).recorded_at if found.last is not None else None
    where = Position(found.size, label, recorded_at)
    table = snapshot_table(log, found, year, levels)
    return Scores(table, where)


# Replayed score tables, most recently used first, per log reader.
#
# A table's scores depend only on the framework's and its assessment's
# entries below the log size asked for, and entries below an index never
# change (the log is append-only); its rows' disclosure depends on the
# stream's values as they stand now (decision 26). So ``(stream, year, last
# such index, the stream's version now)`` names a table exactly, and a read
# that nothing relevant has changed since is answered without replaying.
TableKey = tuple[str, int, int, int]
_TABLES: weakref.WeakKeyDictionary[LogReader, Kept[TableKey, ScoreTable]] = (
    weakref.WeakKeyDictionary()
)


def _table(ledger: Ledger, stream: str, year: int, where: Position) -> ScoreTable:
    """From the score index when it has reached ``where`` (one query), else
    (the view behind, or a year it does not keep) replayed from the log."""
    log = LogReader.of(ledger)
    if where.size <= indexed_size(log):
        # The levels now: the view's own when it has reached the whole log (one
        # query), else the assessment's from the ledger (decision 26).
        watermark, levels = indexed_stream_levels(log, stream)
        if watermark < ledger.log_size():
            levels = disclosure_now(ledger, stream).levels
        found = indexed_table(log, stream, year, where.size, levels)
        if found is not None:
            return found
    return replayed_table(ledger, stream, year, where)


def replayed_table(ledger: Ledger, stream: str, year: int, where: Position) -> ScoreTable:
    """The naive reference: ``stream``'s entries and the framework's replayed."""
    log = LogReader.of(ledger)
    tables = kept_for(_TABLES, log, 256)
    last = log.last_index([FRAMEWORK_STREAM, stream], where.size)
    key = (stream, year, last, ledger.stream_version(stream))
    table = tables.get(key)
    if table is None:
        board = log.board([stream], where.size)
        if stream not in board.assessments:
            raise NoSuchAssessmentError(
                f"{stream} was not yet opened {where.label} (log size {where.size})"
            )
        table = board.table(stream, year, disclosure_now(ledger, stream).levels)
        tables.put(key, table)
    return table


def _published(ledger: Ledger, member: str, year: int, cycle: str) -> Scores:
    """``CYCLE`` is its latest publication, ``CYCLE@N`` its N-th (1 is the first)."""
    log = LogReader.of(ledger)
    name, _, nth = cycle.partition("@")
    stream = find_assessment(log, member, year, name)
    publications = _publications(ledger, stream)
    if not publications:
        raise NotFoundError(f"{stream} has not been published")
    if nth and (not nth.isdigit() or not 1 <= int(nth) <= len(publications)):
        raise QueryError(
            f"{stream} has {len(publications)} publication(s); "
            f"--published {name}@N takes N from 1 to {len(publications)}"
        )
    index, cut_at = publications[int(nth) - 1 if nth else -1]
    label = f"as published in cycle {name} (log index {index}, cut at {cut_at})"
    where = _labelled(log, cut_at, label)
    signed = parse_entry(log.entry(index)).signed.body.get("scores", {})
    # Disclosed as the levels stand now, not then (decision 26).
    return Scores(_table(ledger, stream, year, where), where, dict(signed))


def _publications(ledger: Ledger, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of every publication of ``stream`` so far: from the
    score index when it has reached the whole log, else from a replay."""
    log = LogReader.of(ledger)
    if indexed_size(log) >= ledger.log_size():
        return indexed_publications(log, stream)
    board = Scoreboard()
    board.apply_all(log.parsed([stream], ledger.log_size()))
    return [(p.position, p.cut_at) for p in board.assessments[stream].publications]
