"""Concurrent writers in separate OS processes, and what the log must show after
(docs/decisions.md 7 and 31).

Each writer process opens the ledger itself (``ledger.home.open_ledger``) and
writes two kinds of statement: rival registrations, where every process signs
against the same registry version and waits at a barrier before recording (so
exactly one may win each round), and free-running writes (a new assessment
stream of its own, and registrations retried on ``StaleVersionError``). A
reader thread checks checkpoints and proofs while they write. ``log_facts``
then reads the tables back: one leaf per stored entry, log order = commit
order, ``recorded_at`` non-decreasing, each acknowledged write once.
"""

from __future__ import annotations

import multiprocessing
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.errors import StaleVersionError
from ledger.home import open_ledger, resolve_key
from ledger.keys import KeyPair, with_approvals
from ledger.persistence import Settings
from verify.formats.entry import parse_entry
from verify.formats.policy_text import TrustPolicy, parse_policy
from verify.formats.receipt import verify_receipt
from verify.formats.statement import SignedStatement
from verify.merkle.tree import leaf_hash, verify_consistency

ROOT = Path(__file__).resolve().parents[2]
BARRIER_SECONDS = 120.0


def registration(
    settings: Settings, origin: str, name: str, version: int
) -> SignedStatement:
    """A new principal, signed by the genesis admin with the second admin's
    approval (the 2-of-3 threshold of ``init_ledger``), at registry ``version``."""
    admin, other = resolve_key(settings, "admin"), resolve_key(settings, "admin-2")
    body = {
        "member": None,
        "name": f"Load test principal {name}",
        "principal": name,
        "public_key": KeyPair.generate(name).public_key,
        "role": "peer_reviewer",
    }
    statement = admin.statement(origin, "registry", "principal.registered", body, version)
    return admin.sign(with_approvals(statement, [other]))


def opening(sec: KeyPair, origin: str, cycle: str) -> SignedStatement:
    """A new assessment stream of BRA: a write no other writer contends for."""
    body = {"cycle": cycle, "member": "BRA", "reference_year": 2022}
    stream = f"assessment/BRA/{cycle}"
    return sec.sign(sec.statement(origin, stream, "assessment.opened", body, 0))


@dataclass(frozen=True)
class Job:
    home: str
    database_url: str | None
    sec_key: str  # a Secretariat principal's key file
    index: int
    rounds: int  # rival rounds
    writes: int  # free-running writes

    @property
    def settings(self) -> Settings:
        return Settings(Path(self.home), self.database_url)


@dataclass
class Outcome:
    """What one writer (process or HTTP client) saw."""

    acked: list[str] = field(default_factory=list)  # sha256 of each acknowledged entry
    rivals: list[tuple[int, int, bool]] = field(default_factory=list)  # round, version, won
    conflicts: int = 0  # StaleVersionError / 409 on free-running writes, then retried


def write_in_process(job: Job, barrier: Any, results: Any) -> None:
    """A writer process: its own ``open_ledger``, rival rounds, then free writes."""
    settings = job.settings
    ledger = open_ledger(settings)
    sec = KeyPair.load(Path(job.sec_key))
    done = Outcome()
    try:
        for round_ in range(job.rounds):
            version = ledger.stream_version("registry")
            name = f"p{job.index}-rival-{round_}"
            statement = registration(settings, ledger.origin, name, version)
            barrier.wait(BARRIER_SECONDS)  # every rival signed at the same version
            try:
                done.acked.append(ledger.record(statement).entry_sha256)
                done.rivals.append((round_, version, True))
            except StaleVersionError:
                done.rivals.append((round_, version, False))
            barrier.wait(BARRIER_SECONDS)  # the round is over for everyone
        for n in range(job.writes):
            if n % 2 == 0:
                cycle = f"p{job.index}-{n}"
                done.acked.append(
                    ledger.record(opening(sec, ledger.origin, cycle)).entry_sha256
                )
                continue
            while True:
                version = ledger.stream_version("registry")
                name = f"p{job.index}-free-{n}"
                try:
                    recorded = ledger.record(
                        registration(settings, ledger.origin, name, version)
                    )
                except StaleVersionError:
                    done.conflicts += 1
                    continue
                done.acked.append(recorded.entry_sha256)
                break
    finally:
        ledger.close()
        results.put((job.index, done))


