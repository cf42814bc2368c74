"""The database server down, and restarted in the middle of a write (docs/decisions.md
34), on a private PostgreSQL server the tests stop for real.

A write while the server is down is refused with ``StorageUnavailableError``
and records nothing; a write the server is killed under (``pg_ctl stop -m
immediate``, every backend ended at once) while it waits before, during or
after saving its events either succeeds exactly once or says which of those it
was. After the restart the very same ``Ledger`` writes again, with no repair:
the log is gapless and ``pmm verify`` passes. The shared server on 5432 is
never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from ledger.application import Recorded
from ledger.errors import DuplicateStatementError, StorageError, StorageUnavailableError
from ledger.persistence import Settings
from tests.faults.kit import PG_BIN, PrivateServer, Tally, answering, wait_for
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World


@pytest.fixture(scope="module")
def server() -> Iterator[PrivateServer]:
    if not PG_BIN:
        message = "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    private = PrivateServer()
    private.start()
    try:
        yield private
    finally:
        private.close()


@pytest.fixture
def settings(server: PrivateServer, tmp_path: Path) -> Settings:
    """The suites' ``settings``, on the private server (a fresh schema)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return Settings(tmp_path / "home", f"{server.url}?schema={schema}")


def hours(world: World, amount: str, stream: str | None = None) -> SignedStatement:
    """A value.submitted of Kenya's hours KPI (or another stream's), signed."""
    body = world.value_body(world.KPI_HOURS, {"amount": amount}, "hours")
    return world.sign(world.ncp_ken, stream or world.KEN, "value.submitted", body)


def test_a_write_while_the_server_is_down_is_refused_and_nothing_recorded(
    world: World, server: PrivateServer
) -> None:
    tally = Tally("database down")
    statement = hours(world, "12")
    size = world.ledger.log_size()
    server.stop()
    tally.faults += 1
    try:
        refused = tally.write(lambda: world.ledger.record(statement))
    finally:
        server.start()
    assert isinstance(refused, StorageUnavailableError), refused
    assert "nothing was recorded" in str(refused)
    assert refused.cause  # the driver's words, for the operator
    wait_for(lambda: answering(world.ledger), "the ledger to reconnect", 60)
    assert world.ledger.log_size() == size
    # The same Ledger, no repair: the refused statement, then the next write.
    assert isinstance(tally.write(lambda: world.ledger.record(statement)), Recorded)
    later = world.sign(world.ncp_bra, world.BRA, "value.submitted", bra_hours(world))
    assert isinstance(tally.write(lambda: world.ledger.record(later)), Recorded)
    tally.recovered(world.ledger, statement, later)


def bra_hours(world: World) -> dict[str, object]:
    return world.value_body(world.KPI_HOURS, {"amount": "30"}, "hours")


# Where a write is held while the server is killed under it: a lock the admin
# connection takes first, on the table the write needs at that point.
HOLDS = {
    # Reading the log's tail (the first read under the writer lock).
    "before": "LOCK TABLE {events} IN ACCESS EXCLUSIVE MODE",
    # The insert of the events, which takes the table in EXCLUSIVE mode.
    "saving": "LOCK TABLE {events} IN EXCLUSIVE MODE",
    # The integration, which updates the one row of pmm_log_lock first.
    "saved": "SELECT id FROM {p}pmm_log_lock FOR UPDATE",
}


