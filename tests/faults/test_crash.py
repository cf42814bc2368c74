"""kill -9 a writer, reopen the ledger: no acknowledged write lost.

Short rounds of tests/faults/crash_harness.py on SQLite and PostgreSQL: each
writer kind is killed at a random moment or at crash points armed in the child
process, and after every kill the reopened ledger must hold every
acknowledged write with its exact bytes, a gapless log whose root is the naive
root of its entries, every receipt still verifying against the newest
checkpoint, and ``pmm verify`` must pass at the end. The long run is
``python -m tests.faults.crash_run`` (docs: its module docstring).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.persistence import Settings
from tests.faults.crash_harness import CSV_FILE, ROOT, CrashRun
from tests.faults.crash_zygote import Zygote


def rounds(run: CrashRun, plan: list[tuple[str, str]]) -> None:
    for n, (kind, point) in enumerate(plan):
        run.round(kind, point, verify=n == len(plan) - 1)
    figures = run.figures
    assert figures.problems == [], "\n".join(figures.problems)
    assert figures.data_lost == 0
    # The crash points were reached: every deterministic round was a kill.
    deterministic = [f"{kind} {point}" for kind, point in plan if point != "random"]
    assert all(figures.kills[name] for name in deterministic), figures.kills
    assert figures.verify_runs == 1


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    """One zygote for every run of the module: writers start without the imports."""
    shared = Zygote(dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def run(settings: Settings, tmp_path: Path, zygote: Zygote) -> Iterator[CrashRun]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    crash_run = CrashRun(settings, scratch, seed=13, zygote=zygote)
    try:
        yield crash_run
    finally:
        crash_run.close()


def test_cli_and_http_writers_killed_lose_no_acknowledged_write(run: CrashRun) -> None:
    rounds(run, [("cli", "mid_save"), ("http", "after_commit"), ("cli", "random"),
                 ("http", "mid_integration"), ("cli", "after_integration"),
                 ("http", "random")])  # fmt: skip
    assert run.figures.acknowledged > 0 and run.figures.receipts_rechecked > 0
    # The write in flight at each deterministic point: there after the restart
    # unless the kill came before its commit (mid_save).
    assert run.figures.in_flight_present >= 3


def test_a_writer_killed_beside_another_loses_nothing(run: CrashRun) -> None:
    """The live writer integrates what the killed one committed, before any
    restart; its own receipts must name the right indexes all the same."""
    rounds(run, [("pair", "after_commit"), ("pair", "after_record")])
    assert run.figures.acknowledged >= 8  # the unarmed writer's eight, at least


@pytest.mark.skipif(
    not CSV_FILE.exists(), reason=f"the shared export is absent ({CSV_FILE})"
)
def test_an_import_killed_resumes_and_loses_nothing(run: CrashRun) -> None:
    rounds(
        run,
        [("import", "after_record"), ("import", "mid_integration"), ("import", "random")],
    )
    assert run.figures.acknowledged > 0
