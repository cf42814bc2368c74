"""The offline verifier: ``python -m verify DIR --trust FILE --json`` against raw
Ed25519 x cores, with its peak memory, at N and N/10 entries (default 10^6, 10^5).

Each size runs in a fresh process (through ``runpy``, exactly as ``-m`` does, so
the process reports its own ``getrusage``); the clock covers the whole process:
interpreter start, the signature pool's start-up and the verification. The run
must say ``verified`` with N entries. Baselines, before and after, best kept, on
the signing inputs of 2,000 real entries of the bundle: raw Ed25519 verifies per
second on one core (keys loaded once; also loaded per signature), and what a
spawned pool of ``os.cpu_count()`` workers reaches together. Target: entries/s
at least 0.8 of one core's raw rate x the cores, at the largest size.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from benchmarks.common import (
    Figure,
    Options,
    Ratio,
    Sample,
    Section,
    pool_rate,
    progress,
    raw_rate,
    verify_each,
)
from benchmarks.verify_bundle import cached_bundle, preamble, public_key, raw_entry
from verify.formats.entry import parse_entry
from verify.formats.statement import signing_input
from verify.formats.trust import TRUST_FILE

NAME = "verify"
DEFAULT_SIZE, QUICK_SIZE = 1_000_000, 20_000
ROOT = Path(__file__).resolve().parents[1]
RAW_SAMPLE = 2000
TARGET = 0.8

# The verifier, exactly as ``python -m verify`` runs it, then its rusage (stderr).
_CHILD = """\
import json, resource, runpy, sys
sys.argv = ["verify", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("verify", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
# VmHWM, not ru_maxrss: after fork and exec, ru_maxrss keeps the parent's RSS.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
usage = {
    "self_kb": int(hwm[0].split()[1]) if hwm else own.ru_maxrss,
    "children_kb": kids.ru_maxrss,
    "self_cpu": own.ru_utime + own.ru_stime,
    "children_cpu": kids.ru_utime + kids.ru_stime,
}
sys.stderr.write("\\nRUSAGE " + json.dumps(usage) + "\\n")
sys.exit(code)
"""


@dataclass(frozen=True)
class Run:
    """One verifier process: wall time, peak RSS and CPU time (its own, its workers')."""

    size: int
    seconds: float
    self_mb: float
    workers_mb: float
    self_cpu: float
    workers_cpu: float

    @property
    def rate(self) -> float:
        return self.size / self.seconds


def raw_sample(count: int) -> Sample:
    """Signatures of real entries of the synthetic log (values, mostly)."""
    sample = []
    for index in range(len(preamble()), len(preamble()) + count):
        signed = parse_entry(raw_entry(index)).signed
        signature = base64.b64decode(signed.signature)
        sample.append((public_key(signed.principal), signature, signing_input(signed)))
    return sample


def run_verifier(directory: Path, size: int) -> Run:
    """``python -m verify DIR --trust FILE --json`` in a fresh process, timed."""
    command = [sys.executable, "-c", _CHILD, str(directory)]
    command += ["--trust", str(directory / TRUST_FILE), "--json"]
    started = perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise RuntimeError(f"the verifier exited {result.returncode} on N={size}")
    report = json.loads(result.stdout)
    if report["verified"] is not True or report["counts"]["entries"] != size:
        raise RuntimeError(f"the verifier did not verify {size} entries: {report}")
    usage = json.loads(result.stderr.rsplit("RUSAGE ", 1)[1])
    return Run(
        *(size, seconds, usage["self_kb"] / 1024, usage["children_kb"] / 1024),
        *(usage["self_cpu"], usage["children_cpu"]),
    )


def sizes_for(size: int) -> tuple[int, ...]:
    """N, and N/10 beside it for the memory comparison when it is past the preamble."""
    floor = len(preamble()) + 1
    if size < floor:
        raise SystemExit(f"verify needs --size of at least {floor} (the set-up entries)")
    return (size // 10, size) if size // 10 >= floor else (size,)


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    cores = os.cpu_count() or 1
    sizes = sizes_for(size)
    bundles = [cached_bundle(options.cache / "verify", n, cores) for n in sizes]
    sample = raw_sample(RAW_SAMPLE)
    t = options.raw_seconds

    def measure() -> tuple[float, float, float]:
        each_rate = raw_rate(sample, verify_each, t)
        return raw_rate(sample, seconds=t), each_rate, pool_rate(sample, cores, t)

    baselines = [measure()]
    runs = []
    for directory, n in zip(bundles, sizes, strict=True):
        progress(f"{NAME}: python -m verify on N={n:,}")
        runs.append(run_verifier(directory, n))
    baselines.append(measure())
    one, each, pool = (max(b[i] for b in baselines) for i in range(3))
    smallest = runs[0]
    for r in runs:
        main_work, worker_work = (cpu / r.size * one for cpu in (r.self_cpu, r.workers_cpu))
        figures: dict[str, Figure] = {
            "seconds (whole process)": r.seconds,
            "raw Ed25519 verifies/s, 1 core": one,
            "raw, key loaded per signature": each,
            f"raw, process pool of {cores}, measured": pool,
            "ratio to the measured pool": r.rate / pool,
            "CPU per entry in raw verifies, main process": main_work,
            "CPU per entry in raw verifies, signature workers": worker_work,
            "ceiling if perfectly parallel (1 / CPU per entry)": 1
            / (main_work + worker_work),
            "main process busy, share of wall time": r.self_cpu / r.seconds,
            "largest worker peak RSS MB": r.workers_mb,
        }
        if r is not smallest:
            growth = r.self_mb / smallest.self_mb
            flat = "MET" if growth <= 1.10 else "NOT MET"
            figures[f"peak RSS / at N={smallest.size:,} (flat: <= 1.10)"] = (
                f"{growth:.2f} {flat}"
            )
        section.rows.append(
            Ratio(
                *(NAME, "files", r.size, "python -m verify (verify_export)", r.rate),
                *(one * cores, f"raw Ed25519 1 core x {cores} cores", "entries/s"),
                *("higher", r.self_mb),
                target=TARGET if r.size == max(sizes) else None,
                figures=figures,
            )
        )
    return section
