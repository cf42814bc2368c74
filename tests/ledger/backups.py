"""What the backup suites share: writes, a verifier run, losing the database,
and cleaning up what a forced PostgreSQL restore kept aside."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from ledger import pg_tools
from ledger.application import Ledger, Recorded
from ledger.backup import LogFacts, log_facts, pg_query, sqlite_query
from ledger.export import export
from ledger.home import open_ledger
from ledger.keys import KeyPair
from ledger.persistence import SQLITE_FILE, Settings
from verify.check.verifier import VerifyResult, verify_export

if TYPE_CHECKING:
    from tests.conftest import Registration


def register(ledger: Ledger, registration: Registration, name: str) -> Recorded:
    key = KeyPair.generate(name)
    body = {
        "member": None,
        "name": name,
        "principal": name,
        "public_key": key.public_key,
        "role": "peer_reviewer",
    }
    return ledger.record(registration(ledger, body))


def verified(settings: Settings, scratch: Path, state: Path | None = None) -> VerifyResult:
    """Export the ledger of ``settings`` as it is and run the offline verifier."""
    ledger = open_ledger(settings, integrate=False)
    folder = scratch / f"export-{uuid.uuid4().hex[:8]}"
    try:
        export(ledger, folder)
    finally:
        ledger.close()
    return verify_export(folder, folder / "trust.json", state)


def lose_database(settings: Settings) -> None:
    """The disaster: the database is gone (the SQLite file with its home, or the
    PostgreSQL schema)."""
    if settings.database_url is None:
        shutil.rmtree(settings.home)
        return
    base, _, schema = settings.database_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def drop_replaced(settings: Settings) -> None:
    """Drop the schemas a forced PostgreSQL restore kept aside."""
    if settings.database_url is None:
        return
    base, _, schema = settings.database_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{schema}_rep%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def log_size_of(settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        return ledger.log_size()
    finally:
        ledger.close()


def stored_facts(settings: Settings) -> LogFacts:
    """The log's size and the stored events, read straight from the database."""
    if settings.database_url is None:
        conn = sqlite3.connect(settings.home / SQLITE_FILE)
        try:
            return log_facts(sqlite_query(conn), "sqlite")
        finally:
            conn.close()
    target = pg_tools.Target.of(settings)
    with target.connect() as pg:
        return log_facts(pg_query(pg, target.schema), "postgresql")
