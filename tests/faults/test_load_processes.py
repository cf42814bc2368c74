"""Writers in separate OS processes on one ledger, SQLite and PostgreSQL (issue
13 part 2): rival statements at one version, exactly one recorded; free-running
writes retried on StaleVersionError; every acknowledged write in the log once;
one leaf per stored entry, in commit order, ``recorded_at`` non-decreasing; and
a reader checking checkpoints and proofs throughout (docs/decisions.md 7).

Two ``Ledger`` instances in one process are tested in
tests/ledger/test_ledger_concurrency.py; here each writer is its own process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tests.faults.load_kit import (
    Job,
    Reads,
    check_rivals,
    ledger_reader,
    log_facts,
    run_processes,
)

if TYPE_CHECKING:
    from tests.conftest import World

PROCESSES = 3
ROUNDS = 3
WRITES = 4


def test_writer_processes_lose_nothing(world: World, tmp_path: Path) -> None:
    settings = world.ledger.settings
    key = tmp_path / "sec.key"
    world.sec.save(key)
    before = world.ledger.log_size()
    registry = world.ledger.stream_version("registry")
    jobs = [
        Job(str(settings.home), settings.database_url, str(key), i, ROUNDS, WRITES)
        for i in range(PROCESSES)
    ]
    stop, reads = threading.Event(), Reads()
    reader = ledger_reader(world.ledger, stop, reads)
    try:
        outcomes = run_processes(jobs)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert check_rivals(outcomes, PROCESSES) == ROUNDS
    acked = [digest for outcome in outcomes for digest in outcome.acked]
    assert len(acked) == ROUNDS + PROCESSES * WRITES
    facts = log_facts(world.ledger, acked)
    assert (facts.lost, facts.duplicates_of_acked) == (0, 0)
    # Nothing but the acknowledged writes was added (no seal: no restricted read).
    assert facts.size == before + len(acked)
    registrations = ROUNDS + PROCESSES * (WRITES // 2)
    assert world.ledger.stream_version("registry") == registry + registrations
    assert not reads.failures, reads.failures[:3]
    assert reads.checks > 0
    conflicts = sum(outcome.conflicts for outcome in outcomes)
    print(
        f"processes={PROCESSES} writes acknowledged={len(acked)} "
        f"rival rounds={ROUNDS} stale refusals={ROUNDS * (PROCESSES - 1)} "
        f"retried conflicts={conflicts} leaves={facts.size} reader checks={reads.checks}"
    )
