"""``pmm restore``: put a backup's ledger back in place (docs/backup.md).

Everything that can be checked before the ledger is touched is: the archive
(hashes, sizes, the manifest's log-signed checkpoint), the origin against the
home's, the home's log key against the manifest's, the backend; then the
payload itself (SQLite: in a scratch file; PostgreSQL: restored in one
transaction, then checked, and undone if it fails). A ledger that is not empty
is replaced only with ``force``, and then kept aside, never deleted: a rolled
back ledger's newer entries are the evidence of the rollback.

What restore never touches: the verifier's state file (``HOME/verifier-state.json``)
and any witness's state; they remember the newer checkpoints, which is how a
restore of an older backup is detected (docs/decisions.md 32).
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ledger import pg_tools
from ledger.backup import EVENTS_TABLE, check_payload, pg_query, sqlite_query
from ledger.backup_file import Backup, Manifest, read_backup
from ledger.errors import BackupError, ConfigurationError
from ledger.files import private_folder, write_private
from ledger.home import (
    CONFIG_FILE,
    KEYS_DIR,
    LEDGER_PRINCIPAL,
    key_path,
    private_home,
    read_config,
)
from ledger.keys import KeyPair
from ledger.log_keys import load_log_keys, vkey_of
from ledger.persistence import SQLITE_FILE, Settings
from ledger.writer_lock import FileLock

MAX_KEY_FILE = 65_536


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    replaced: str | None  # where the ledger that was there is kept, if any
    home_written: tuple[str, ...]  # home files written from the backup
    keys_copied: tuple[str, ...]


def restore_backup(
    settings: Settings, file: Path, *, force: bool = False, keys: Path | None = None
) -> Restored:
    private_home(settings)
    with tempfile.TemporaryDirectory(prefix=".pmm-restore-", dir=settings.home) as scratch:
        backup = read_backup(file, Path(scratch) / "payload")
        manifest = backup.manifest
        if (settings.home / CONFIG_FILE).exists():
            origin = read_config(settings).origin
            if origin != manifest.origin:
                raise BackupError(
                    f"{file} is a backup of the ledger {manifest.origin}, not of "
                    f"{origin} in {settings.home}: restore it into its own home"
                )
        if manifest.backend != settings.backend:
            raise BackupError(
                f"{file} is a backup of a {manifest.backend} ledger; this home uses "
                f"{settings.backend} (set or unset PMM_DATABASE_URL to match)"
            )
        copied = _copy_keys(settings, keys) if keys is not None else ()
        _check_keys(settings, manifest)
        if settings.database_url:
            replaced = _restore_postgres(settings, backup, force)
        else:
            replaced = _restore_sqlite(settings, backup, force)
        written = []
        for name, raw in sorted(backup.home.items()):
            if not (settings.home / name).exists():
                write_private(settings.home / name, raw)
                written.append(name)
    return Restored(manifest, replaced, tuple(written), copied)


def _copy_keys(settings: Settings, folder: Path) -> tuple[str, ...]:
    """Copy ``folder``'s key files into HOME/keys (0600); never over another key."""
    if not folder.is_dir():
        raise BackupError(f"--keys {folder} is not a folder")
    private_folder(settings.home / KEYS_DIR)
    copied = []
    for path in sorted(folder.glob("*.key")):
        if not path.is_file() or path.stat().st_size > MAX_KEY_FILE:
            raise BackupError(f"{path} is not a key file")
        raw, into = path.read_bytes(), settings.home / KEYS_DIR / path.name
        if into.exists():
            if into.read_bytes() != raw:
                raise BackupError(f"{into} exists and holds another key than {path}")
            continue
        write_private(into, raw)
        copied.append(path.name)
    return tuple(copied)


def _check_keys(settings: Settings, manifest: Manifest) -> None:
    try:
        first, later = load_log_keys(settings.home / KEYS_DIR)
        KeyPair.load(key_path(settings, LEDGER_PRINCIPAL))
    except ConfigurationError as exc:
        raise BackupError(
            f"{exc}. Keys are never in a backup (docs/backup.md): put the ledger's "
            f"keys folder in {settings.home / KEYS_DIR} or pass --keys FOLDER"
        ) from None
    # The backup's checkpoint is signed by the key that signed then: log.key,
    # or after a hand-over a log-N.key (docs/decisions.md 33).
    held = {vkey_of(manifest.origin, key) for key in [*later, *([first] if first else [])]}
    if not held:
        raise BackupError(
            f"{settings.home / KEYS_DIR} holds no log key. Keys are never in a backup "
            "(docs/backup.md): put the ledger's keys folder there or pass --keys FOLDER"
        )
    if manifest.log_vkey not in held:
        raise BackupError(
            f"no log key in {settings.home / KEYS_DIR} is the key of the backup's log "
            f"({manifest.log_vkey}): these are another ledger's keys"
        )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _not_empty(what: str, entries: int, force: bool) -> None:
    if entries and not force:
        raise BackupError(
            f"{what} already holds {entries} stored entries; restore into an empty "
            "ledger, or pass --force to replace it (it is kept aside, not deleted)"
        )


