"""Recording on a PostgreSQL primary with a synchronous streaming standby, against
the same primary whose standby is not synchronous; and how long a newly recorded
value takes to be readable on the standby.

A private pair (``benchmarks.standby_servers``: ``initdb`` under the temporary
folder, the standby by ``pg_basebackup -R`` from the private primary; the shared
server is never used) runs with ``synchronous_commit = on``; the measured side
has ``synchronous_standby_names`` naming the standby (each commit waits for the
standby to flush its WAL), the baseline has it empty (the standby still streams,
asynchronously). The workload and its measurement are the ``recording``
benchmark's (``benchmarks.recording.measure_ours``: a new schema each time), the
two sides alternating. The primary's ``sync_state`` for the standby is checked
before every measurement and is a figure.

Lag: values recorded one at a time through ``Ledger.record``; after each call
returns, the standby is read (the log's leaf joined to its event, as
``LogStore.entries`` reads it) until the entry is there. The baseline is the same
read of an entry already there: the floor of the polling. Both with the standby
synchronous and not.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
from pathlib import Path
from time import perf_counter

import psycopg

from benchmarks.common import (
    POSTGRESQL,
    Options,
    PeakMemory,
    Ratio,
    Section,
    Skipped,
    fresh_store,
    progress,
)
from benchmarks.recording import (
    BATCH,
    BATCHED,
    SINGLE,
    measure_ours,
    plan_workload,
    prepare_ledger,
    presign,
)
from benchmarks.standby_servers import Pair, missing_tools

NAME = "standby"
DEFAULT_SIZE, QUICK_SIZE = 2000, 300
LAG_SAMPLES, QUICK_LAG_SAMPLES = 100, 30
LAG_TIMEOUT = 30.0


def _read_sql(events_table: str, prefix: str) -> str:
    return (
        f"SELECT e.state FROM {prefix}pmm_log_leaves l "
        f"JOIN {events_table} e ON e.notification_id = l.notification_id "
        "WHERE l.log_index = %s"
    )


def measure_lag(
    pair: Pair, options: Options, workdir: Path, samples: int
) -> dict[str, float]:
    """Median and max ms until a recorded entry reads on the standby, and the
    median ms of that read when the entry is already there."""
    home = Path(tempfile.mkdtemp(prefix="lag-", dir=workdir))
    lags, floors = [], []
    with fresh_store(POSTGRESQL, home, options.database_url) as settings:
        plans = plan_workload(samples)
        ledger, secretariat = prepare_ledger(settings, plans)
        try:
            store = ledger.sequencer.store
            query = _read_sql(store.events_table, store.prefix)
            wire = [raw for stream in presign(secretariat, plans) for raw in stream]
            with psycopg.connect(pair.url("standby"), autocommit=True) as standby:
                for raw in wire:
                    recorded = ledger.record(raw)
                    start = perf_counter()
                    while True:
                        row = standby.execute(query, (recorded.log_index,)).fetchone()
                        if row is not None:
                            break
                        if perf_counter() - start > LAG_TIMEOUT:
                            raise RuntimeError(
                                f"entry {recorded.log_index} not on the standby after "
                                f"{LAG_TIMEOUT:g} s"
                            )
                    lags.append(perf_counter() - start)
                    if bytes(row[0]) != store.entry(recorded.log_index):
                        raise RuntimeError("the standby's entry differs from the primary's")
                    again = perf_counter()
                    standby.execute(query, (recorded.log_index,)).fetchone()
                    floors.append(perf_counter() - again)
        finally:
            ledger.close()
    return {
        "median": 1000 * statistics.median(lags),
        "max": 1000 * max(lags),
        "floor": 1000 * statistics.median(floors),
    }


def _recording_rows(
    pair: Pair, options: Options, tmp: Path, size: int, section: Section
) -> None:
    plans = plan_workload(size)
    for mode in (SINGLE, BATCHED):
        best: dict[bool, tuple[float, float]] = {}
        states: dict[bool, str] = {}
        # The sides alternate, the baseline before and after; best kept.
        for sync in [*(s for _ in range(options.repeat) for s in (False, True)), False]:
            states[sync] = pair.synchronous(sync)
            if (states[sync] == "sync") != sync:
                raise RuntimeError(f"the standby is {states[sync]}, not as asked")
            got = measure_ours(POSTGRESQL, options, tmp, plans, mode)
            best[sync] = max(best.get(sync, (0.0, 0.0)), got)
        progress(f"{NAME} {mode}: {best[True][0]:,.0f} vs {best[False][0]:,.0f}/s")
        call = (
            "Ledger.record, 1 a transaction"
            if mode == SINGLE
            else f"Ledger.record_batch, {BATCH} a transaction"
        )
        section.rows.append(
            Ratio(
                *(NAME, POSTGRESQL, size, f"{call}, a synchronous standby"),
                *(best[True][0], best[False][0]),
                baseline_name="the same primary, its standby asynchronous",
                unit="statements/s",
                better="higher",
                peak_rss_mb=best[True][1],
                figures={
                    "sync_state measured": states[True],
                    "sync_state baseline": states[False],
                    "ms a statement added": 1000 / best[True][0] - 1000 / best[False][0],
                },
            )
        )


def measure(options: Options, size: int, section: Section, tmp: Path) -> None:
    # Its own folder under the system's temporary one: the postgres user must
    # reach it, and ``tmp`` is ours alone (0700).
    pair = Pair(Path(tempfile.mkdtemp(prefix="pmm-bench-standby-pg-")))
    try:
        progress(f"{NAME}: initdb, pg_basebackup, the standby streaming (untimed)")
        pair.start()
        private = dataclasses.replace(options, database_url=pair.url("primary"))
        _recording_rows(pair, private, tmp, size, section)
        samples = QUICK_LAG_SAMPLES if options.quick else LAG_SAMPLES
        for sync in (False, True):
            state = pair.synchronous(sync)
            with PeakMemory() as memory:
                lag = measure_lag(pair, private, tmp, samples)
            progress(f"{NAME} lag ({state}): median {lag['median']:.2f} ms")
            section.rows.append(
                Ratio(
                    NAME,
                    POSTGRESQL,
                    size,
                    f"a recorded value readable on the {state} standby (Ledger.record)",
                    *(lag["median"], lag["floor"]),
                    baseline_name="the same read of an entry already there, ms",
                    unit="ms, median",
                    better="lower",
                    peak_rss_mb=memory.mb,
                    figures={"max ms": lag["max"], "values": samples, "sync_state": state},
                )
            )
    finally:
        pair.close()


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    problem = missing_tools()
    if POSTGRESQL not in options.backends:
        problem = "only PostgreSQL has a standby: run with --backend postgresql or both"
    if problem is not None:
        section.skipped.append(Skipped(NAME, POSTGRESQL, problem))
        return section
    with tempfile.TemporaryDirectory(prefix="pmm-bench-standby-") as tmp:
        measure(options, size, section, Path(tmp))
    section.notes.append(
        "a private primary and standby (initdb, pg_basebackup -R) on loopback, "
        "synchronous_commit = on on both sides, the server's defaults otherwise (fsync "
        "on: compare its rates with each other, not with the shared server's); the "
        "shared server is not used; the baseline is measured before and after"
    )
    return section
