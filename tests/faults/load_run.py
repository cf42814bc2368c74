"""A longer concurrency run than the tests: writer processes, then API workers,
on a new ledger; prints the figures and exits non-zero if a check fails.

    .venv/bin/python -m tests.faults.load_run --backend postgresql \\
        --processes 4 --rounds 10 --writes 20 --workers 2 --clients 4

The checks are those of tests/faults/test_load_processes.py and
test_load_workers.py (``load_kit``, ``load_http``).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from ledger.home import init_ledger
from ledger.persistence import Settings
from tests.conftest import ORIGIN, build_world, pg_base_url
from tests.faults.load_http import Client, Refusals, http_reader, run_clients, serving
from tests.faults.load_kit import (
    Job,
    Outcome,
    Reads,
    check_rivals,
    ledger_reader,
    log_facts,
    run_processes,
)


@contextmanager
def new_settings(backend: str, folder: Path) -> Iterator[Settings]:
    if backend == "sqlite":
        yield Settings(folder / "home")
        return
    base, schema = pg_base_url(), f"load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Settings(folder / "home", f"{base}?schema={schema}")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def report(kind: str, writers: int, outcomes: list[Outcome], reads: Reads) -> list[str]:
    rounds = check_rivals(outcomes, writers)
    acked = [digest for outcome in outcomes for digest in outcome.acked]
    conflicts = sum(outcome.conflicts for outcome in outcomes)
    print(
        f"{kind}: writers={writers} rival rounds={rounds} "
        f"stale refusals={rounds * (writers - 1)} retried conflicts={conflicts} "
        f"writes acknowledged={len(acked)} reader checks={reads.checks} "
        f"reader failures={len(reads.failures)}"
    )
    for failure in reads.failures[:5]:
        print(f"  reader: {failure}")
    return acked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        new_settings(args.backend, Path(folder)) as settings,
    ):
        world = build_world(init_ledger(settings, ORIGIN))
        ledger = world.ledger
        key = Path(folder) / "sec.key"
        world.sec.save(key)
        before = ledger.log_size()
        home, url = str(settings.home), settings.database_url
        jobs = [
            Job(home, url, str(key), i, args.rounds, args.writes)
            for i in range(args.processes)
        ]
        stop, reads = threading.Event(), Reads()
        reader = ledger_reader(ledger, stop, reads)
        try:
            outcomes = run_processes(jobs)
        finally:
            stop.set()
            reader.join()
        acked = report("processes", args.processes, outcomes, reads)
        failures = list(reads.failures)
        refusals = Refusals()
        if args.workers:
            with serving(settings, args.workers) as base:
                clients = [
                    Client(base, ledger, world.sec, i, args.rounds, args.writes)
                    for i in range(args.clients)
                ]
                stop, reads = threading.Event(), Reads()
                readers = [http_reader(base, ledger, world.sec, stop, reads) for _ in "ab"]
                try:
                    outcomes = run_clients(clients, refusals)
                finally:
                    stop.set()
                    for one in readers:
                        one.join()
            acked += report(
                f"workers={args.workers} clients", args.clients, outcomes, reads
            )
            failures += reads.failures + refusals.malformed
            print(f"  409 answers={refusals.count} malformed={len(refusals.malformed)}")
        facts = log_facts(ledger, acked)
        print(
            f"log: entries before={before} leaves={facts.size} stored={facts.stored} "
            f"acknowledged={len(acked)} lost={facts.lost} "
            f"doubled={facts.duplicates_of_acked} "
            f"other (access-log seals)={facts.size - before - len(acked)}"
        )
        ledger.close()
        bad = failures or facts.lost or facts.duplicates_of_acked
        print("FAILED" if bad else "OK")
        return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
