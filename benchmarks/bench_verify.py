"""The standalone verifier at scale: entries per second and peak memory.

In one run, for each size N (default 10^5 and 10^6), this measures
``python -m verify DIR --trust FILE --json`` (``verify.verifier.verify_export``)
on a valid export bundle of N entries, in a fresh process:

* **rate**: N divided by the wall time of that process (interpreter start,
  signature pool start-up and the whole verification included), against the
  raw Ed25519 verify rate of ``cryptography`` on one core times the cores
  (``os.cpu_count()``), measured in the same run on the same signing inputs;
  the rate a process pool of that many workers actually reaches on raw
  verifies is printed next to it;
* **peak memory**: the maximum RSS of the verifier's own process and of its
  largest signature worker (``getrusage`` in the process that ran it), at each
  size, and the ratio between the largest and the smallest size (flat = 1).

The bundle is built directly, not through the ledger (10^6 statements through
``Ledger.record`` would take hours): a genesis admin, a Secretariat principal
and one NCP per synthetic Member registered in the ``registry`` stream, a
framework of ``KPIS`` KPIs, then assessment streams
``assessment/<MEMBER>/<CYCLE>`` of ``STREAM_ENTRIES`` entries each, an
``assessment.opened`` by the Secretariat followed by that Member's NCP's values
for T−1 and T and corrections of them: a log the ledger would record, on which
the verifier replays every rule. Every statement is built
and signed with ``verify.statement.sign`` and stored as ``entry_bytes``, with
contiguous stream versions and a record time one millisecond per entry; the
files are written in the C2SP tlog-tiles layout of ``ledger/export.py``
(``verify.bundle.tile_path``; hash tiles from ``verify.frontier.Frontier``)
with a log-signed checkpoint (``verify.checkpoint.sign_checkpoint``) and a
``trust.json`` (policy: the log alone, quorum none). Generation runs in a
process pool and is cached under the temporary directory, keyed by N, so a
rerun starts measuring at once (``--rebuild`` builds it again).

    python benchmarks/bench_verify.py [--sizes 100000,1000000] [--quick]
        [--workers W] [--profile] [--rebuild] [--cache DIR]

Progress goes to stderr, the report to stdout. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import functools
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import platform
import pstats
import shutil
import string
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verify.bundle import TILE_WIDTH, TRUST_FORMAT, split_bundle, tile_path, tiles_of
from verify.checkpoint import Checkpoint, sign_checkpoint
from verify.frontier import Frontier
from verify.merkle import leaf_hash
from verify.note import Ed25519Signer
from verify.statement import (
    STATEMENT_FORMAT,
    SignedStatement,
    entry_bytes,
    format_timestamp,
    key_id,
    parse_entry,
    sign,
    signing_input,
)
from verify.verifier import verify_export

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "bench.pmm.example/verify"
GENERATOR = "v2"  # bump when the generated bundle changes: the cache is keyed by it
MEMBERS = 180  # synthetic Members, one NCP each
STREAM_ENTRIES = 1000  # per assessment stream: one assessment.opened, then values
KPIS = 50
BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ADMIN, SECRETARIAT = "admin", "wco-sec"
TILES_PER_JOB = 16
RAW_SAMPLE = 2000  # distinct signed statements for the raw Ed25519 baselines
RAW_SECONDS = 1.5  # each raw single-core measurement runs about this long
TARGET = 0.8
DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (10_000,)

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
usage = {
    "self_kb": own.ru_maxrss,
    "children_kb": kids.ru_maxrss,
    "self_cpu": own.ru_utime + own.ru_stime,
    "children_cpu": kids.ru_utime + kids.ru_stime,
}
sys.stderr.write("\\nRUSAGE " + json.dumps(usage) + "\\n")
sys.exit(code)
"""


def progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# -- the synthetic log -----------------------------------------------------------------


def member_codes() -> list[str]:
    letters = string.ascii_uppercase
    return [
        "".join(c) for c in itertools.islice(itertools.product(letters, repeat=3), MEMBERS)
    ]


def principals() -> list[tuple[str, str, str | None]]:
    """(principal, role, member) in registration order, the admin first."""
    ncps = [(f"ncp-{m.lower()}", "ncp", m) for m in member_codes()]
    return [(ADMIN, "admin", None), (SECRETARIAT, "secretariat", None), *ncps]


