"""A SQLite database locked by another process (docs/decisions.md 34).

Another process holds the database file's write lock (``BEGIN IMMEDIATE``),
or the writer lock beside it (a writer stopped or hung while writing): a
write waits for it up to ``Settings.sqlite_lock_timeout``, then is refused as
``StorageBusyError`` with nothing recorded, where it used to wait for ever on
the writer lock. A lock released in time costs a wait, never the write; once
released, the same ledger writes again and ``pmm verify`` passes.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.application import Ledger, Recorded
from ledger.dialect import persistence_env
from ledger.errors import StorageBusyError
from ledger.home import open_ledger
from ledger.persistence import SQLITE_FILE, Settings
from tests.faults.kit import Tally

if TYPE_CHECKING:
    from tests.conftest import World

# A process that takes a lock, says so, and holds it until its stdin closes.
HOLD_DATABASE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.read()
"""
HOLD_WRITER_LOCK = """
import fcntl, os, sys
handle = os.open(sys.argv[1], os.O_WRONLY)
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""
LOCKS = {"database": (HOLD_DATABASE, ""), "writer lock": (HOLD_WRITER_LOCK, ".writer-lock")}


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the file locks are SQLite's (PostgreSQL: test_database_down.py)


@contextmanager
def held(ledger: Ledger, lock: str) -> Iterator[subprocess.Popen[str]]:
    script, suffix = LOCKS[lock]
    path = ledger.settings.home / f"{SQLITE_FILE}{suffix}"
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    try:
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def impatient(world: World) -> Ledger:
    """The world's ledger opened again, waiting one second for a lock."""
    return open_ledger(dataclasses.replace(world.ledger.settings, sqlite_lock_timeout=1))


@pytest.mark.parametrize("lock", list(LOCKS))
def test_a_lock_held_past_the_timeout_refuses_the_write_and_records_nothing(
    world: World, lock: str
) -> None:
    tally = Tally(f"sqlite {lock} held")
    ledger = impatient(world)
    body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
    statement = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    size = ledger.log_size()
    try:
        with held(ledger, lock):
            tally.faults += 1
            refused = tally.write(lambda: ledger.record(statement))
            assert ledger.log_size() == size  # reads go on while it is held
        assert isinstance(refused, StorageBusyError), refused
        assert "nothing was recorded" in str(refused)
        assert ledger.log_size() == size
        assert isinstance(tally.write(lambda: ledger.record(statement)), Recorded)
        tally.recovered(ledger, statement)
    finally:
        ledger.close()


def test_a_lock_released_in_time_costs_a_wait_not_the_write(world: World) -> None:
    tally = Tally("sqlite database held")
    body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
    statement = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    with held(world.ledger, "database") as holder:
        tally.faults += 1
        assert holder.stdin is not None
        # Released while the write waits for it (it may wait 30 s).
        threading.Timer(0.5, holder.stdin.close).start()
        recorded = tally.write(lambda: world.ledger.record(statement))
    assert isinstance(recorded, Recorded)
    tally.recovered(world.ledger, statement)


def test_the_lock_timeout_reaches_sqlite(tmp_path: Path) -> None:
    env = persistence_env(Settings(tmp_path, None, 7))
    assert env["SQLITE_LOCK_TIMEOUT"] == "7"
