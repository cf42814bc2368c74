"""``pmm backup``: one consistent copy of the ledger's database (docs/backup.md).

The copy is taken holding the writer lock (ledger/writer_lock.py), so it
falls between two writes: every stored event integrated, the checkpoint of
that size stored with its cosignatures, the events and the log tables of
one instant (docs/decisions.md 32). On SQLite the online backup API
(``sqlite3.Connection.backup``) copies every page in one step, inside one
read transaction, while the lock keeps writers waiting. On PostgreSQL the
lock is held only while a REPEATABLE READ transaction exports its snapshot;
``pg_dump --snapshot`` then dumps exactly that snapshot while writers go on.
The log's size and checkpoint for the manifest are read from the same
snapshot as the payload.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ledger import pg_tools
from ledger.backup_file import HOME_FILES, Manifest, sha256_file, write_backup
from ledger.errors import BackupError
from ledger.files import create_private
from ledger.home import open_ledger, read_config
from ledger.persistence import SQLITE_FILE, Settings
from ledger.writer_lock import FileLock
from verify.formats.checkpoint import note_checkpoint
from verify.formats.statement import format_timestamp
from verify.merkle.tree import tree_root

# The eventsourcing recorders' events table on each backend (PostgreSQL names
# it after the application, ledger/application.py).
EVENTS_TABLE = {"sqlite": "stored_events", "postgresql": "pmmledger_events"}
# Rows of a query with ``{p}`` (the schema prefix) and ``%s`` placeholders.
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class LogFacts:
    """What a database holds of the log: its size and latest checkpoint."""

    size: int
    checkpoint: str | None
    entries: int  # stored events, integrated or not


def sqlite_query(conn: sqlite3.Connection) -> Query:
    def query(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text = sql.replace("{p}", "").replace("%s", "?")
        return [tuple(row) for row in conn.execute(text, tuple(params)).fetchall()]

    return query


def pg_query(conn: psycopg.Connection[Any], schema: str) -> Query:
    def query(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text = sql.replace("{p}", f'"{schema}".')
        return [tuple(row) for row in conn.execute(text, tuple(params)).fetchall()]

    return query


def log_facts(query: Query, backend: str) -> LogFacts:
    top = query("SELECT MAX(log_index) FROM {p}pmm_log_leaves", ())[0][0]
    size = 0 if top is None else int(top) + 1
    rows = query("SELECT note FROM {p}pmm_log_checkpoints ORDER BY size DESC LIMIT 1", ())
    entries = int(query(f"SELECT COUNT(*) FROM {{p}}{EVENTS_TABLE[backend]}", ())[0][0])
    return LogFacts(size, str(rows[0][0]) if rows else None, entries)


def stored_root(query: Query, size: int) -> bytes:
    """The root of the first ``size`` leaves, from the stored subtree hashes."""
    wanted: dict[tuple[int, int], bytes] = {}

    def perfect(level: int, index: int) -> bytes:
        if (level, index) not in wanted:
            rows = query(
                "SELECT hash FROM {p}pmm_log_nodes WHERE level = %s AND idx = %s",
                (level, index),
            )
            if not rows:
                raise BackupError(f"the payload lacks the subtree hash {level}/{index}")
            wanted[(level, index)] = bytes(rows[0][0])
        return wanted[(level, index)]

    return tree_root(size, perfect)


def check_payload(query: Query, manifest: Manifest) -> None:
    """The restored database holds the log the manifest describes: its size,
    its latest checkpoint's root, and a tree that hashes to that root."""
    claimed = manifest.verified_checkpoint()
    facts = log_facts(query, manifest.backend)
    if facts.size != manifest.log_size or facts.checkpoint is None:
        raise BackupError(
            f"the manifest says the log has {manifest.log_size} entries; the payload "
            f"holds {facts.size}: the manifest lies or the payload is another one"
        )
    stored = note_checkpoint(facts.checkpoint)
    if (stored.size, stored.root) != (claimed.size, claimed.root):
        raise BackupError("the payload's latest checkpoint is not the manifest's")
    if stored_root(query, facts.size) != claimed.root:
        raise BackupError("the payload's subtree hashes do not hash to its checkpoint")


def make_backup(settings: Settings, out: Path) -> Manifest:
    """Write a backup of the ledger in ``settings.home`` to the new file ``out``."""
    if out.exists():
        raise BackupError(f"{out} exists; a backup never overwrites a file")
    config = read_config(settings)
    # What a crash left unintegrated goes in first, as at every opening; the
    # key that signs now signs the manifest's checkpoint (after a hand-over,
    # not HOME/keys/log.key: docs/decisions.md 33).
    ledger = open_ledger(settings)
    try:
        vkey = ledger.log_vkey()
    finally:
        ledger.close()
    home = {
        name: (settings.home / name).read_bytes()
        for name in HOME_FILES
        if (settings.home / name).is_file()
    }
    # mkdtemp makes a 0700 folder: the copy holds restricted values (decision 20).
    with tempfile.TemporaryDirectory(prefix=".pmm-backup-", dir=out.parent) as scratch:
        payload = Path(scratch) / "payload"
        schema, major = None, None
        if settings.database_url:
            facts, schema, major = _dump_postgres(settings, payload)
        else:
            facts = _copy_sqlite(settings, payload)
        if facts.checkpoint is None:
            raise BackupError("the ledger has no checkpoint yet: nothing to back up")
        manifest = Manifest(
            config.origin,
            settings.backend,
            format_timestamp(datetime.now(UTC)),
            facts.size,
            vkey,
            facts.checkpoint,
            payload.stat().st_size,
            sha256_file(payload),
            {name: _sha256(raw) for name, raw in home.items()},
            schema,
            major,
        )
        manifest.verified_checkpoint()
        write_backup(out, manifest, payload, home)
    return manifest


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _copy_sqlite(settings: Settings, payload: Path) -> LogFacts:
    database = settings.home / SQLITE_FILE
    create_private(payload)
    with FileLock(str(database)).hold():
        source = sqlite3.connect(database)
        copy = sqlite3.connect(payload)
        try:
            source.backup(copy)  # pages=-1: every page in one step
            return log_facts(sqlite_query(copy), "sqlite")
        finally:
            copy.close()
            source.close()


def _dump_postgres(settings: Settings, payload: Path) -> tuple[LogFacts, str, int]:
    target = pg_tools.Target.of(settings)
    with target.connect(autocommit=True) as conn:
        key = f"pmm-writer:{target.schema}"  # the writer lock's key (writer_lock.py)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            facts = log_facts(pg_query(conn, target.schema), "postgresql")
        finally:
            # (After a failed read the transaction is aborted; closing the
            # connection then releases the lock.)
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
        # The exported snapshot lives as long as this transaction stays open.
        major = pg_tools.dump(target, str(row[0]), payload, conn)
        conn.execute("COMMIT")
    return facts, target.schema, major
