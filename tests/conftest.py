"""Shared fixtures: every ledger suite runs on SQLite and on PostgreSQL.

PostgreSQL tests get a fresh schema each (dropped afterwards) in the database
named by ``PMM_TEST_DATABASE_URL`` (default: the local trust-auth server's
``test`` database). Where no server answers, they skip with the reason, except
under CI (``CI`` set), where an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.application import Ledger
from ledger.home import init_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "test.pmm.example/ledger"


def pg_base_url() -> str:
    return os.environ.get("PMM_TEST_DATABASE_URL", DEFAULT_PG_URL)


def _pg_schema() -> Iterator[str]:
    base = pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(base, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL not reachable at {base}: {exc}".strip()
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: PostgreSQL tests must run)")
        pytest.skip(message)
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "home"
    if backend == "sqlite":
        yield Settings(home)
        return
    yield from (Settings(home, url) for url in _pg_schema())


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    """A new ledger with its genesis entry, on the backend under test."""
    app = init_ledger(settings, ORIGIN)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def admin_key(ledger: Ledger) -> KeyPair:
    return resolve_key(ledger.settings, "admin")
