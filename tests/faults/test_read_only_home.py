"""A read-only home (docs/decisions.md 34): the SQLite home's tmpfs
remounted read-only, which stops root too (chmod would not).

Opening the ledger there is refused as ``StorageReadOnlyError`` (and ``pmm``
exits 3 with one line, not a traceback); nothing in the home changes. Once
the home is writable again, the same files open, take the next write, and
``pmm verify`` passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.application import Recorded
from ledger.errors import StorageReadOnlyError
from ledger.home import open_ledger
from ledger.persistence import Settings
from tests.faults.kit import SmallDisk, Tally

if TYPE_CHECKING:
    from tests.conftest import World


@pytest.fixture
def disk() -> Iterator[SmallDisk]:
    try:
        small = SmallDisk("16m")
    except PermissionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI runs as root: the read-only tests must run)")
        pytest.skip(str(exc))
    try:
        yield small
    finally:
        small.remount("rw")
        small.close()


@pytest.fixture
def settings(disk: SmallDisk) -> Settings:
    return Settings(disk.path / "home")


def test_a_read_only_home_refuses_to_open_and_recovers(
    world: World, disk: SmallDisk
) -> None:
    tally = Tally("home read-only")
    settings = world.ledger.settings
    size = world.ledger.log_size()
    world.ledger.close()  # a file open for writing would keep the remount busy
    before = {p.name: p.read_bytes() for p in settings.home.iterdir() if p.is_file()}
    disk.remount("ro")
    tally.faults += 1
    tally.attempted += 1
    with pytest.raises(StorageReadOnlyError) as caught:
        open_ledger(settings)
    tally.refused += 1
    assert "read-only" in str(caught.value)
    pmm = str(Path(sys.executable).parent / "pmm")
    ran = subprocess.run(
        [pmm, "verify", "--home", str(settings.home)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert ran.returncode == 3 and "Traceback" not in ran.stderr, ran.stderr
    assert " ".join(ran.stderr.split()).startswith("error: StorageReadOnlyError:")
    after = {p.name: p.read_bytes() for p in settings.home.iterdir() if p.is_file()}
    assert after == before
    disk.remount("rw")
    ledger = open_ledger(settings)
    try:
        assert ledger.log_size() == size
        world.ledger = ledger  # the world signs at this ledger's versions
        body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
        statement = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
        assert isinstance(tally.write(lambda: ledger.record(statement)), Recorded)
        tally.recovered(ledger, statement)
    finally:
        ledger.close()