@functools.cache
def private_key(principal: str) -> Ed25519PrivateKey:
    """Deterministic keys, so every generator process derives the same ones."""
    seed = hashlib.sha256(f"pmm-bench-verify/{principal}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.cache
def public_key(principal: str) -> bytes:
    return private_key(principal).public_key().public_bytes_raw()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _statement(
    index: int, principal: str, stream: str, kind: str, body: dict[str, Any], version: int
) -> SignedStatement:
    statement = {
        "body": body,
        "expected_version": version,
        "format": STATEMENT_FORMAT,
        "issued_at": format_timestamp(BASE_TIME + timedelta(milliseconds=index)),
        "key_id": key_id(public_key(principal)),
        "nonce": f"bench{index:016d}",
        "origin": ORIGIN,
        "principal": principal,
        "stream": stream,
        "type": kind,
    }
    return sign(statement, private_key(principal))


@functools.cache
def preamble() -> list[tuple[str, str, str, dict[str, Any], int]]:
    """(signer, stream, type, body, expected version) of the entries before the
    assessments: the registry (genesis, then each principal) and the framework
    (one dimension, one outcome, the KPIs the values are for), so the log is one
    the ledger would have recorded and the verifier replays every rule on it."""
    entries: list[tuple[str, str, str, dict[str, Any], int]] = []
    for n, (name, role, member) in enumerate(principals()):
        if n == 0:
            admin = {"name": "Ledger administrator", "principal": name}
            ledger = {"name": "The ledger", "principal": "ledger"}
            genesis: dict[str, Any] = {
                "admins": [{**admin, "public_key": _b64(public_key(name))}],
                "ledger": {**ledger, "public_key": _b64(public_key("ledger"))},
                "threshold": 1,
            }
            entries.append((name, "registry", "registry.genesis", genesis, 0))
            continue
        body: dict[str, Any] = {
            "approvals": [],
            "member": member,
            "name": f"Principal {name}",
            "principal": name,
            "public_key": _b64(public_key(name)),
            "role": role,
        }
        entries.append((ADMIN, "registry", "principal.registered", body, n))
    framework: list[tuple[str, dict[str, Any]]] = [
        ("framework.created", {"title": "Synthetic PMM framework"}),
        ("dimension.defined", {"code": "D1", "name": "Dimension 1"}),
        ("outcome.defined", {"code": "O1", "dimension": "D1", "name": "Outcome 1"}),
    ] + [
        (
            "kpi.defined",
            {
                "applies_from": 2015,
                "code": kpi_code(k),
                "direction": "lower_is_better",
                "disclosure": "public",
                "name": f"KPI {k + 1}",
                "outcome": "O1",
                "scoring_method": {"method": "linear", "best": "0", "worst": "1000"},
                "unit": "hours",
                "value_kind": "number",
            },
        )
        for k in range(KPIS)
    ]
    for version, (kind, definition) in enumerate(framework):
        entries.append((SECRETARIAT, "framework", kind, definition, version))
    return entries


def kpi_code(k: int) -> str:
    return f"KPI-{k + 1:02d}"


def signed_entry(index: int) -> tuple[SignedStatement, int]:
    """Entry ``index`` of the synthetic log: its signed statement and stream version.

    Each assessment stream: ``assessment.opened``, then a value for each KPI and
    year (T−1 and T, the only years an assessment takes), then corrections, each
    superseding the current value of its KPI and year."""
    first = preamble()
    if index < len(first):
        signer, stream, kind, body, version = first[index]
        return _statement(index, signer, stream, kind, body, version), version + 1
    block, offset = divmod(index - len(first), STREAM_ENTRIES)
    member = member_codes()[block % MEMBERS]
    cycle = str(block // MEMBERS + 1)
    stream = f"assessment/{member}/{cycle}"
    if offset == 0:
        body = {"cycle": cycle, "member": member, "reference_year": 2022}
        kind = "assessment.opened"
        return _statement(index, SECRETARIAT, stream, kind, body, 0), 1
    pairs = 2 * KPIS  # (KPI, year) pairs
    pair = (offset - 1) % pairs
    body = {
        "disclosure": "public",
        "evidence": [hashlib.sha256(f"evidence/{index}".encode()).hexdigest()],
        "kpi": kpi_code(pair % KPIS),
        "reference_year": 2021 + pair // KPIS,
        "status": "value",
        "unit": "hours",
        "value": {"amount": f"{index % 997}.{index % 10}"},
    }
    kind = "value.submitted"
    if offset > pairs:  # the pair's current value is the entry one round before
        body |= {"kind": "correction", "reason": "revised figure"}
        body["supersedes"] = offset - pairs + 1
        kind = "value.corrected"
    ncp = f"ncp-{member.lower()}"
    return _statement(index, ncp, stream, kind, body, offset), offset + 1


def raw_entry(index: int) -> bytes:
    signed, version = signed_entry(index)
    return entry_bytes(signed, version, BASE_TIME + timedelta(milliseconds=index))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_tiles(job: tuple[str, int, int, int]) -> list[tuple[int, bytes]]:
    """Write entry bundles ``first`` .. ``last - 1`` of a log of ``size`` entries;
    return each bundle's level-0 hash tile (its entries' leaf hashes)."""
    directory, size, first, last = job
    out = []
    for n in range(first, last):
        start = n * TILE_WIDTH
        raws = [raw_entry(i) for i in range(start, min(size, start + TILE_WIDTH))]
        bundle = b"".join(len(raw).to_bytes(2, "big") + raw for raw in raws)
        _write(Path(directory) / tile_path("entries", n, len(raws)), bundle)
        out.append((n, b"".join(leaf_hash(raw) for raw in raws)))
    return out


def log_signer() -> Ed25519Signer:
    seed = hashlib.sha256(b"pmm-bench-verify/log").digest()
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))