@pytest.mark.parametrize("phase", list(HOLDS))
def test_a_restart_in_the_middle_of_a_write_records_it_at_most_once(
    world: World, server: PrivateServer, phase: str
) -> None:
    tally = Tally("database restarted mid-write")
    ledger, store = world.ledger, world.ledger.sequencer.store
    statement = hours(world, "12")
    size = ledger.log_size()
    hold = HOLDS[phase].format(events=store.events_table, p=store.prefix)
    outcome: list[Recorded | StorageError] = []
    admin = psycopg.connect(server.url)
    admin.execute(hold)
    writer = threading.Thread(
        target=lambda: outcome.append(tally.write(lambda: ledger.record(statement)))
    )
    writer.start()
    with psycopg.connect(server.url, autocommit=True) as watch:
        wait_for(
            lambda: bool(
                watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                ).fetchone()
                == (1,)
            ),
            "the write to wait on the lock",
        )
    server.stop("immediate")
    tally.faults += 1
    server.start()
    writer.join(timeout=120)
    admin.close()
    assert not writer.is_alive() and len(outcome) == 1
    (result,) = outcome
    wait_for(lambda: answering(ledger), "the ledger to reconnect", 60)
    if phase == "before":
        assert isinstance(result, StorageUnavailableError), result
        assert "nothing was recorded" in str(result)
        assert ledger.log_size() == size
    elif phase == "saved":
        assert isinstance(result, StorageUnavailableError), result
        assert "the statement was recorded, but not yet added" in str(result)
    else:  # the library retries the insert: recorded, or said to be maybe
        assert isinstance(result, Recorded) or "may or may not" in str(result), result
    # Submitting the same statement again records it if (and only if) it was not.
    try:
        again = ledger.record(statement)
        assert phase != "saved" and not isinstance(result, Recorded), again
    except DuplicateStatementError:
        assert phase != "before"
    later = world.sign(world.ncp_bra, world.BRA, "value.submitted", bra_hours(world))
    assert isinstance(tally.write(lambda: ledger.record(later)), Recorded)
    assert ledger.log_size() == size + 2
    tally.recovered(ledger, statement, later)


def pmm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``pmm`` command in its own process, as an operator runs it."""
    env = {**os.environ, "PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    command = [
        str(Path(sys.executable).parent / "pmm"),
        *args,
        "--home",
        str(settings.home),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _recorded_honouring_retry_after(client: TestClient, post: dict[str, Any]) -> str:
    """POST as a client does after a restart: a 503 storage-unavailable with
    ``Retry-After`` is asked again after that many seconds, for a minute at most.
    A read answering does not mean the write path does: a write holds two pooled
    connections at once, and once, under a loaded full run, the first write
    after the restart was refused with 503 (docs/decisions.md 34). Returns the
    entry's digest once the POST is answered 201."""
    deadline = time.monotonic() + 60
    while True:
        answer = client.post("/statements", **post)
        retry = answer.headers.get("retry-after")
        if answer.status_code != 503 or retry is None or time.monotonic() > deadline:
            assert answer.status_code == 201, answer.text
            return str(answer.json()["entry_sha256"])
        assert answer.json()["type"] == "urn:pmm:problem:storage-unavailable", answer.text
        assert "nothing was recorded" in answer.json()["detail"], answer.text
        time.sleep(float(retry))


def test_the_edges_answer_a_down_server_with_a_problem_and_one_line(
    world: World, server: PrivateServer, tmp_path: Path
) -> None:
    tally = Tally("database down")
    settings = world.ledger.settings
    statement = hours(world, "12")
    drafted = tmp_path / "statement.json"
    drafted.write_bytes(statement.to_bytes())
    post = {
        "content": statement.to_bytes(),
        "headers": {"content-type": "application/json"},
    }
    with TestClient(create_app(settings, ledger=world.ledger)) as client:
        server.stop()
        tally.faults += 1
        try:
            tally.attempted += 1
            write = client.post("/statements", **post)  # type: ignore[arg-type]
            read = client.get("/checkpoint")
            tally.attempted += 1
            submitted = pmm(settings, "submit", str(drafted))
            verified = pmm(settings, "verify")
        finally:
            server.start()
        for answer, kind in [(write, "storage-unavailable"), (read, "storage-unavailable")]:
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["retry-after"]
            problem = answer.json()
            assert problem["type"] == f"urn:pmm:problem:{kind}", problem
            assert "psycopg" not in answer.text and str(server.port) not in answer.text
        assert "nothing was recorded" in write.json()["detail"]
        for ran in (submitted, verified):
            assert ran.returncode == 3, ran.stderr
            assert "Traceback" not in ran.stderr and ran.stdout == ""
            line = " ".join(ran.stderr.split())  # rich wraps one message over lines
            assert line.startswith("error: StorageUnavailableError: cannot open"), line
        tally.refused += 2
        wait_for(lambda: answering(world.ledger), "the ledger to reconnect", 60)
        tally.attempted += 1
        tally.acked.append(_recorded_honouring_retry_after(client, post))
        tally.acknowledged += 1
    tally.recovered(world.ledger, statement)
