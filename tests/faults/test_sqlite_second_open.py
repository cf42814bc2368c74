"""Regression: opening the ledger again in a process that has it open kept the
first connections' SQLite locks (docs/decisions.md 34).

``Ledger`` made sure the database file exists by opening and closing it, and
closing any descriptor of a file drops every POSIX lock the process holds on
it. Another process closing the database then took it for unused, checkpointed
it and deleted its write-ahead log under the first ledger, whose next reads
failed with "disk I/O error" and whose writes went to a deleted file.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from ledger.application import Recorded
from ledger.home import open_ledger
from ledger.persistence import SQLITE_FILE
from tests.faults.kit import Tally

if TYPE_CHECKING:
    from tests.conftest import World

# Another process reads the database and closes it, as `pmm verify` would.
READER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
db.close()
"""


@pytest.fixture
def backend() -> str:
    return "sqlite"


def count_in_another_process(world: World) -> int:
    path = world.ledger.settings.home / SQLITE_FILE
    command = [sys.executable, "-c", READER, str(path)]
    read = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(read.stdout)


def test_a_second_open_in_one_process_keeps_the_first_ones_locks(world: World) -> None:
    tally = Tally("sqlite opened twice in one process")
    second = open_ledger(world.ledger.settings)
    try:
        tally.faults += 1
        before = count_in_another_process(world)
        body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
        statement = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
        assert isinstance(tally.write(lambda: world.ledger.record(statement)), Recorded)
        assert count_in_another_process(world) == before + 1
        tally.recovered(world.ledger, statement)
    finally:
        second.close()
