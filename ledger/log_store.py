"""The integrity log's tables, in the ledger's own database (docs/design.md §4).

Beside the ``eventsourcing`` events table, in the same database and schema:

* ``pmm_log_leaves``: log index (0-based, gapless, commit order) → the
  notification id of the stored event whose state is the entry bytes. Both
  columns are unique, so no entry can ever get two leaves.
* ``pmm_log_nodes``: the hash of every perfect subtree (level, index) of the
  RFC 6962 tree; level 0 holds leaf hashes. Proofs read O(log n) rows.
* ``pmm_log_checkpoints``: every signed checkpoint note, by tree size.
* ``pmm_log_lock``: one row; the integrator updates it first in its
  transaction, which serialises integrators on SQLite (write lock) and on
  PostgreSQL (row lock) alike.

The SQL is written once with ``%s`` placeholders and a ``{p}`` schema prefix;
what differs between the backends (placeholders, column types, the events
table's row id, how a read connects) is the dialect's (``ledger.dialect``,
docs/decisions.md decision 41).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from ledger.dialect import Dialect

TABLES = ("pmm_log_leaves", "pmm_log_nodes", "pmm_log_checkpoints", "pmm_log_lock")


class Cursor:
    """A cursor that takes ``%s`` placeholders on both backends."""

    def __init__(self, raw: Any, dialect: Dialect, prefix: str) -> None:
        self.raw, self.dialect, self.prefix = raw, dialect, prefix

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self.dialect.sql(sql.replace("{p}", self.prefix)), tuple(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.raw.executemany(self.dialect.sql(sql.replace("{p}", self.prefix)), rows)

    def one(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        return (
            None if row is None else tuple(row.values() if isinstance(row, dict) else row)
        )

    def all(self) -> list[tuple[Any, ...]]:
        return [
            tuple(r.values() if isinstance(r, dict) else r) for r in self.raw.fetchall()
        ]


class LogStore:
    """Reads and writes the log tables through the recorder's datastore."""

    def __init__(self, recorder: ApplicationRecorder, dialect: Dialect) -> None:
        self.dialect = dialect
        self.datastore: Any = recorder.datastore  # type: ignore[attr-defined]
        self.prefix = dialect.prefix(self.datastore)
        self.events_table = f"{self.prefix}{recorder.events_table_name}"  # type: ignore[attr-defined]
        self.create_tables()

    @contextmanager
    def transaction(self, commit: bool) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=commit) as raw:
            yield Cursor(raw, self.dialect, self.prefix)

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A cursor for one read, without BEGIN and ROLLBACK around it (each
        read is its own consistent snapshot)."""
        with self.dialect.read(self.datastore) as raw:
            yield Cursor(raw, self.dialect, self.prefix)

    def new_entries(self, cur: Cursor, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(notification id, entry bytes) of stored events after id ``after``."""
        rowid = self.dialect.rowid
        rows = cur.execute(
            f"SELECT {rowid} AS nid, state FROM {self.events_table} WHERE {rowid} > %s "
            f"ORDER BY {rowid} LIMIT %s",
            (after, limit),
        ).all()
        return [(int(nid), bytes(state)) for nid, state in rows]

    def create_tables(self) -> None:
        # On SQLite an INTEGER PRIMARY KEY is the rowid: one index fewer per leaf.
        blob, index_type = self.dialect.blob, self.dialect.log_index
        with self.transaction(commit=True) as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_log_leaves ("
                f"log_index {index_type} PRIMARY KEY, "
                "notification_id BIGINT NOT NULL UNIQUE)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_log_nodes (level INTEGER NOT NULL, "
                f"idx BIGINT NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, idx))"
                + self.dialect.keyed
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_log_checkpoints ("
                "size BIGINT PRIMARY KEY, note TEXT NOT NULL)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_log_lock ("
                "id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)"
            )
            if cur.execute("SELECT COUNT(*) FROM {p}pmm_log_lock").one() == (0,):
                cur.execute("INSERT INTO {p}pmm_log_lock (id, generation) VALUES (1, 0)")

    # -- reads (each in its own short transaction) ------------------------------

    def size(self) -> int:
        with self.read() as cur:
            row = cur.execute("SELECT MAX(log_index) FROM {p}pmm_log_leaves").one()
        return int(row[0]) + 1 if row and row[0] is not None else 0

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Many subtree hashes in one round trip: {(level, index): hash}."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        where = " OR ".join(["(level = %s AND idx = %s)"] * len(wanted))
        with self.read() as cur:
            rows = cur.execute(
                f"SELECT level, idx, hash FROM {{p}}pmm_log_nodes WHERE {where}",
                [value for key in wanted for value in key],
            ).all()
        found = {(int(level), int(idx)): bytes(h) for level, idx, h in rows}
        missing = [key for key in wanted if key not in found]
        if missing:
            raise LookupError(f"no subtree hash at (level, index) {missing[0]}")
        return found

    def node_range(self, level: int, start: int, stop: int) -> list[bytes]:
        """Subtree hashes at ``level`` for indexes start <= i < stop, in order."""
        with self.read() as cur:
            rows = cur.execute(
                "SELECT hash FROM {p}pmm_log_nodes WHERE level = %s AND idx >= %s "
                "AND idx < %s ORDER BY idx",
                (level, start, stop),
            ).all()
        if len(rows) != stop - start:
            raise LookupError(f"subtree hashes missing at level {level} in {start}..{stop}")
        return [bytes(row[0]) for row in rows]

    def checkpoint(self, size: int | None = None) -> tuple[int, str] | None:
        """The checkpoint for ``size`` (default: the latest), as (size, note)."""
        with self.read() as cur:
            if size is None:
                cur.execute(
                    "SELECT size, note FROM {p}pmm_log_checkpoints "
                    "ORDER BY size DESC LIMIT 1"
                )
            else:
                cur.execute(
                    "SELECT size, note FROM {p}pmm_log_checkpoints WHERE size = %s",
                    (size,),
                )
            row = cur.one()
        return None if row is None else (int(row[0]), str(row[1]))

    def recent_checkpoints(self, limit: int) -> list[tuple[int, str]]:
        """The ``limit`` largest stored checkpoints, largest first, as (size, note)."""
        with self.read() as cur:
            rows = cur.execute(
                "SELECT size, note FROM {p}pmm_log_checkpoints ORDER BY size DESC LIMIT %s",
                (limit,),
            ).all()
        return [(int(size), str(note)) for size, note in rows]

    def replace_checkpoint(self, size: int, note: str) -> None:
        """Store the checkpoint of ``size`` with the cosignatures it gathered."""
        with self.transaction(commit=True) as cur:
            cur.execute(
                "UPDATE {p}pmm_log_checkpoints SET note = %s WHERE size = %s", (note, size)
            )

    def entries(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(log index, entry bytes) for start <= index < stop, in log order."""
        rowid = self.dialect.rowid
        with self.read() as cur:
            rows = cur.execute(
                f"SELECT l.log_index, e.state FROM {{p}}pmm_log_leaves l "
                f"JOIN {self.events_table} e ON e.{rowid} = l.notification_id "
                "WHERE l.log_index >= %s AND l.log_index < %s ORDER BY l.log_index",
                (start, stop),
            ).all()
        return [(int(i), bytes(state)) for i, state in rows]

    def stream_entries(
        self, streams: Sequence[str], stop: int, start: int = 0
    ) -> list[tuple[int, bytes]]:
        """(log index, entry bytes) of the entries of ``streams`` with
        ``start <= index < stop``, in log order."""
        if not streams:
            return []
        rowid = self.dialect.rowid
        marks = ", ".join(["%s"] * len(streams))
        with self.read() as cur:
            rows = cur.execute(
                f"SELECT l.log_index, e.state FROM {self.events_table} e "
                f"JOIN {{p}}pmm_log_leaves l ON l.notification_id = e.{rowid} "
                f"WHERE e.originator_id IN ({marks}) AND l.log_index >= %s "
                "AND l.log_index < %s ORDER BY l.log_index",
                (*streams, start, stop),
            ).all()
        return [(int(i), bytes(state)) for i, state in rows]

    def last_index(self, streams: Sequence[str], stop: int) -> int:
        """The log index of the last entry of ``streams`` below ``stop`` (-1 if
        none): with ``stop`` it names exactly which entries a replay reads."""
        rowid = self.dialect.rowid
        marks = ", ".join(["%s"] * len(streams))
        with self.read() as cur:
            row = cur.execute(
                f"SELECT MAX(l.log_index) FROM {self.events_table} e "
                f"JOIN {{p}}pmm_log_leaves l ON l.notification_id = e.{rowid} "
                f"WHERE e.originator_id IN ({marks}) AND l.log_index < %s",
                (*streams, stop),
            ).one()
        return -1 if row is None or row[0] is None else int(row[0])

    def opened(self, prefix: str) -> list[tuple[str, bytes]]:
        """(stream, first entry) of every stream whose id starts with ``prefix``
        (a non-empty prefix such as ``assessment/KEN/``)."""
        with self.read() as cur:
            rows = cur.execute(
                f"SELECT originator_id, state FROM {self.events_table} "
                "WHERE originator_id >= %s AND originator_id < %s "
                "AND originator_version = 1 ORDER BY originator_id",
                # A range on the primary key, not LIKE (which SQLite cannot
                # answer from the index): every id that starts with prefix.
                (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)),
            ).all()
        return [(str(stream), bytes(state)) for stream, state in rows]

    def leaf_indexes(self, notification_ids: Sequence[int]) -> dict[int, int]:
        """{notification id: log index} for those already in the log."""
        if not notification_ids:
            return {}
        marks = ", ".join(["%s"] * len(notification_ids))
        with self.read() as cur:
            rows = cur.execute(
                "SELECT notification_id, log_index FROM {p}pmm_log_leaves "
                f"WHERE notification_id IN ({marks})",
                list(notification_ids),
            ).all()
        return {int(nid): int(index) for nid, index in rows}

    def entry(self, index: int) -> bytes:
        """The bytes of entry ``index``. Its own query, not ``entries(i, i + 1)``:
        PostgreSQL would reuse the prepared plan of a large range read."""
        rowid = self.dialect.rowid
        with self.read() as cur:
            row = cur.execute(
                f"SELECT e.state FROM {{p}}pmm_log_leaves l "
                f"JOIN {self.events_table} e ON e.{rowid} = l.notification_id "
                "WHERE l.log_index = %s",
                (index,),
            ).one()
        if row is None:
            raise LookupError(f"the log has no entry {index}")
        return bytes(row[0])
