"""The long crash run: many kill -9 rounds, then the figures.

    python -m tests.faults.crash_run --rounds 300 --backend both --json out.json

Each backend gets a new ledger (SQLite in a scratch folder; PostgreSQL in a new
schema of ``PMM_TEST_DATABASE_URL``, default the local ``test`` database,
dropped afterwards). Rounds take every (writer kind, crash point) pair in turn
(tests/faults/crash_harness.py); ``pmm verify`` runs every ``--verify-every``
rounds, on the crashed ledger before it is reopened, and at the end, followed
by a last deep check of every receipt with the ledger's own proofs. A backend
stops at its first problem, or after ``--seconds``. Exit 0 when no problem was
found and no acknowledged write was lost.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from ledger.persistence import Settings
from tests.conftest import pg_base_url
from tests.faults.crash_checks import check_ledger
from tests.faults.crash_harness import CSV_FILE, KINDS, POINTS, CrashRun


@contextmanager
def backend_settings(backend: str, folder: Path) -> Iterator[Settings]:
    if backend == "sqlite":
        yield Settings(folder / "home")
        return
    schema = f"crash_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_base_url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Settings(folder / "home", f"{pg_base_url()}?schema={schema}")
    finally:
        with psycopg.connect(pg_base_url(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run_backend(backend: str, ns: argparse.Namespace) -> dict[str, Any]:
    kinds = [k for k in KINDS if k != "import" or CSV_FILE.exists()]
    plan = [(kind, point) for point in POINTS for kind in kinds]
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="pmm-crash-") as tmp,
        backend_settings(backend, Path(tmp)) as settings,
    ):
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        run = CrashRun(settings, scratch, seed=ns.seed)
        try:
            for n in range(ns.rounds):
                if time.monotonic() - started > ns.seconds or run.figures.problems:
                    break
                kind, point = plan[n % len(plan)]
                run.round(kind, point, verify=(n + 1) % ns.verify_every == 0)
                if (n + 1) % 25 == 0:
                    print(
                        f"{backend}: {n + 1} rounds, {run.figures.acknowledged} acks",
                        file=sys.stderr,
                        flush=True,
                    )
            run.verify()
            final = check_ledger(settings, run.acks, deep=True)
            run.figures.receipts_rechecked += final.receipts_checked
            run.figures.problems += final.problems
            run.figures.data_lost = final.lost
        finally:
            run.close()
    figures = dataclasses.asdict(run.figures)
    figures["kills"] = dict(sorted(run.figures.kills.items()))
    figures["kills_total"] = sum(run.figures.kills.values())
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "both"], default="both"
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="per backend")
    parser.add_argument("--verify-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    ns = parser.parse_args()
    backends = ["sqlite", "postgresql"] if ns.backend == "both" else [ns.backend]
    results = {backend: run_backend(backend, ns) for backend in backends}
    for backend, figures in results.items():
        print(f"== {backend}: {figures['rounds']} rounds in {figures['seconds']} s")
        for name in (
            "kills_total",
            "finished_first",
            "acknowledged",
            "entries",
            "receipts_rechecked",
            "in_flight_present",
            "in_flight_absent",
            "imports_completed",
            "verify_runs",
            "data_lost",
        ):
            print(f"   {name:20} {figures[name]}")
        for name, count in figures["kills"].items():
            print(f"   kills {name:24} {count}")
        for problem in figures["problems"]:
            print(f"   PROBLEM {problem}")
    if ns.json:
        ns.json.write_text(json.dumps(results, indent=2) + "\n")
    bad = any(f["problems"] or f["data_lost"] for f in results.values())
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
