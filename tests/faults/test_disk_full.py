"""The disk that holds the SQLite home fills up (docs/decisions.md
34): the home is on a small tmpfs, and a file fills it.

Writes go on while SQLite finds room in pages it already has; the first that
needs more is refused as ``StorageFullError``, with no partial entry (log size
and stream versions as they were, or, if the events were saved and only the
integration failed, the message says so and the next write integrates them).
Every acknowledged write survives; once space is freed the refused statement
is recorded, the next write works and ``pmm verify`` passes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

import pytest

from ledger.application import Recorded
from ledger.errors import DuplicateStatementError, StorageError, StorageFullError
from ledger.keys import KeyPair
from ledger.persistence import Settings
from tests.faults.kit import SmallDisk, Tally
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World

ATTEMPTS = 300  # writes tried on the full disk before one must be refused


def registration(world: World, n: int) -> SignedStatement:
    key = KeyPair.generate(f"reviewer-{n}")
    body = {
        "member": None,
        "name": f"Peer reviewer {n}",
        "principal": key.principal,
        "public_key": key.public_key,
        "role": "peer_reviewer",
    }
    return world.sign(world.admin, "registry", "principal.registered", body)


@pytest.fixture
def disk() -> Iterator[SmallDisk]:
    try:
        small = SmallDisk("8m")
    except PermissionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI runs as root: the disk-full tests must run)")
        pytest.skip(str(exc))
    try:
        yield small
    finally:
        small.close()


@pytest.fixture
def settings(disk: SmallDisk) -> Settings:
    """The suites' ``settings``: a SQLite home on the small disk."""
    return Settings(disk.path / "home")


def test_a_full_disk_refuses_the_write_and_loses_nothing(
    world: World, disk: SmallDisk
) -> None:
    tally = Tally("disk full")
    ledger = world.ledger
    filler = disk.fill()
    tally.faults += 1
    outcome: Recorded | StorageError | None = None
    for n in range(ATTEMPTS):  # a new principal each time: always admissible
        statement = registration(world, n)
        size, version = ledger.log_size(), ledger.stream_version("registry")
        outcome = tally.write(partial(ledger.record, statement))
        if not isinstance(outcome, Recorded):
            break
    assert isinstance(outcome, StorageFullError), f"{ATTEMPTS} writes fitted: {outcome}"
    saved = "the statement was recorded, but" in str(outcome)
    if not saved:
        assert "nothing was recorded" in str(outcome)
        assert (ledger.log_size(), ledger.stream_version("registry")) == (size, version)
    filler.unlink()
    try:
        tally.write(lambda: ledger.record(statement))
        assert not saved
    except DuplicateStatementError:
        assert saved  # recorded before the disk filled; now in the log too
    tally.recovered(ledger, statement)
