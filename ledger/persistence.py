"""Where the ledger keeps its entries: configuration, not code (docs/design.md §7).

The ``eventsourcing`` library's own SQLite persistence is the default (one file
in the home folder); its PostgreSQL persistence (psycopg 3) is chosen when
``PMM_DATABASE_URL`` names a ``postgresql://`` database. Stream ids are text
(``registry``, ``framework``, ``assessment/KEN/1``).

``EntryMapper`` stores each event's log entry bytes verbatim as the stored
event's state, and rebuilds the event from those bytes: what the database holds
is exactly what is hashed into the log (docs/design.md §3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import resolve_topic

from ledger.domain.events import LedgerEvent
from ledger.errors import ConfigurationError
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
        return "postgresql" if self.database_url else "sqlite"


def persistence_env(settings: Settings) -> dict[str, str]:
    """The ``eventsourcing`` environment for these settings."""
    common = {"ORIGINATOR_ID_TYPE": "text", "AGGREGATE_CACHE_MAXSIZE": "1000"}
    if not settings.database_url:
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.home / SQLITE_FILE),
            "SQLITE_LOCK_TIMEOUT": str(settings.sqlite_lock_timeout),
        }
    url = urlsplit(settings.database_url)
    if url.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ConfigurationError(
            f"{DATABASE_URL_VAR} must be a postgresql:// URL, not {url.scheme!r}://"
        )
    dbname = url.path.lstrip("/")
    if not dbname:
        raise ConfigurationError(f"{DATABASE_URL_VAR} names no database: add /DBNAME")
    env = {
        **common,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # A pooled connection is checked before each use: after the server
        # restarts, every idle one is dead, and without the check each would
        # fail one read or write before the pool replaced it (decision 34).
        "POSTGRES_PRE_PING": "y",
    }
    schema = parse_qs(url.query).get("schema")
    if schema:
        env["POSTGRES_SCHEMA"] = schema[0]
    return env


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
