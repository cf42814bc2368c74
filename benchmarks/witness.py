"""Recording with real witnesses: ``Ledger.record`` / ``Ledger.record_batch`` with
0, 1 and 3 ``pmm witness serve`` processes, against the same ledger with none.

The workload is the ``recording`` benchmark's (``benchmarks.recording``: N signed
``value.submitted`` statements from their wire bytes, 50 a stream, a new store per
measurement). For each measurement the ledger is made, then its witnesses are
started for its log key (each with a new state file, keys made once a run by
``pmm witness keygen``), the home's witness policy written (``log``, the
``witness`` lines with their URLs, a group of all of them as the quorum; with 0,
``quorum none``), and the ledger opened again, as ``pmm serve`` would open it.
The baseline is the same ledger without a policy file. Each write's round is
checked: every ``Recorded.witnessed`` must meet the quorum (with 0 witnesses
there is no round: ``witnessed`` is None), and the count is a figure.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from benchmarks.common import (
    Options,
    PeakMemory,
    Ratio,
    Section,
    backends,
    fresh_store,
    progress,
)
from benchmarks.recording import (
    BATCH,
    BATCHED,
    SINGLE,
    StreamPlan,
    plan_workload,
    prepare_ledger,
    presign,
)
from benchmarks.witness_processes import WitnessKey, make_keys, serving, write_policy
from ledger.application import Recorded
from ledger.home import open_ledger

NAME = "witness"
DEFAULT_SIZE, QUICK_SIZE = 2000, 300
COUNTS = (0, 1, 3)  # witnesses in the policy; None below: no policy at all


@dataclass(frozen=True)
class Outcome:
    rate: float  # statements per second
    peak_rss_mb: float
    writes: int  # calls of record / record_batch
    quorum_met: int  # of them, whose round met the quorum
    first_refusal: str
    witness_peak_rss_mb: float
    witness_cpu_ms: float  # all the witnesses' CPU a write


def _check(results: list[Recorded], witnesses: int | None) -> tuple[int, str]:
    """(writes whose round met the quorum, the first refusal named)."""
    met, refusal = 0, ""
    for recorded in results:
        witnessed = recorded.witnessed
        if witnesses in (None, 0):
            if witnessed is not None:
                raise RuntimeError("a round ran without witnesses in the policy")
            continue
        if witnessed is None:
            raise RuntimeError("a write with witnesses in the policy had no round")
        met += witnessed.quorum_met
        refusal = refusal or "; ".join(witnessed.refusals)
    return met, refusal


def measure(
    backend: str,
    options: Options,
    workdir: Path,
    plans: list[StreamPlan],
    mode: str,
    keys: list[WitnessKey] | None,
) -> Outcome:
    """One measurement in a new store: with ``keys`` as witnesses, or (None) no policy."""
    n = sum(len(plan.bodies) for plan in plans)
    home = Path(tempfile.mkdtemp(prefix="witness-", dir=workdir))
    with fresh_store(backend, home, options.database_url) as settings:
        made, secretariat = prepare_ledger(settings, plans)
        log_vkey = made.log_vkey()
        made.close()
        with serving(keys or [], log_vkey, home) as running:
            if keys is not None:
                write_policy(settings.home, log_vkey, running)
            ledger = open_ledger(settings)
            try:
                if (keys is not None and len(keys) > 0) != (ledger.witnessing is not None):
                    raise RuntimeError("the ledger did not take the witness policy")
                streams, before = presign(secretariat, plans), ledger.log_size()
                results: list[Recorded] = []
                ends: list[int] = []  # each write's last result
                cpu_before = sum(w.cpu_seconds() for w in running)
                with PeakMemory() as memory:
                    start = perf_counter()
                    for statements in streams:
                        if mode == SINGLE:
                            for raw in statements:
                                results.append(ledger.record(raw))
                                ends.append(len(results) - 1)
                        else:
                            results += ledger.record_batch(statements)
                            ends.append(len(results) - 1)
                    elapsed = perf_counter() - start
                witness_cpu = sum(w.cpu_seconds() for w in running) - cpu_before
                if ledger.log_size() - before != n:
                    raise RuntimeError(
                        f"the ledger recorded {ledger.log_size() - before} of {n}"
                    )
            finally:
                ledger.close()
            witness_mb = max((w.peak_rss_mb() for w in running), default=0.0)
    witnesses = None if keys is None else len(keys)
    _check(results, witnesses)  # every entry's result is consistent
    met, refusal = _check([results[i] for i in ends], witnesses)
    cpu_ms = 1000 * witness_cpu / len(ends)
    return Outcome(n / elapsed, memory.mb, len(ends), met, refusal, witness_mb, cpu_ms)


def _call(mode: str) -> str:
    if mode == SINGLE:
        return "Ledger.record, 1 a transaction"
    return f"Ledger.record_batch, {BATCH} a transaction"


def _label(mode: str, count: int) -> str:
    return f"{_call(mode)}, {count} witness{'' if count == 1 else 'es'}"


def _rows(
    backend: str, size: int, mode: str, best: dict[int | None, Outcome]
) -> list[Ratio]:
    """One row per witness count, against the no-policy baseline."""
    baseline, rows = best[None], []
    progress(f"{NAME} {backend} {mode}: no policy {baseline.rate:,.0f}/s")
    for count in COUNTS:
        got = best[count]
        progress(f"{NAME} {backend} {_label(mode, count)}: {got.rate:,.0f}/s")
        met = f"{got.quorum_met:,} of {got.writes:,}" if count else "no round (quorum none)"
        figures: dict[str, float | int | str] = {
            "writes": got.writes,
            "writes whose round met the quorum": met,
            "no-policy peak RSS MB": baseline.peak_rss_mb,
        }
        if count:
            per_write = size / got.writes  # statements a write
            added = per_write / got.rate - per_write / baseline.rate
            figures["ms a write added"] = 1000 * added
            figures["witnesses' CPU ms a write (all of them)"] = got.witness_cpu_ms
            figures["largest witness peak RSS MB"] = got.witness_peak_rss_mb
        if got.first_refusal:
            figures["first refusal"] = got.first_refusal
        rows.append(
            Ratio(
                *(NAME, backend, size, _label(mode, count), got.rate, baseline.rate),
                *("the same, no witness policy", "statements/s", "higher"),
                got.peak_rss_mb,
                figures=figures,
            )
        )
    return rows


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    plans = plan_workload(size)
    for backend in backends(options, section):
        with tempfile.TemporaryDirectory(prefix=f"pmm-bench-witness-{backend}-") as tmp:
            keys = make_keys(Path(tmp), max(COUNTS))
            for mode in (SINGLE, BATCHED):
                best: dict[int | None, Outcome] = {}
                # The sides alternate, the baseline before and after; best kept.
                order = [*(c for _ in range(options.repeat) for c in (None, *COUNTS)), None]
                for count in order:
                    chosen = None if count is None else keys[:count]
                    got = measure(backend, options, Path(tmp), plans, mode, chosen)
                    if count not in best or got.rate > best[count].rate:
                        best[count] = got
                section.rows += _rows(backend, size, mode, best)
    section.notes.append(
        "each witness is a `pmm witness serve` process on loopback, asked in turn by "
        "each write's round; the quorum is all of them; the baseline is measured "
        "before and after the witnessed runs, the best kept"
    )
    return section
