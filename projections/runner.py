"""Running the scores projection: catch-up (SQLite, the CLI, rebuilds) and the
notification-driven runner (PostgreSQL). See ``projections.live``."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Mapper, Tracking
from eventsourcing.projection import ProjectionRunner
from eventsourcing.utils import Environment

from ledger.application import Ledger
from ledger.dialect import POSTGRESQL, dialect_of, persistence_env
from ledger.persistence import EntryMapper, Settings
from ledger.writer_lock import WriterLock
from projections.disclosure import disclosure_now
from projections.live import (
    APPLICATION,
    NAME,
    VIEWS,
    ScoresProjection,
)
from verify.scoring.tables import ScoreTable


class LedgerReader(Application[str]):
    """The ledger's events, read-only, as the projection runner subscribes to them."""

    name = APPLICATION

    def construct_mapper(self) -> Mapper[str]:
        return EntryMapper()


def open_view(settings: Settings, lock: WriterLock | None = None) -> Any:
    """The scores view in the ledger's database (tables made if missing, under
    the ledger's tables ``lock``, or under a lock of its own name taken here:
    two PostgreSQL sessions creating them at once can fail)."""
    dialect = dialect_of(settings)
    env = Environment(NAME, dialect.env(settings))
    view_class = VIEWS[dialect.name]
    factory: Any = InfrastructureFactory.construct(env)
    if lock is None:
        lock = dialect.tables_lock(factory.datastore)  # the ledger's key
    with lock.hold():
        return factory.tracking_recorder(view_class)


class LiveScores:
    """The scores view of one ledger, brought up to date on demand."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        # One opening at a time makes the view's tables, as the ledger's own
        # (two PostgreSQL sessions creating them at once can fail).
        self.view = open_view(ledger.settings, ledger.tables_lock)
        self.projection = ScoresProjection(self.view)

    def catch_up(self, batch: int = 2000) -> int:
        """Process every notification after the tracked one; return the watermark."""
        last = self.view.max_tracking_id(APPLICATION) or 0
        while True:
            notes = self.ledger.recorder.select_notifications(start=last + 1, limit=batch)
            if not notes:
                break
            last = notes[-1].id
            self.projection.process(
                [(n.id, bytes(n.state)) for n in notes], Tracking(APPLICATION, last)
            )
        return int(self.view.position())

    def rebuild(self) -> int:
        """Drop the view and replay the whole log into it."""
        self.view.clear()
        self.projection.board = None
        return self.catch_up()

    def table(self, stream: str, year: int) -> ScoreTable:
        """The view's rows for one assessment and year, as a score table, each
        disclosed at its inputs' levels now (decision 26)."""
        rows = self.view.rows(stream, year, disclosure_now(self.ledger, stream).levels)
        member, cycle = stream.split("/")[1:]
        return ScoreTable(stream, member, cycle, year, tuple(rows))

    def close(self) -> None:
        self.view.datastore.close()


def run_projection(settings: Settings) -> ProjectionRunner[Any, Any]:
    """Start the notification-driven runner (PostgreSQL): a thread that keeps the
    view current as entries are recorded; stop it with ``runner.stop()``."""
    open_view(settings).datastore.close()  # its tables, under the tables lock
    return ProjectionRunner(
        application_class=LedgerReader,
        projection_class=ScoresProjection,
        view_class=VIEWS[POSTGRESQL.name],
        env=persistence_env(settings),
    )
