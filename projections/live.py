"""Current scores, kept up to date from the log (issue 5 item 3).

A materialised view in the ledger's own database: ``pmm_scores`` holds every
score row (with provenance) of every assessment for its reference years T and
T−1; ``pmm_scores_position`` holds the watermark — the log size the view
reflects. Rows and watermark are written in the same transaction as the
``eventsourcing`` tracking record, so the view is never ahead of or behind its
own position.

On PostgreSQL the library's notification-driven ``ProjectionRunner`` feeds
``ScoresProjection`` (LISTEN/NOTIFY, ``projections.runner``); on SQLite, which
has no notifications, ``catch_up`` reads the notification log from the
tracked position, so no server is needed. Both call the same ``process``, so
live and rebuilt views hold the same rows (tested on both backends).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from ledger.log_store import Cursor, LogStore
from projections.errors import ProjectionError
from projections.score_index import Changes, Indexer, create_statements
from projections.score_rows import TracingBoard
from verify.scoreboard import ScoreRow, ScoreTable
from verify.statement import Entry, parse_entry

NAME = "pmm_scores"
APPLICATION = "PMMLedger"  # ledger.application.Ledger.name: the tracked application
_COLUMNS = (
    *("stream", "member", "cycle", "reference_year", "level", "code", "score", "status"),
    *("grade", "method", "method_version", "sources", "excluded", "disclosure"),
    "restated_by",
)


class ScoresView:
    """SQL of the view, on whichever tracking recorder it is mixed into."""

    datastore: Any
    postgres = False
    events_table = "stored_events"

    def _prefix(self) -> str:
        return f'"{self.datastore.schema}".' if self.postgres else ""

    def _view_tables(self) -> list[str]:
        p = self._prefix()
        return [
            f"CREATE TABLE IF NOT EXISTS {p}pmm_scores (stream TEXT NOT NULL, "
            "member TEXT NOT NULL, cycle TEXT NOT NULL, reference_year INTEGER NOT NULL, "
            "level TEXT NOT NULL, code TEXT NOT NULL, score TEXT, status TEXT NOT NULL, "
            "grade TEXT, method TEXT, method_version TEXT, sources TEXT NOT NULL, "
            "excluded TEXT NOT NULL, disclosure TEXT NOT NULL, restated_by BIGINT, "
            "PRIMARY KEY (stream, reference_year, level, code))",
            f"CREATE TABLE IF NOT EXISTS {p}pmm_scores_position (id INTEGER PRIMARY KEY, "
            "log_size BIGINT NOT NULL, notification_id BIGINT NOT NULL)",
            *create_statements(p),
        ]

    def store(self) -> LogStore:
        """The integrity log's tables, read through this view's connection."""
        found: LogStore | None = getattr(self, "_store", None)
        if found is None:
            recorder: Any = SimpleNamespace(
                datastore=self.datastore, events_table_name=self.events_table
            )
            found = self._store = LogStore(recorder)
        return found

    def save(
        self,
        tables: Sequence[ScoreTable],
        changes: Changes,
        log_size: int,
        tracking: Tracking,
    ) -> None:
        """Replace these tables' rows, write the index's changes and move the
        watermark, all with the tracking record."""
        with self.datastore.transaction(commit=True) as raw:
            cur = Cursor(raw, not self.postgres, self._prefix())
            changes.write(cur)
            for table in tables:
                cur.execute(
                    "DELETE FROM {p}pmm_scores WHERE stream = %s AND reference_year = %s",
                    (table.stream, table.reference_year),
                )
                cur.executemany(
                    f"INSERT INTO {{p}}pmm_scores ({', '.join(_COLUMNS)}) VALUES "
                    f"({', '.join(['%s'] * len(_COLUMNS))})",
                    [_row(table, row) for row in table.rows],
                )
            cur.execute("DELETE FROM {p}pmm_scores_position")
            cur.execute(
                "INSERT INTO {p}pmm_scores_position (id, log_size, notification_id) "
                "VALUES (1, %s, %s)",
                (log_size, tracking.notification_id),
            )
            self._insert_tracking(raw, tracking)  # type: ignore[attr-defined]

    def rows(self, stream: str, year: int) -> list[ScoreRow]:
        with self.datastore.transaction(commit=False) as raw:
            found = (
                Cursor(raw, not self.postgres, self._prefix())
                .execute(
                    f"SELECT {', '.join(_COLUMNS[4:])} FROM {{p}}pmm_scores "
                    "WHERE stream = %s AND reference_year = %s",
                    (stream, year),
                )
                .all()
            )
        order = {"kpi": 0, "outcome": 1, "dimension": 2, "overall": 3}
        return sorted(
            (
                ScoreRow(
                    level=row[0],
                    code=row[1],
                    score=row[2],
                    status=row[3],
                    grade=row[4],
                    method=row[5],
                    method_version=row[6],
                    sources=tuple(json.loads(row[7])),
                    excluded=tuple(tuple(e) for e in json.loads(row[8])),
                    disclosure=row[9],
                    restated_by=row[10],
                )
                for row in found
            ),
            key=lambda r: (order[r.level], r.code),
        )

    def position(self) -> int:
        """The watermark: how many log entries the view reflects."""
        with self.datastore.transaction(commit=False) as raw:
            row = (
                Cursor(raw, not self.postgres, self._prefix())
                .execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1")
                .one()
            )
        return int(row[0]) if row else 0

    def ensure_index(self) -> None:
        """A view made before the score index existed has no history in it: forget
        the view, so that the next catch-up rebuilds it, index included."""
        with self.datastore.transaction(commit=False) as raw:
            cur = Cursor(raw, not self.postgres, self._prefix())
            moved = cur.execute("SELECT log_size FROM {p}pmm_scores_position").one()
            indexed = cur.execute("SELECT 1 FROM {p}pmm_score_index LIMIT 1").one()
        if moved is not None and int(moved[0]) > 0 and indexed is None:
            self.clear()

    def clear(self) -> None:
        """Forget everything, tracking included: the next catch-up rebuilds."""
        table = self.tracking_table_name if self.postgres else "tracking"  # type: ignore[attr-defined]
        with self.datastore.transaction(commit=True) as raw:
            cur = Cursor(raw, not self.postgres, self._prefix())
            for name in ("scores", "scores_position", "score_index", "score_publications"):
                cur.execute(f"DELETE FROM {{p}}pmm_{name}")
            cur.execute(
                f"DELETE FROM {{p}}{table} WHERE application_name = %s", (APPLICATION,)
            )


def _row(table: ScoreTable, row: ScoreRow) -> tuple[Any, ...]:
    return (
        *(table.stream, table.member, table.cycle, table.reference_year, row.level),
        *(row.code, row.score, row.status, row.grade, row.method, row.method_version),
        json.dumps(list(row.sources)),
        json.dumps([list(e) for e in row.excluded]),
        row.disclosure,
        row.restated_by,
    )


class SQLiteScoresView(ScoresView, SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self._view_tables()]


class PostgresScoresView(ScoresView, PostgresTrackingRecorder):
    postgres = True
    events_table = "pmmledger_events"

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in self._view_tables())


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
        touched: set[str] = set()
        for entry, index in zip(entries, indexes, strict=True):
            board.apply(index, entry)
            self.indexer.after(board, index, entry)
            if entry.stream == "framework":
                touched.update(board.assessments)
            elif entry.stream in board.assessments:
                touched.add(entry.stream)
        tables = [
            board.table(stream, year)
            for stream in sorted(touched)
            for year in (
                board.assessments[stream].reference_year - 1,
                board.assessments[stream].reference_year,
            )
        ]
        self.view.save(tables, self.indexer.take(), indexes[-1] + 1, tracking)

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
