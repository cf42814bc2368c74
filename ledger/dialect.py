"""What differs between SQLite and PostgreSQL: one frozen object each
(docs/design.md §6, §7; docs/decisions.md decision 41).

As the ``eventsourcing`` library has a recorder class per backend, the ledger
has a ``Dialect`` per backend, ``SQLITE`` and ``POSTGRESQL``, chosen once from
the settings (``dialect_of``, by ``Settings.backend``). Every module that
writes SQL, opens the database or takes a lock asks it: the log's tables
(``ledger.log_store``), the locks (``ledger.writer_lock``), the opening of the
ledger (``ledger.application``), the access log's guard (``ledger.access_log``)
and the scores view (``projections.live``); none of them branches on the
backend itself. The SQL is written once with ``%s`` placeholders and a ``{p}``
schema prefix; the dialect turns it into its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from ledger.errors import ConfigurationError
from ledger.files import create_private
from ledger.persistence import DATABASE_URL_VAR, SQLITE_FILE, Settings
from ledger.writer_lock import AdvisoryLock, FileLock, WriterLock

# Shared by both backends' ``eventsourcing`` environments.
COMMON_ENV = {"ORIGINATOR_ID_TYPE": "text", "AGGREGATE_CACHE_MAXSIZE": "1000"}


class Statements(Protocol):
    """What a dialect runs its own SQL on (``ledger.log_store.Cursor``)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Statements: ...

    def one(self) -> tuple[Any, ...] | None: ...


@dataclass(frozen=True)
class Dialect:
    """The SQL words and behaviours of one backend; the subclasses add what
    differs in code rather than in words."""

    name: str  # Settings.backend, and the backup manifest's backend
    placeholder: str  # the driver's parameter marker, for our ``%s``
    rowid: str  # the events table's column in commit order
    blob: str  # a column of bytes
    log_index: str  # pmm_log_leaves.log_index, the table's primary key
    keyed: str  # after a table stored by its primary key alone
    events_table: str  # the ledger's events table (PMMLedger's, by eventsourcing)

    def sql(self, text: str) -> str:
        """``text`` with the driver's placeholders for ``%s``."""
        return text if self.placeholder == "%s" else text.replace("%s", self.placeholder)

    def prefix(self, datastore: Any) -> str:
        """What goes before a table's name: its schema, or nothing."""
        raise NotImplementedError

    def env(self, settings: Settings) -> dict[str, str]:
        """The ``eventsourcing`` environment for ``settings``."""
        raise NotImplementedError

    def folder(self, settings: Settings) -> Path | None:
        """The folder that holds the database file, if it is a file."""
        raise NotImplementedError

    def before_open(self, env: dict[str, str]) -> None:
        """What must be done before the ledger's recorder first opens."""
        raise NotImplementedError

    def create_tables(self, recorder: Any) -> None:
        """Make the recorder's tables, under the tables lock, if the recorder
        did not make them on opening."""
        raise NotImplementedError

    def read(self, datastore: Any) -> AbstractContextManager[Any]:
        """A raw cursor for one read, without BEGIN and ROLLBACK around it (each
        read is its own consistent snapshot)."""
        raise NotImplementedError

    def lock(self, datastore: Any, settings: Settings, name: str) -> WriterLock:
        """The cross-process lock ``name`` (docs/decisions.md 7 and 31)."""
        raise NotImplementedError

    def tables_lock(self, datastore: Any) -> WriterLock:
        """The lock under which tables are made, one opening at a time."""
        raise NotImplementedError

    def table_exists(self, cur: Statements, prefix: str, table: str) -> bool:
        raise NotImplementedError

    def snapshot(self, cur: Statements) -> None:
        """Make the transaction of ``cur`` read one snapshot throughout."""
        raise NotImplementedError

    def append_only(self, cur: Statements, prefix: str, table: str, key: str) -> None:
        """Refuse every change to ``table``'s rows but an insert of a new
        ``key`` (docs/decisions.md 13), if not refused already."""
        raise NotImplementedError