def build_bundle(directory: Path, size: int, workers: int) -> None:
    """Write the export folder of the synthetic log of ``size`` entries."""
    tiles = (size + TILE_WIDTH - 1) // TILE_WIDTH
    jobs = [
        (str(directory), size, first, min(tiles, first + TILES_PER_JOB))
        for first in range(0, tiles, TILES_PER_JOB)
    ]
    level_hashes: dict[int, list[bytes]] = {}

    def on_node(level: int, index: int, node: bytes) -> None:
        level_hashes.setdefault(level, []).append(node)

    frontier = Frontier(on_node=on_node)
    started = perf_counter()
    done = 0
    with ProcessPoolExecutor(workers) as pool:
        for chunk in pool.map(build_tiles, jobs):  # in order: the tree needs it
            for n, hashes in chunk:
                _write(directory / tile_path(0, n, len(hashes) // 32), hashes)
                for at in range(0, len(hashes), 32):
                    frontier.add(hashes[at : at + 32])
                done += 1
            if done % 256 < TILES_PER_JOB or done == tiles:
                elapsed = perf_counter() - started
                progress(
                    f"  built {min(size, done * TILE_WIDTH):,} / {size:,} entries "
                    f"({elapsed:.0f} s)"
                )
    assert frontier.size == size
    for level, nodes in sorted(level_hashes.items()):
        for n, width in tiles_of(len(nodes)):
            tile = nodes[n * TILE_WIDTH : n * TILE_WIDTH + width]
            _write(directory / tile_path(level, n, width), b"".join(tile))
    signer = log_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, frontier.root()), signer)
    _write(directory / "checkpoint", note.encode())
    first_bundle = directory / tile_path("entries", 0, min(size, TILE_WIDTH))
    genesis = split_bundle(first_bundle.read_bytes(), first_bundle)[0]
    vkey = signer.verifier().vkey()
    trust = {
        "format": TRUST_FORMAT,
        "origin": ORIGIN,
        "log_vkey": vkey,
        "genesis_entry_sha256": hashlib.sha256(genesis).hexdigest(),
        "policy": f"log {vkey}\nquorum none\n",
    }
    _write(directory / "trust.json", (json.dumps(trust, indent=2) + "\n").encode())


def cached_bundle(cache: Path, size: int, workers: int, rebuild: bool) -> Path:
    """The export folder for ``size`` entries, built unless a complete one is cached."""
    directory = cache / f"{GENERATOR}-n{size}"
    marker = directory / "COMPLETE"
    if marker.exists() and not rebuild:
        progress(f"N={size:,}: using the cached bundle {directory}")
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    progress(f"N={size:,}: building the bundle in {directory} ({workers} processes)")
    started = perf_counter()
    build_bundle(directory, size, workers)
    marker.write_text(f"{size}\n")
    progress(f"N={size:,}: built in {perf_counter() - started:.0f} s")
    return directory


# -- raw Ed25519 baselines -------------------------------------------------------------

Sample = list[tuple[bytes, bytes, bytes]]  # (public key, signature, signing input)


def raw_sample(count: int) -> Sample:
    """Signatures of real entries of the synthetic log (values, mostly)."""
    sample = []
    for index in range(len(preamble()), len(preamble()) + count):
        signed = parse_entry(raw_entry(index)).signed
        signature = base64.b64decode(signed.signature)
        sample.append((public_key(signed.principal), signature, signing_input(signed)))
    return sample


