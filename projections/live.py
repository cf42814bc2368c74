"""Current scores, kept up to date from the log.

A materialised view in the ledger's own database: the bitemporal score index
(``projections.score_index``, decision 37) holds every version of every score
row (with provenance) of every assessment for its reference years T and T−1,
with the log sizes it was current for — its current versions are the scores
now; ``pmm_scores_position`` holds the watermark — the log size the view
reflects. Rows and watermark are written in the same transaction as the
``eventsourcing`` tracking record, so the view is never ahead of or behind its
own position.

On PostgreSQL the library's notification-driven ``ProjectionRunner`` feeds
``ScoresProjection`` (LISTEN/NOTIFY, ``projections.runner``); on SQLite, which
has no notifications, ``catch_up`` reads the notification log from the
tracked position, so no server is needed. Both call the same ``process``, so
live and rebuilt views hold the same rows (tested on both backends). The view
has a class per backend, as the library's recorders do; the SQL that differs
is each one's dialect's (``ledger.dialect``, docs/decisions.md decision 41).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from ledger.dialect import POSTGRESQL, SQLITE, Dialect
from ledger.log_store import Cursor, LogStore
from projections.errors import ProjectionError
from projections.score_board import TracingBoard
from projections.score_index import Changes, Indexer, create_statements, current_rows
from projections.score_rows import RowReader, in_table_order
from verify.formats.entry import Entry, parse_entry
from verify.scoring.tables import ScoreRow

NAME = "pmm_scores"
VIEW_TABLES = (
    *("pmm_scores_position", "pmm_score_index", "pmm_score_levels"),
    "pmm_score_publications",
)
APPLICATION = "PMMLedger"  # ledger.application.Ledger.name: the tracked application


class ScoresView:
    """SQL of the view, on whichever tracking recorder it is mixed into."""

    datastore: Any
    dialect: ClassVar[Dialect]
    tracking_table_name: str  # the library's tracking table

    def _prefix(self) -> str:
        return self.dialect.prefix(self.datastore)

    def cursor(self, raw: Any) -> Cursor:
        """A cursor on a raw one of this view's datastore (``%s``, ``{p}``)."""
        return Cursor(raw, self.dialect, self._prefix())

    def _view_tables(self) -> list[str]:
        p = self._prefix()
        return [
            f"CREATE TABLE IF NOT EXISTS {p}pmm_scores_position (id INTEGER PRIMARY KEY, "
            "log_size BIGINT NOT NULL, notification_id BIGINT NOT NULL)",
            *create_statements(p),
        ]

    def store(self) -> LogStore:
        """The integrity log's tables, read through this view's connection."""
        found: LogStore | None = getattr(self, "_store", None)
        if found is None:
            recorder: Any = SimpleNamespace(
                datastore=self.datastore, events_table_name=self.dialect.events_table
            )
            found = self._store = LogStore(recorder, self.dialect)
        return found

    def save(self, changes: Changes, log_size: int, tracking: Tracking) -> None:
        """Write the index's changes and move the watermark, with the tracking
        record, in one transaction."""
        with self.datastore.transaction(commit=True) as raw:
            cur = self.cursor(raw)
            changes.write(cur)
            cur.execute("DELETE FROM {p}pmm_scores_position")
            cur.execute(
                "INSERT INTO {p}pmm_scores_position (id, log_size, notification_id) "
                "VALUES (1, %s, %s)",
                (log_size, tracking.notification_id),
            )
            self._insert_tracking(raw, tracking)  # type: ignore[attr-defined]

    def rows(self, stream: str, year: int, levels: Mapping[int, str]) -> list[ScoreRow]:
        """The current rows of one table (the index's versions not stopped), in
        table order, disclosed at ``levels`` (value entry -> level now)."""
        with self.datastore.transaction(commit=False) as raw:
            cur = self.cursor(raw)
            found = current_rows(cur, stream, year)
        reader = RowReader(levels)
        return list(in_table_order(reader.row(r[0], r[1], r[2]) for r in found))

    def position(self) -> int:
        """The watermark: how many log entries the view reflects."""
        with self.datastore.transaction(commit=False) as raw:
            row = (
                self.cursor(raw)
                .execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1")
                .one()
            )
        return int(row[0]) if row else 0

    def ensure_index(self) -> None:
        """A view made before the score index existed has no history in it: forget
        the view, so that the next catch-up rebuilds it, index included."""
        with self.datastore.transaction(commit=False) as raw:
            cur = self.cursor(raw)
            moved = cur.execute("SELECT log_size FROM {p}pmm_scores_position").one()
            indexed = cur.execute("SELECT 1 FROM {p}pmm_score_index LIMIT 1").one()
        if moved is not None and int(moved[0]) > 0 and indexed is None:
            self.clear()

    def clear(self) -> None:
        """Forget everything, tracking included: the next catch-up rebuilds."""
        table = self.tracking_table_name
        with self.datastore.transaction(commit=True) as raw:
            cur = self.cursor(raw)
            for name in VIEW_TABLES:
                cur.execute(f"DELETE FROM {{p}}{name}")
            cur.execute(
                f"DELETE FROM {{p}}{table} WHERE application_name = %s", (APPLICATION,)
            )