def _restore_sqlite(settings: Settings, backup: Backup, force: bool) -> str | None:
    staged = backup.payload
    conn = sqlite3.connect(staged)
    try:
        if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupError("the payload is not a sound SQLite database")
        check_payload(sqlite_query(conn), backup.manifest)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the payload is not a ledger's SQLite database: {exc}") from None
    finally:
        conn.close()
    database = settings.home / SQLITE_FILE
    # Writers wait while the database is swapped (ledger/writer_lock.py).
    with FileLock(str(database)).hold():
        replaced = None
        if database.exists():
            entries = _sqlite_entries(database)
            _not_empty(str(database), entries, force)
            side = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
            if any(p.exists() for p in side):
                raise BackupError(
                    f"{database} is open in another process (its -wal or -shm file "
                    "stays after a checkpoint): stop pmm serve and every writer first"
                )
            if entries:
                aside = database.with_name(f"{SQLITE_FILE}.replaced-{_stamp()}")
                database.replace(aside)
                replaced = str(aside)
            else:
                database.unlink()
        staged.replace(database)
    return replaced


def _sqlite_entries(database: Path) -> int:
    """Stored events in ``database``, after folding its WAL into the file."""
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = ?", (EVENTS_TABLE["sqlite"],)
        ).fetchone()
        if tables == (0,):
            return 0
        row = conn.execute(f"SELECT COUNT(*) FROM {EVENTS_TABLE['sqlite']}").fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


def _restore_postgres(settings: Settings, backup: Backup, force: bool) -> str | None:
    manifest, target = backup.manifest, pg_tools.Target.of(settings)
    if manifest.schema != target.schema:
        raise BackupError(
            f"this backup recreates the schema {manifest.schema!r}, and pg_restore "
            f"cannot rename it: set ?schema={manifest.schema} in PMM_DATABASE_URL"
        )
    schema = target.schema
    pg_tools.check_archive(backup.payload, schema)
    with target.connect(autocommit=True) as conn:
        key = f"pmm-writer:{schema}"  # the writer lock's key (writer_lock.py)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        try:
            tables, entries = _pg_contents(conn, schema)
            _not_empty(f"the schema {schema!r}", entries, force)
            aside = f"{schema}_replaced_{_stamp()}"[-63:] if tables else None
            if aside is not None:
                conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{aside}"')
            elif tables is not None:
                conn.execute(f'DROP SCHEMA "{schema}"')  # it holds nothing
            try:
                _load_postgres(target, backup, conn)
            except BaseException:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                if aside is not None:
                    conn.execute(f'ALTER SCHEMA "{aside}" RENAME TO "{schema}"')
                elif tables is not None:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                raise
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
    return None if aside is None else f"PostgreSQL schema {aside}"


def _load_postgres(
    target: pg_tools.Target, backup: Backup, conn: psycopg.Connection[Any]
) -> None:
    """pg_restore the payload (one transaction), then check what it restored."""
    manifest = backup.manifest
    pg_tools.restore(target, backup.payload, manifest.pg_dump_major or 0, conn)
    try:
        check_payload(pg_query(conn, target.schema), manifest)
    except psycopg.Error as exc:
        raise BackupError(f"the payload is not a ledger's schema: {exc}") from None


def _pg_contents(conn: psycopg.Connection[Any], schema: str) -> tuple[int | None, int]:
    """(tables in ``schema``, or None if there is no such schema; stored events)."""
    found = conn.execute(
        "SELECT COUNT(*) FROM pg_namespace WHERE nspname = %s", (schema,)
    ).fetchone()
    if found == (0,):
        return None, 0
    row = conn.execute(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = %s", (schema,)
    ).fetchone()
    tables = int(row[0]) if row else 0
    has_events = conn.execute(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = %s AND tablename = %s",
        (schema, EVENTS_TABLE["postgresql"]),
    ).fetchone()
    if has_events == (0,):
        return tables, 0
    events = EVENTS_TABLE["postgresql"]
    count = conn.execute(f'SELECT COUNT(*) FROM "{schema}".{events}').fetchone()
    return tables, int(count[0]) if count else 0
