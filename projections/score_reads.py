"""Score tables read from the bitemporal index (decision 37), one query each.

Reads go through the ledger's own connection (the index lives in the ledger's
database, beside the log). The index answers a log size only up to the scores
view's watermark; ``indexed_size`` tells how far that is, and the callers in
``projections.timetravel`` replay the log for anything beyond it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.log_store import Cursor, LogStore
from projections.score_index import all_rows_as_of, publications, rows_as_of
from projections.score_rows import RowReader, in_table_order
from verify.scoreboard import ScoreRow, ScoreTable

_MADE: weakref.WeakSet[LogStore] = weakref.WeakSet()  # stores whose view tables exist


def _view_exists(store: LogStore, cur: Cursor) -> bool:
    if store in _MADE:
        return True
    if store.postgres:
        name = f"{store.prefix}pmm_score_publications"
        found = cur.execute("SELECT to_regclass(%s)", (name,)).one()
        exists = found is not None and found[0] is not None
    else:
        found = cur.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
            "name = 'pmm_score_publications'"
        ).one()
        exists = found is not None
    if exists:
        _MADE.add(store)
    return exists


def indexed_size(store: LogStore) -> int:
    """The largest log size the index answers (-1: there is no scores view)."""
    with store.read() as cur:
        if not _view_exists(store, cur):
            return -1
        row = cur.execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1").one()
    return int(row[0]) if row else 0


def _table(stream: str, year: int, rows: list[ScoreRow]) -> ScoreTable:
    member, cycle = stream.split("/")[1:]
    return ScoreTable(stream, member, cycle, year, in_table_order(rows))


def indexed_table(
    store: LogStore, stream: str, year: int, size: int, levels: Mapping[int, str]
) -> ScoreTable | None:
    """``stream``'s table for ``year`` at log ``size`` (≤ ``indexed_size``), its
    rows disclosed at ``levels``; None if the index holds no such table (the
    assessment was not open yet, or ``year`` is not one the view keeps)."""
    with store.read() as cur:
        found = rows_as_of(cur, stream, year, size)
    if not found:
        return None
    reader = RowReader(levels)
    return _table(stream, year, [reader.row(r[0], r[1], r[2]) for r in found])


def indexed_tables(
    store: LogStore, size: int, levels_of: Callable[[str], Mapping[int, str]]
) -> list[ScoreTable]:
    """Every indexed table at log ``size``, by stream then year; each stream's
    rows disclosed at ``levels_of(stream)``."""
    with store.read() as cur:
        found = all_rows_as_of(cur, size)
    grouped: dict[tuple[str, int], list[ScoreRow]] = {}
    readers: dict[str, RowReader] = {}
    for line in found:
        stream = line[0]
        reader = readers.get(stream)
        if reader is None:
            reader = readers[stream] = RowReader(levels_of(stream))
        key = (stream, line[1])
        rows = grouped.get(key)
        if rows is None:
            rows = grouped[key] = []
        rows.append(reader.row(line[2], line[3], line[4]))
    return [_table(s, int(y), grouped[(s, y)]) for s, y in sorted(grouped)]


def indexed_publications(store: LogStore, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of ``stream``'s publications below ``indexed_size``."""
    with store.read() as cur:
        return publications(cur, stream)


@dataclass(frozen=True)
class Snapshot:
    """What one score read needs, read on one connection (decision 37)."""

    stream: str
    size: int  # the log size asked for
    last: bytes | None  # the entry at size - 1
    rows: list[tuple[Any, ...]]  # (level, code, *content) at size
    versions: tuple[int, int]  # the stream's and the framework's, now


def indexed_snapshot(
    store: LogStore,
    member: str,
    year: int,
    pick: Callable[[list[tuple[str, bytes]]], str],
    at_size: int | None,
) -> Snapshot | None:
    """A score read from the index in one connection checkout: ``member``'s
    assessments (``pick`` chooses the stream, or raises as ``find_assessment``
    does), the log's size and last entry, the view's watermark, the rows, and
    the versions disclosure depends on. None when the index cannot answer
    exactly (no view, a size it has not reached or outside the log, no rows):
    the caller then takes the general path, which also names what is wrong."""
    rowid = "notification_id" if store.postgres else "rowid"
    events = store.events_table
    prefix = f"assessment/{member}/"
    with store.read() as cur:
        if not _view_exists(store, cur):
            return None
        opened = cur.execute(
            f"SELECT originator_id, state FROM {events} WHERE originator_id >= %s "
            "AND originator_id < %s AND originator_version = 1 ORDER BY originator_id",
            (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)),
        ).all()
        stream = pick([(str(s), bytes(raw)) for s, raw in opened])
        tail = cur.execute(
            f"SELECT l.log_index, e.state FROM {{p}}pmm_log_leaves l JOIN {events} e "
            f"ON e.{rowid} = l.notification_id ORDER BY l.log_index DESC LIMIT 1"
        ).one()
        log_size = 0 if tail is None else int(tail[0]) + 1
        size = log_size if at_size is None else at_size
        watermark = cur.execute(
            "SELECT log_size FROM {p}pmm_scores_position WHERE id = 1"
        ).one()
        if not 0 <= size <= log_size or watermark is None or size > int(watermark[0]):
            return None
        last = None
        if tail is not None and size == log_size:
            last = bytes(tail[1])
        elif size > 0:
            found = cur.execute(
                f"SELECT e.state FROM {{p}}pmm_log_leaves l JOIN {events} e "
                f"ON e.{rowid} = l.notification_id WHERE l.log_index = %s",
                (size - 1,),
            ).one()
            last = None if found is None else bytes(found[0])
        rows = rows_as_of(cur, stream, year, size)
        if not rows or (size > 0 and last is None):
            return None
        known = dict(
            cur.execute(
                f"SELECT originator_id, MAX(originator_version) FROM {events} "
                "WHERE originator_id IN (%s, %s) GROUP BY originator_id",
                (stream, FRAMEWORK_STREAM),
            ).all()
        )
    versions = (int(known.get(stream, 0)), int(known.get(FRAMEWORK_STREAM, 0)))
    return Snapshot(stream, size, last, rows, versions)


def snapshot_table(snapshot: Snapshot, year: int, levels: Mapping[int, str]) -> ScoreTable:
    reader = RowReader(levels)
    rows = [reader.row(r[0], r[1], r[2]) for r in snapshot.rows]
    return _table(snapshot.stream, year, rows)
