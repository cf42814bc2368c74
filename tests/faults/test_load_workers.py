"""``pmm serve --workers 2`` taking concurrent POST /statements from several
client threads, SQLite and PostgreSQL: of rival statements
one gets 201 and the rest 409 with a problem body; nothing acknowledged is
lost or doubled; the log is one leaf per stored entry in commit order with
``recorded_at`` non-decreasing; readers on /checkpoint, receipts, consistency
proofs, /scores and /events never see an inconsistent table or a 500."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tests.faults.load_http import Client, Refusals, http_reader, run_clients, serving
from tests.faults.load_kit import Reads, check_rivals, log_facts
from verify.formats.entry import parse_entry

if TYPE_CHECKING:
    from tests.conftest import World

WORKERS = 2
CLIENTS = 3
ROUNDS = 3
WRITES = 4
SEAL = "access_log.sealed"


def test_api_workers_lose_nothing(world: World) -> None:
    ledger = world.ledger
    before = ledger.log_size()
    registry = ledger.stream_version("registry")
    with serving(ledger.settings, WORKERS) as base:
        clients = [
            Client(base, ledger, world.sec, i, ROUNDS, WRITES) for i in range(CLIENTS)
        ]
        stop, reads, refusals = threading.Event(), Reads(), Refusals()
        readers = [http_reader(base, ledger, world.sec, stop, reads) for _ in range(2)]
        try:
            outcomes = run_clients(clients, refusals)
        finally:
            stop.set()
            for reader in readers:
                reader.join(timeout=120)
    assert check_rivals(outcomes, CLIENTS) == ROUNDS
    assert not refusals.malformed, refusals.malformed[:3]
    conflicts = sum(outcome.conflicts for outcome in outcomes)
    assert refusals.count == ROUNDS * (CLIENTS - 1) + conflicts
    acked = [digest for outcome in outcomes for digest in outcome.acked]
    assert len(acked) == ROUNDS + CLIENTS * WRITES
    facts = log_facts(ledger, acked)
    assert (facts.lost, facts.duplicates_of_acked) == (0, 0)
    # Only the acknowledged writes, and the seals of the access log that the
    # /events reads (the Secretariat reads restricted entries) left behind.
    entries = ledger.sequencer.store.entries(before, facts.size)
    seals = sum(1 for _, raw in entries if parse_entry(raw).entry_type == SEAL)
    assert facts.size == before + len(acked) + seals
    assert ledger.stream_version("registry") == registry + ROUNDS + CLIENTS * (WRITES // 2)
    assert not reads.failures, reads.failures[:3]
    assert reads.checks > 0
    print(
        f"workers={WORKERS} clients={CLIENTS} writes acknowledged={len(acked)} "
        f"409 refusals={refusals.count} (retried conflicts={conflicts}) "
        f"leaves={facts.size} seals={seals} reader checks={reads.checks}"
    )