@dataclass(frozen=True)
class SQLite(Dialect):
    def prefix(self, datastore: Any) -> str:
        return ""

    def env(self, settings: Settings) -> dict[str, str]:
        return {
            **COMMON_ENV,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.home / SQLITE_FILE),
            "SQLITE_LOCK_TIMEOUT": str(settings.sqlite_lock_timeout),
        }

    def folder(self, settings: Settings) -> Path | None:
        return settings.home

    def before_open(self, env: dict[str, str]) -> None:
        # SQLite gives its WAL and SHM files the database file's mode, so the
        # file is made 0600 before SQLite first opens it (decision 20).
        create_private(Path(env["SQLITE_DBNAME"]))

    def create_tables(self, recorder: Any) -> None:
        pass  # made on opening: SQLite's writes (DDL too) are one at a time

    @contextmanager
    def read(self, datastore: Any) -> Iterator[Any]:
        # A statement on an autocommit connection.
        with datastore.get_connection(commit=False) as conn, conn.cursor() as raw:
            yield raw

    def lock(self, datastore: Any, settings: Settings, name: str) -> WriterLock:
        # A SQLite writer stuck while holding the lock (stopped, hung) must not
        # stall every other writer for ever: they wait as long as SQLite waits
        # for its own lock, then are refused as busy (decision 34).
        pool = getattr(datastore, "pool", None)
        timeout = float(getattr(pool, "lock_timeout", None) or 30)
        return FileLock(str(settings.home / SQLITE_FILE), name, timeout)

    def tables_lock(self, datastore: Any) -> WriterLock:
        return FileLock(None)  # none: SQLite's writes, DDL too, are one at a time

    def table_exists(self, cur: Statements, prefix: str, table: str) -> bool:
        found = cur.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (table,)
        ).one()
        return found is not None

    def snapshot(self, cur: Statements) -> None:
        pass  # a SQLite transaction reads one snapshot already

    def append_only(self, cur: Statements, prefix: str, table: str, key: str) -> None:
        refuse = f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("UPDATE", "DELETE"):
            cur.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} "
                f"ON {table} {refuse}"
            )
        # REPLACE deletes the old row without firing the DELETE trigger.
        cur.execute(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON "
            f"{table} WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
            f"{refuse}"
        )


@dataclass(frozen=True)
class PostgreSQL(Dialect):
    def prefix(self, datastore: Any) -> str:
        return f'"{datastore.schema}".'

    def env(self, settings: Settings) -> dict[str, str]:
        url = urlsplit(settings.database_url or "")
        if url.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ConfigurationError(
                f"{DATABASE_URL_VAR} must be a postgresql:// URL, not {url.scheme!r}://"
            )
        dbname = url.path.lstrip("/")
        if not dbname:
            raise ConfigurationError(f"{DATABASE_URL_VAR} names no database: add /DBNAME")
        env = {
            **COMMON_ENV,
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

    def folder(self, settings: Settings) -> Path | None:
        return None  # a server's

    def before_open(self, env: dict[str, str]) -> None:
        # PostgreSQL refuses CREATE OR REPLACE FUNCTION (the recorder's, the
        # access log's) in two sessions at once ("tuple concurrently updated"):
        # the tables are made after opening, one opening at a time.
        env["CREATE_TABLE"] = "false"

    def create_tables(self, recorder: Any) -> None:
        recorder.create_table()

    @contextmanager
    def read(self, datastore: Any) -> Iterator[Any]:
        # An autocommit statement.
        with datastore.get_connection() as conn:
            yield conn.cursor()

    def lock(self, datastore: Any, settings: Settings, name: str) -> WriterLock:
        return AdvisoryLock(datastore, name)

    def tables_lock(self, datastore: Any) -> WriterLock:
        return AdvisoryLock(datastore, "tables")

    def table_exists(self, cur: Statements, prefix: str, table: str) -> bool:
        found = cur.execute("SELECT to_regclass(%s)", (f"{prefix}{table}",)).one()
        return found is not None and found[0] is not None

    def snapshot(self, cur: Statements) -> None:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def append_only(self, cur: Statements, prefix: str, table: str, key: str) -> None:
        name = f"{prefix}{table}"
        found = cur.execute(
            "SELECT COUNT(*) FROM pg_trigger WHERE tgname IN (%s, %s) "
            "AND tgrelid = %s::regclass",
            (f"{table}_append_only", f"{table}_no_truncate", name),
        ).one()
        if found == (2,):
            return
        refuse = f"{prefix}{table}_append_only"
        cur.execute(
            f"CREATE OR REPLACE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$;\n"
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
            f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION {refuse}();\n"
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
            f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION {refuse}();"
        )


SQLITE = SQLite(
    "sqlite", "?", "rowid", "BLOB", "INTEGER", " WITHOUT ROWID", "stored_events"
)
POSTGRESQL = PostgreSQL(
    "postgresql", "%s", "notification_id", "BYTEA", "BIGINT", "", "pmmledger_events"
)
DIALECTS = {dialect.name: dialect for dialect in (SQLITE, POSTGRESQL)}


def dialect_of(settings: Settings) -> Dialect:
    """The backend ``settings`` choose (PostgreSQL when ``PMM_DATABASE_URL`` is set)."""
    return DIALECTS[settings.backend]


def persistence_env(settings: Settings) -> dict[str, str]:
    """The ``eventsourcing`` environment for these settings."""
    return dialect_of(settings).env(settings)
