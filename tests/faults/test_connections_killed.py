"""Our connections to the shared PostgreSQL server ended under the ledger
(docs/decisions.md 34), with ``pg_terminate_backend``, as a restart
or a failover would end them; the server itself is never stopped.

Only this test's connections are ended: libpq names them by ``PGAPPNAME``, a
name made for the test, and the admin connection selects them by it. Ended
while idle in the pool, the pool replaces them (it checks each connection
before use), though its first request may time out while it does: a clear
``StorageUnavailableError``, nothing recorded; ended while a write waits
for a table lock, the write is recorded exactly once, or refused with a
message saying it may have been.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING

import psycopg
import pytest

from ledger.application import Recorded
from ledger.errors import DuplicateStatementError, StorageError
from tests.conftest import pg_base_url
from tests.faults.kit import Tally, answering, wait_for

if TYPE_CHECKING:
    from tests.conftest import World

NAME = f"pmm-faults-{uuid.uuid4().hex[:12]}"
TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
)


@pytest.fixture(autouse=True)
def named_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGAPPNAME", NAME)  # before the ledger's pool connects


@pytest.fixture
def backend() -> str:
    return "postgresql"


def admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(pg_base_url(), application_name=f"{NAME}-admin")


def test_connections_ended_in_the_pool_are_replaced(world: World) -> None:
    tally = Tally("connections terminated")
    body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
    statement = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    with admin() as conn:
        ended = conn.execute(TERMINATE, (NAME,)).fetchall()
    assert ended, "the ledger had no connection to end"
    tally.faults += 1
    written = tally.write(lambda: world.ledger.record(statement))
    if not isinstance(written, Recorded):
        # psycopg_pool 3.3 may time the first request out while it replaces
        # every connection the check found dead; the next one is served.
        assert "nothing was recorded" in str(written), written
        wait_for(lambda: answering(world.ledger), "the ledger to answer", 60)
        assert isinstance(tally.write(lambda: world.ledger.record(statement)), Recorded)
    tally.recovered(world.ledger, statement)


def test_connections_ended_mid_write_record_it_at_most_once(world: World) -> None:
    tally = Tally("connections terminated")
    ledger, store = world.ledger, world.ledger.sequencer.store
    body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
    statement = world.sign(world.ncp_ken, world.KEN, "value.submitted", body)
    outcome: list[Recorded | StorageError] = []
    holder = admin()
    holder.execute(f"LOCK TABLE {store.events_table} IN EXCLUSIVE MODE")
    writer = threading.Thread(
        target=lambda: outcome.append(tally.write(lambda: ledger.record(statement)))
    )
    writer.start()
    with admin() as watch:
        watch.autocommit = True
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = 'Lock'"
        )
        wait_for(
            lambda: watch.execute(waiting, (NAME,)).fetchone() == (1,),
            "the write to wait on the lock",
        )
        watch.execute(TERMINATE, (NAME,))
    tally.faults += 1
    holder.close()  # the lock goes with the admin's transaction
    writer.join(timeout=120)
    assert not writer.is_alive() and len(outcome) == 1
    (result,) = outcome
    assert isinstance(result, Recorded) or "may or may not" in str(result), result
    wait_for(lambda: answering(ledger), "the ledger to answer", 60)
    try:
        ledger.record(statement)
        assert not isinstance(result, Recorded)
    except DuplicateStatementError:
        pass  # recorded by the write in flight (acknowledged or not)
    tally.recovered(ledger, statement)