class SQLiteScoresView(ScoresView, SQLiteTrackingRecorder):
    dialect = SQLITE
    tracking_table_name = "tracking"  # SQLiteTrackingRecorder's, which it does not name

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self._view_tables()]


class PostgresScoresView(ScoresView, PostgresTrackingRecorder):
    dialect = POSTGRESQL

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in self._view_tables())


# The view's class for each dialect (``projections.runner.open_view``).
VIEWS: dict[str, type[ScoresView]] = {
    SQLITE.name: SQLiteScoresView,
    POSTGRESQL.name: PostgresScoresView,
}


class ScoresProjection(Projection[Any]):
    """Applies log entries to a scoreboard and saves the tables they touch."""

    name = NAME

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self.board: TracingBoard | None = None
        self.loaded: set[str] = set()  # streams the board holds
        self.indexer = Indexer()
        view.ensure_index()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process([(tracking.notification_id, bytes(domain_event.entry))], tracking)

    def process(self, items: Sequence[tuple[int, bytes]], tracking: Tracking) -> None:
        """Apply entries (notification id, bytes), then save with ``tracking``."""
        store = self.view.store()
        indexes = _log_indexes(store, [nid for nid, _ in items])
        entries = [parse_entry(raw) for _, raw in items]
        board = self._board(store, indexes[0], {e.stream for e in entries})
        for entry, index in zip(entries, indexes, strict=True):
            board.apply(index, entry)
            self.indexer.after(board, index, entry)
        self.view.save(self.indexer.take(), indexes[-1] + 1, tracking)

    def _board(self, store: LogStore, first_index: int, streams: set[str]) -> TracingBoard:
        """The in-memory scoreboard, holding every stream a batch needs as of the
        batch's first entry. It is loaded lazily from the log: the framework once,
        an assessment the first time one of its entries comes (every assessment
        when the framework changes), so catching up after a restart reads only
        what it scores, not the whole log."""
        if self.board is None:
            self.board = TracingBoard()
            self.indexer = Indexer()
            self.loaded = {"framework"}
            self.board.apply_all(_parsed(store, ["framework"], first_index))
        if "framework" in streams:
            streams = {s for s, _ in store.opened("assessment/")}
        wanted = sorted(streams - self.loaded)
        self.board.apply_all(
            _parsed(store, [s for s in wanted if s != "registry"], first_index)
        )
        self.loaded.update(wanted)
        self.indexer.adopt(self.board, wanted)
        return self.board


def _parsed(store: LogStore, streams: list[str], stop: int) -> Iterator[tuple[int, Entry]]:
    return ((i, parse_entry(raw)) for i, raw in store.stream_entries(streams, stop))


def _log_indexes(
    store: LogStore, notification_ids: list[int], wait: float = 10.0
) -> list[int]:
    """The log index of each notification; waits briefly for the sequencer, which
    integrates an entry just after the transaction that stored it."""
    deadline = time.monotonic() + wait
    while True:
        found = store.leaf_indexes(notification_ids)
        if len(found) == len(notification_ids):
            return [found[nid] for nid in notification_ids]
        if time.monotonic() > deadline:
            missing = min(set(notification_ids) - set(found))
            raise ProjectionError(
                f"notification {missing} is not in the integrity log yet; "
                "open the ledger once so it integrates pending entries"
            )
        time.sleep(0.02)