def verify_loaded(sample: Sample, rounds: int) -> int:
    """Raw verifies with each public key loaded once: the floor of the work."""
    keys = {raw: Ed25519PublicKey.from_public_bytes(raw) for raw, _, _ in sample}
    checks = [(keys[raw], signature, message) for raw, signature, message in sample]
    for _ in range(rounds):
        for key, signature, message in checks:
            key.verify(signature, message)
    return rounds * len(checks)


def verify_each(sample: Sample, rounds: int) -> int:
    """Raw verifies loading the public key for each one, as one signature job does."""
    for _ in range(rounds):
        for raw, signature, message in sample:
            Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    return rounds * len(sample)


def single_core_rate(sample: Sample, verify: Callable[[Sample, int], int]) -> float:
    """Best of three runs of about ``RAW_SECONDS`` each, in verifies per second."""
    started = perf_counter()
    verify(sample, 1)
    rounds = max(1, int(RAW_SECONDS / max(perf_counter() - started, 1e-6)))
    best = 0.0
    for _ in range(3):
        started = perf_counter()
        count = verify(sample, rounds)
        best = max(best, count / (perf_counter() - started))
    return best


def _noop(_: int) -> int:
    return os.getpid()


def pool_rate(sample: Sample, workers: int) -> float:
    """Raw verifies per second achieved by ``workers`` spawned processes together."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(_noop, range(workers * 4)))  # start every worker first
        started = perf_counter()
        verify_loaded(sample, 1)
        rounds = max(1, int(RAW_SECONDS / max(perf_counter() - started, 1e-6)))
        best = 0.0
        for _ in range(2):
            started = perf_counter()
            jobs = [pool.submit(verify_loaded, sample, rounds) for _ in range(workers * 2)]
            count = sum(job.result() for job in jobs)
            best = max(best, count / (perf_counter() - started))
    return best


# -- the verifier ----------------------------------------------------------------------


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

    @property
    def cpu_per_entry(self) -> float:
        return (self.self_cpu + self.workers_cpu) / self.size


def run_verifier(directory: Path, size: int, workers: int | None) -> Run:
    """``python -m verify DIR --trust FILE --json`` in a fresh process, timed."""
    command = [sys.executable, "-c", _CHILD, str(directory)]
    command += ["--trust", str(directory / "trust.json"), "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"the verifier exited {result.returncode} on N={size}")
    report = json.loads(result.stdout)
    assert report["verified"] is True, report["first_failure"]
    assert report["counts"]["entries"] == size, report["counts"]
    line = result.stderr.rsplit("RUSAGE ", 1)[1]
    usage = json.loads(line)
    return Run(
        size,
        seconds,
        usage["self_kb"] / 1024,
        usage["children_kb"] / 1024,
        usage["self_cpu"],
        usage["children_cpu"],
    )


def profile_verifier(directory: Path, workers: int | None) -> str:
    """The main process of the verifier under cProfile (the workers are not profiled)."""
    profiler = cProfile.Profile()
    profiler.enable()
    result = verify_export(directory, directory / "trust.json", workers=workers)
    profiler.disable()
    assert result.verified
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


# -- the report ------------------------------------------------------------------------


def parse_sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    if not sizes or min(sizes) <= len(preamble()):
        raise argparse.ArgumentTypeError(
            f"sizes must be above {len(preamble())} (the registry and framework entries)"
        )
    return sizes


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=DEFAULT_SIZES,
        help="comma-separated entry counts (default 100000,1000000)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: N=10,000")
    parser.add_argument(
        "--workers", type=int, help="passed to the verifier's --workers (default: its own)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then profile the verifier's main process on the smallest size",
    )
    parser.add_argument("--rebuild", action="store_true", help="ignore cached bundles")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pmm-bench-verify",
        help="where generated bundles are kept (default: $TMPDIR/pmm-bench-verify)",
    )
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Baselines:
    """Raw Ed25519 rates in verifies per second, the best of the measurements."""

    one: float
    each: float
    pool: float
    cores: int

    @property
    def ceiling(self) -> float:
        return self.one * self.cores


def baselines(sample: Sample, cores: int) -> Baselines:
    one = single_core_rate(sample, verify_loaded)
    each = single_core_rate(sample, verify_each)
    return Baselines(one, each, pool_rate(sample, cores), cores)


def best(measured: Sequence[Baselines]) -> Baselines:
    return Baselines(
        max(b.one for b in measured),
        max(b.each for b in measured),
        max(b.pool for b in measured),
        measured[0].cores,
    )


def report(
    runs: Sequence[Run], base: Baselines, spread: Sequence[Baselines], workers: str
) -> None:
    cores = base.cores
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Verifier benchmark on {platform.python_implementation()} "
        f"{platform.python_version()}, {cores} cores (os.cpu_count), load average {load}"
    )
    print(
        f"Bundle: {ORIGIN}, {len(preamble())} registry and framework entries, streams "
        f"of {STREAM_ENTRIES} (assessment.opened, values, corrections); verifier --workers "
        f"{workers}"
    )
    print()
    print(f"{'raw Ed25519 verify (cryptography), best of runs':52} {'verifies/s':>12}")
    rows = [
        ("1 core, key loaded once", base.one, [b.one for b in spread]),
        ("1 core, key loaded per signature", base.each, [b.each for b in spread]),
        (f"process pool of {cores}, measured", base.pool, [b.pool for b in spread]),
    ]
    for label, rate, each in rows:
        seen = " / ".join(f"{r:,.0f}" for r in each)
        print(f"{label:52} {rate:12,.0f}   (before / after the verifier: {seen})")
    print(f"{f'baseline: 1 core x {cores} cores':52} {base.ceiling:12,.0f}")
    print()
    print(
        f"{'N':>10} {'seconds':>8} {'entries/s':>10} {'/ raw x cores':>13} {'/ pool':>7} "
        f"{'peak RSS MB':>11} {'worker MB':>9} {'CPU s main':>10} {'workers':>8} "
        f"{'CPU/entry in verifies':>21}"
    )
    for run in runs:
        print(
            f"{run.size:10,} {run.seconds:8.1f} {run.rate:10,.0f} "
            f"{run.rate / base.ceiling:13.3f} {run.rate / base.pool:7.3f} "
            f"{run.self_mb:11.1f} {run.workers_mb:9.1f} {run.self_cpu:10.1f} "
            f"{run.workers_cpu:8.1f} {run.cpu_per_entry * base.one:21.2f}"
        )
    print()
    largest = max(runs, key=lambda r: r.size)
    smallest = min(runs, key=lambda r: r.size)
    main_work = largest.self_cpu / largest.size * base.one
    worker_work = largest.workers_cpu / largest.size * base.one
    print(
        f"CPU per verified entry at N={largest.size:,}: {main_work + worker_work:.2f} raw "
        f"verifies (main process {main_work:.2f}, signature workers {worker_work:.2f}); "
        f"even perfectly parallel, at most {1 / (main_work + worker_work):.2f} of raw x "
        f"cores. Main process busy {largest.self_cpu / largest.seconds:.0%} of the wall "
        "time."
    )
    ratio = largest.rate / base.ceiling
    verdict = "MET" if ratio >= TARGET else "NOT MET"
    print(
        f"Target rate >= {TARGET} x raw x cores at N={largest.size:,}: {verdict} "
        f"({ratio:.3f}; {largest.rate:,.0f} of {base.ceiling:,.0f} entries/s)"
    )
    if largest is not smallest:
        growth = largest.self_mb / smallest.self_mb
        workers_growth = largest.workers_mb / max(smallest.workers_mb, 1e-9)
        print(
            f"Memory N={largest.size:,} / N={smallest.size:,}: verifier "
            f"{growth:.2f} ({smallest.self_mb:.1f} -> {largest.self_mb:.1f} MB), "
            f"largest worker {workers_growth:.2f}; flat (<= 1.10): "
            f"{'MET' if growth <= 1.10 and workers_growth <= 1.10 else 'NOT MET'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    sizes: tuple[int, ...] = QUICK_SIZES if args.quick else args.sizes
    cores = os.cpu_count() or 1
    began = perf_counter()
    bundles = [cached_bundle(args.cache, n, cores, args.rebuild) for n in sizes]

    progress("raw Ed25519 baselines ...")
    sample = raw_sample(RAW_SAMPLE)
    spread = [baselines(sample, cores)]
    runs = []
    for directory, size in zip(bundles, sizes, strict=True):
        progress(f"N={size:,}: python -m verify ...")
        runs.append(run_verifier(directory, size, args.workers))
        progress(f"  {runs[-1].seconds:.1f} s")
    progress("raw Ed25519 baselines again ...")
    spread.append(baselines(sample, cores))

    workers = str(args.workers) if args.workers is not None else "default"
    report(runs, best(spread), spread, workers)
    print(f"Total run {perf_counter() - began:.0f} s (bundle generation included)")
    if args.profile:
        smallest = min(sizes)
        progress("profiling the verifier's main process ...")
        print()
        print(f"cProfile of verify_export, main process, N={smallest:,}:")
        print(profile_verifier(bundles[sizes.index(smallest)], args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