def run_processes(jobs: list[Job]) -> list[Outcome]:
    """Run every job in its own spawned process; their outcomes by job index."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # spawned children import this module by name
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    processes = [
        context.Process(target=write_in_process, args=(job, barrier, results))
        for job in jobs
    ]
    for process in processes:
        process.start()
    found: dict[int, Outcome] = {}
    try:
        for _ in jobs:
            index, outcome = results.get(timeout=300)
            found[index] = outcome
    finally:
        for process in processes:
            process.join(timeout=60)
    codes = [p.exitcode for p in processes]
    assert codes == [0] * len(jobs), f"writer processes exited with {codes}"
    return [found[job.index] for job in jobs]


# -- readers while the writers write --------------------------------------------


def log_policy(ledger: Ledger) -> TrustPolicy:
    """The log key alone, no witnesses: what a reader checks a proof against."""
    return parse_policy(f"log {ledger.log_vkey()}\nquorum none\n")


@dataclass
class Reads:
    checks: int = 0
    failures: list[str] = field(default_factory=list)


def check_once(
    checkpoint: Callable[[], str],
    size: Callable[[], int],
    receipt: Callable[[int, int], str],
    consistency: Callable[[int, int], list[bytes]],
    entry: Callable[[int], bytes],
    policy: TrustPolicy,
    last: list[tuple[int, bytes]],
) -> None:
    """One reader's look: the latest checkpoint verifies and never exceeds the
    integrated entries; an inclusion proof of a random entry and a consistency
    proof from the last checkpoint seen verify against it."""
    tree = policy.verify_checkpoint(checkpoint()).checkpoint
    integrated = size()
    if tree.size > integrated:
        raise AssertionError(f"checkpoint size {tree.size} > {integrated} integrated")
    if tree.size == 0:
        return
    index = random.randrange(tree.size)
    verify_receipt(receipt(index, tree.size), leaf_hash(entry(index)), policy)
    if last and 0 < last[0][0] <= tree.size:
        old, old_root = last[0]
        if old < tree.size:
            verify_consistency(
                old, tree.size, old_root, tree.root, consistency(old, tree.size)
            )
        elif old_root != tree.root:
            raise AssertionError(f"two checkpoints of size {old} with different roots")
    last[:] = [(tree.size, tree.root)]


def read_while(stop: threading.Event, look: Callable[[], None], reads: Reads) -> None:
    """Call ``look`` until ``stop``, and once more after (the final state)."""
    while True:
        final = stop.is_set()
        try:
            look()
            reads.checks += 1
        except Exception as exc:
            reads.failures.append(f"{type(exc).__name__}: {exc}")
        if final:
            return


def ledger_reader(ledger: Ledger, stop: threading.Event, reads: Reads) -> threading.Thread:
    """A reader thread on ``ledger`` (this process's own instance)."""
    policy, last = log_policy(ledger), list[tuple[int, bytes]]()
    sequencer = ledger.sequencer

    def look() -> None:
        check_once(
            sequencer.checkpoint,
            sequencer.size,
            ledger.receipt,
            sequencer.consistency,
            sequencer.store.entry,
            policy,
            last,
        )

    thread = threading.Thread(target=read_while, args=(stop, look, reads), daemon=True)
    thread.start()
    return thread


# -- the log after --------------------------------------------------------------


@dataclass(frozen=True)
class LogFacts:
    size: int  # log size (leaves)
    stored: int  # stored events
    duplicates_of_acked: int  # acknowledged entries present more than once
    lost: int  # acknowledged entries not in the log


def log_facts(ledger: Ledger, acked: list[str]) -> LogFacts:
    """Read the log's tables back and check what must hold of any history."""
    store = ledger.sequencer.store
    with store.read() as cur:
        leaves = cur.execute(
            "SELECT log_index, notification_id FROM {p}pmm_log_leaves ORDER BY log_index"
        ).all()
    notifications = ledger.recorder.select_notifications(start=1, limit=10**9)
    ids = [n.id for n in notifications]
    indexes = [int(i) for i, _ in leaves]
    assert indexes == list(range(len(leaves))), "log indexes have gaps"
    # One leaf per stored entry, and the log in commit (notification id) order.
    assert [int(nid) for _, nid in leaves] == ids, "leaves differ from the stored events"
    assert ledger.log_size() == len(leaves) == len(ids)
    entries = [raw for _, raw in store.entries(0, len(leaves))]
    times = [parse_entry(raw).recorded_at for raw in entries]
    assert times == sorted(times), "recorded_at decreases along the log"
    present = Counter(sha256(raw).hexdigest() for raw in entries)
    return LogFacts(
        len(leaves),
        len(ids),
        sum(1 for digest in acked if present[digest] > 1),
        sum(1 for digest in acked if present[digest] == 0),
    )


def check_rivals(outcomes: list[Outcome], writers: int) -> int:
    """Each rival round: every writer signed at one version, exactly one won."""
    rounds: dict[int, list[tuple[int, bool]]] = {}
    for outcome in outcomes:
        for round_, version, won in outcome.rivals:
            rounds.setdefault(round_, []).append((version, won))
    for round_, tries in rounds.items():
        assert len(tries) == writers, (round_, tries)
        assert len({version for version, _ in tries}) == 1, (round_, tries)
        assert sum(won for _, won in tries) == 1, (round_, tries)
    return len(rounds)
