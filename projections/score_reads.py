"""Score tables read from the bitemporal index (decision 37), one query each.

Reads go through the ledger's own connection (the index lives in the ledger's
database, beside the log). The index answers a log size only up to the scores
view's watermark; ``indexed_size`` tells how far that is, and the callers in
``projections.timetravel`` replay the log for anything beyond it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping

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
    return _table(stream, year, [reader.row(r[0], r[1], r[2:]) for r in found])


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
        rows.append(reader.row(line[2], line[3], line[4:]))
    return [_table(s, int(y), grouped[(s, y)]) for s, y in sorted(grouped)]


def indexed_publications(store: LogStore, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of ``stream``'s publications below ``indexed_size``."""
    with store.read() as cur:
        return publications(cur, stream)
