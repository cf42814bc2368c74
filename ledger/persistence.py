"""Where the ledger keeps its entries: configuration, not code (docs/design.md §7).

The ``eventsourcing`` library's own SQLite persistence is the default (one file
in the home folder); its PostgreSQL persistence (psycopg 3) is chosen when
``PMM_DATABASE_URL`` names a ``postgresql://`` database. Stream ids are text
(``registry``, ``framework``, ``assessment/KEN/1``). Each backend's
environment, and all else that differs between the two, is its dialect's
(``ledger.dialect``, docs/decisions.md decision 41).

``EntryMapper`` stores each event's log entry bytes verbatim as the stored
event's state, and rebuilds the event from those bytes: what the database holds
is exactly what is hashed into the log (docs/design.md §3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import resolve_topic

from ledger.domain.events import LedgerEvent
from verify.errors import VerifyError
from verify.formats.entry import parse_entry
from verify.formats.statement import parse_timestamp

DATABASE_URL_VAR = "PMM_DATABASE_URL"
HOME_VAR = "PMM_HOME"
DEFAULT_HOME = "pmm-home"
SQLITE_FILE = "ledger.sqlite"


@dataclass(frozen=True)
class Settings:
    """Where the home folder is and which database holds the entries."""

    home: Path
    database_url: str | None = None
    # Seconds a SQLite writer waits for another process's lock (the database
    # file's, or the writer lock's) before the write is refused as busy.
    sqlite_lock_timeout: int = 30

    @classmethod
    def from_env(cls, home: str | Path | None = None) -> Settings:
        chosen = home or os.environ.get(HOME_VAR) or DEFAULT_HOME
        return cls(Path(chosen), os.environ.get(DATABASE_URL_VAR) or None)

    @property
    def backend(self) -> str:
        """The one place the backend is chosen (``ledger.dialect.dialect_of``)."""
        return "postgresql" if self.database_url else "sqlite"


class EntryMapper(Mapper[str]):
    """Stores an event as its entry bytes; the topic is the statement type."""

    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, LedgerEvent)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=domain_event.TOPIC,
            state=domain_event.entry,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        where = (
            f"stored event {stored_event.originator_id!r} version "
            f"{stored_event.originator_version}"
        )
        try:
            cls = resolve_topic(stored_event.topic)
            if stored_event.originator_version == 1:
                # A type that may start or extend its stream (the access log's
                # seals) names its creating event class (ledger/domain/seals.py).
                cls = getattr(cls, "FIRST", cls)
            entry = parse_entry(bytes(stored_event.state))
        except (VerifyError, Exception) as exc:
            raise MapperDeserialisationError(f"{where} is unreadable: {exc}") from exc
        if (entry.stream, entry.stream_version, entry.entry_type) != (
            str(stored_event.originator_id),
            stored_event.originator_version,
            stored_event.topic,
        ):
            raise MapperDeserialisationError(
                f"{where} holds the entry of {entry.stream!r} version "
                f"{entry.stream_version} ({entry.entry_type}): the row was altered"
            )
        return cls(
            originator_id=entry.stream,
            originator_version=entry.stream_version,
            timestamp=parse_timestamp(entry.recorded_at),
            statement=entry.signed.statement,
            signature=entry.signed.signature,
            entry=entry.raw,
        )
