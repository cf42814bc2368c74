"""Score tables read from the bitemporal index (decision 37), one query each.

Reads go through the ledger's own connection (the index lives in the ledger's
database, beside the log): the log reader's tables (``projections.log_reader``),
the one place besides the reader itself that runs SQL on them. The index answers
a log size only up to the scores view's watermark; ``indexed_size`` tells how
far that is, and the callers in ``projections.timetravel`` replay the log for
anything beyond it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.log_store import Cursor, LogStore
from projections.kept import Kept, kept_for
from projections.log_reader import LogReader
from projections.score_index import all_levels, all_rows_as_of, publications, rows_as_of
from projections.score_rows import RowReader, in_table_order
from verify.scoring.tables import ScoreRow, ScoreTable

_MADE: weakref.WeakSet[LogStore] = weakref.WeakSet()  # stores whose view tables exist
_ABSENT: weakref.WeakKeyDictionary[LogStore, float] = weakref.WeakKeyDictionary()
_RECHECK = 5.0  # seconds between two looks for a view found missing


def _view_exists(store: LogStore, cur: Cursor) -> bool:
    """Whether the scores view's tables exist (asked again at most every few
    seconds while they do not: a home without a view pays nothing a read)."""
    if store in _MADE:
        return True
    now = time.monotonic()
    if now - _ABSENT.get(store, -_RECHECK) < _RECHECK:
        return False
    _ABSENT[store] = now
    exists = store.dialect.table_exists(cur, store.prefix, "pmm_score_publications")
    if exists:
        _MADE.add(store)
    return exists


def indexed_size(log: LogReader) -> int:
    """The largest log size the index answers (-1: there is no scores view)."""
    with log.store.read() as cur:
        if not _view_exists(log.store, cur):
            return -1
        row = cur.execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1").one()
    return int(row[0]) if row else 0


def _table(stream: str, year: int, rows: list[ScoreRow]) -> ScoreTable:
    member, cycle = stream.split("/")[1:]
    return ScoreTable(stream, member, cycle, year, in_table_order(rows))


def indexed_table(
    log: LogReader, stream: str, year: int, size: int, levels: Mapping[int, str]
) -> ScoreTable | None:
    """``stream``'s table for ``year`` at log ``size`` (≤ ``indexed_size``), its
    rows disclosed at ``levels``; None if the index holds no such table (the
    assessment was not open yet, or ``year`` is not one the view keeps)."""
    with log.store.read() as cur:
        found = rows_as_of(cur, stream, year, size)
    if not found:
        return None
    reader = RowReader(levels)
    return _table(stream, year, [reader.row(r[0], r[1], r[2]) for r in found])


def indexed_tables(
    log: LogReader, size: int, levels_of: Callable[[str], Mapping[int, str]]
) -> list[ScoreTable]:
    """Every indexed table at log ``size``, by stream then year; each stream's
    rows disclosed at ``levels_of(stream)``."""
    with log.store.read() as cur:
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


def indexed_levels(log: LogReader) -> tuple[int, dict[str, dict[int, str]]]:
    """The watermark, and every value's level there by stream, in one snapshot."""
    with log.store.transaction(commit=False) as cur:
        row = cur.execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1").one()
        return (int(row[0]) if row else 0), all_levels(cur)


def indexed_stream_levels(log: LogReader, stream: str) -> tuple[int, dict[int, str]]:
    """The watermark, and each of ``stream``'s values' level there, in one snapshot."""
    with log.store.transaction(commit=False) as cur:
        row = cur.execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1").one()
        lines = cur.execute(
            "SELECT entry, level FROM {p}pmm_score_levels WHERE stream = %s", (stream,)
        ).all()
    return (int(row[0]) if row else 0), {int(entry): level for entry, level in lines}


def indexed_publications(log: LogReader, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of ``stream``'s publications below ``indexed_size``."""
    with log.store.read() as cur:
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
    log: LogReader,
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
    store = log.store
    rowid = store.dialect.rowid
    events, leaves = store.events_table, "{p}pmm_log_leaves"
    prefix = f"assessment/{member}/"
    entry_at = (
        f"SELECT e.state FROM {leaves} l JOIN {events} e ON e.{rowid} = l.notification_id"
    )
    with store.read() as cur:
        if not _view_exists(store, cur):
            return None
        # 1: the Member's assessments, the log's tail, the watermark, the entry
        # at a size asked for (uncorrelated subqueries: each evaluated once).
        opened = cur.execute(
            # Every column named: PostgreSQL's rows are dicts by column name.
            f"SELECT o.originator_id AS stream, o.state AS opening, "
            f"(SELECT MAX(log_index) FROM {leaves}) AS top, "
            f"({entry_at} ORDER BY l.log_index DESC LIMIT 1) AS tail, "
            "(SELECT log_size FROM {p}pmm_scores_position WHERE id = 1) AS watermark, "
            f"({entry_at} WHERE l.log_index = %s) AS asked "
            f"FROM {events} o WHERE o.originator_id >= %s AND o.originator_id < %s "
            "AND o.originator_version = 1 ORDER BY o.originator_id",
            (
                -1 if at_size is None else at_size - 1,
                prefix,
                prefix[:-1] + chr(ord(prefix[-1]) + 1),
            ),
        ).all()
        if not opened:
            return None  # the general path says there is no such assessment
        stream = pick([(str(row[0]), bytes(row[1])) for row in opened])
        top, tail, watermark, asked = opened[0][2:]
        log_size = 0 if top is None else int(top) + 1
        size = log_size if at_size is None else at_size
        last = tail if at_size is None else asked
        if not 0 <= size <= log_size or watermark is None or size > int(watermark):
            return None
        if size > 0 and last is None:
            return None
        # 2: the rows, and the versions their disclosure depends on.
        rows = cur.execute(
            "SELECT level, code, content, "
            f"(SELECT MAX(originator_version) FROM {events} WHERE originator_id = %s) "
            "AS version, "
            f"(SELECT MAX(originator_version) FROM {events} WHERE originator_id = %s) "
            "AS framework "
            "FROM {p}pmm_score_index WHERE stream = %s AND reference_year = %s "
            "AND became <= %s AND (stopped IS NULL OR stopped > %s)",
            (stream, FRAMEWORK_STREAM, stream, year, size, size),
        ).all()
    if not rows:
        return None
    versions = (int(rows[0][3] or 0), int(rows[0][4] or 0))
    found = None if size == 0 or last is None else bytes(last)
    return Snapshot(stream, size, found, [r[:3] for r in rows], versions)


def _after(prefix: str) -> str:
    """The first string after every one that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def snapshot_table(
    log: LogReader, snapshot: Snapshot, year: int, levels: Mapping[int, str]
) -> ScoreTable:
    """The snapshot's table, its rows disclosed at ``levels`` (those of
    ``snapshot.versions``). In one ledger, the same stored rows at the same
    versions give the same table, so it is kept per log reader: a repeated read
    decodes nothing."""
    kept = kept_for(_KEPT, log, 256)
    key = (snapshot.stream, year, snapshot.versions, tuple(snapshot.rows))
    found = kept.get(key)
    if found is not None:
        return found
    reader = RowReader(levels)
    rows = [reader.row(r[0], r[1], r[2]) for r in snapshot.rows]
    table = _table(snapshot.stream, year, rows)
    kept.put(key, table)
    return table


_KEPT: weakref.WeakKeyDictionary[LogReader, Kept[tuple[Any, ...], ScoreTable]] = (
    weakref.WeakKeyDictionary()
)
