"""What every benchmark shares: the Ratio record, timers, peak memory, stores and
PostgreSQL schemas, principals, the raw Ed25519 baseline. A benchmark module has
``NAME``, ``DEFAULT_SIZE``, ``QUICK_SIZE`` and ``run(options, size) -> Section``;
``benchmarks.report`` writes the files (apart only to keep modules short).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import socket
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql

from ledger.application import Ledger
from ledger.keys import KeyPair
from ledger.persistence import Settings

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SQLITE, POSTGRESQL = "sqlite", "postgresql"
Figure = float | int | str
T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """The command's options, as every benchmark receives them."""

    backends: tuple[str, ...]
    database_url: str
    quick: bool
    cache: Path
    repeat: int = 1

    @property
    def raw_seconds(self) -> float:  # how long each raw Ed25519 measurement runs
        return 0.2 if self.quick else 1.0


@dataclass(frozen=True)
class Ratio:
    """One row of the table: ours against a baseline measured in the same run.

    ``ratio`` is ``ours / baseline`` of the quantity in ``unit``; ``better``
    says which way is good (rates: higher; times: lower), ``target`` the
    ratio asked for, if any. ``peak_rss_mb`` is the peak resident memory of the
    process (or largest worker) that did our side's work; ``figures`` holds the
    row's other measured numbers (percentiles, reads per proof, ...).
    """

    benchmark: str
    backend: str
    size: int
    what: str
    ours: float
    baseline: float
    baseline_name: str
    unit: str
    better: str  # "higher" | "lower"
    peak_rss_mb: float
    target: float | None = None
    figures: Mapping[str, Figure] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        higher = self.better == "higher"
        return self.ratio >= self.target if higher else self.ratio <= self.target


@dataclass(frozen=True)
class Skipped:
    """A measurement not made, and why (a person can act on the reason)."""

    benchmark: str
    backend: str
    reason: str


@dataclass
class Section:
    """What one benchmark measured: its rows, what it skipped, its notes."""

    name: str
    rows: list[Ratio] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_T0 = perf_counter()


def progress(message: str) -> None:
    """Progress to stderr; the tables go to the output files."""
    print(f"[{perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """(seconds, result) of one call."""
    start = perf_counter()
    result = action()
    return perf_counter() - start, result


def best_of(repeat: int, *actions: Callable[[], object]) -> list[tuple[float, float]]:
    """Each action's (best seconds, peak RSS MB) over ``repeat`` rounds, alternating."""
    best = [(float("inf"), 0.0)] * len(actions)
    for _ in range(repeat):
        for i, action in enumerate(actions):
            with PeakMemory() as memory:
                seconds = timed(action)[0]
            best[i] = (min(best[i][0], seconds), max(best[i][1], memory.mb))
    return best


def percentile(values: list[float], fraction: float) -> float:  # nearest rank
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def without_query(url: str) -> str:
    """``url`` without its query (a database URL without ``?schema=``)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _status_kb(pid: int | str, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mb(pid: int | str = "self") -> float:
    """The peak RSS of a process in MB (``VmHWM``; else this one's ``ru_maxrss``)."""
    kb = _status_kb(pid, "VmHWM")
    if kb is None:
        kb = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return kb / 1024


class PeakMemory:
    """This process's peak RSS over a block (``VmHWM`` reset on entry where Linux lets
    ``/proc/self/clear_refs`` reset it; else the peak since the process started)."""

    def __init__(self) -> None:
        self.mb = 0.0

    def __enter__(self) -> PeakMemory:
        with suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
        return self

    def __exit__(self, *_: object) -> None:
        self.mb = peak_rss_mb()


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        detail = " ".join(str(exc).split()) or "no detail"
        return f"not reachable at {url} ({type(exc).__name__}: {detail})"
    return None


def create_schema(base_url: str, prefix: str) -> str:
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema


def drop_schema(base_url: str, schema: str) -> None:
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@contextmanager
def fresh_store(backend: str, home: Path, base_url: str) -> Iterator[Settings]:
    """Settings for a new store: a SQLite file in ``home`` or a new schema (dropped)."""
    if backend == SQLITE:
        yield Settings(home)
        return
    schema = create_schema(base_url, "bench")
    try:
        yield Settings(home, f"{base_url}?schema={schema}")
    finally:
        drop_schema(base_url, schema)


def backends(options: Options, section: Section) -> Iterator[str]:
    """The backends asked for that answer; the others are recorded as SKIPPED."""
    for backend in options.backends:
        problem = postgres_problem(options.database_url) if backend == POSTGRESQL else None
        if problem is None:
            yield backend
        else:
            section.skipped.append(Skipped(section.name, backend, problem))


def register_principals(
    ledger: Ledger,
    admin: KeyPair,
    principals: Sequence[tuple[KeyPair, str, str, str | None]],
    batch: int = 1000,
) -> None:
    """Register (key, name, role, member) principals, signed by the admin key."""
    statements = []
    for version, (key, name, role, member) in enumerate(principals, start=1):
        body: dict[str, Any] = {
            "principal": key.principal,
            "name": name,
            "role": role,
            "member": member,
        }
        body |= {"public_key": key.public_key, "approvals": []}
        kind = "principal.registered"
        statement = admin.statement(ledger.origin, "registry", kind, body, version)
        statements.append(admin.sign(statement))
    for first in range(0, len(statements), batch):
        ledger.record_batch(statements[first : first + batch])


Sample = list[tuple[bytes, bytes, bytes]]  # (public key, signature, signing input)


def verify_loaded(sample: Sample, rounds: int) -> int:
    """Raw verifies with each public key loaded once: the floor of the work."""
    keys = {raw: Ed25519PublicKey.from_public_bytes(raw) for raw, _, _ in sample}
    checks = [(keys[raw], signature, message) for raw, signature, message in sample]
    for _ in range(rounds):
        for key, signature, message in checks:
            key.verify(signature, message)
    return rounds * len(checks)


def verify_each(sample: Sample, rounds: int) -> int:
    """Raw verifies loading the public key for each one, as a signature job does."""
    for _ in range(rounds):
        for raw, signature, message in sample:
            Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    return rounds * len(sample)


def raw_rate(
    sample: Sample,
    verify: Callable[[Sample, int], int] = verify_loaded,
    seconds: float = 1.0,
) -> float:
    """Raw Ed25519 verifies per second on one core, best of three runs."""
    once, _ = timed(lambda: verify(sample, 1))
    rounds = max(1, int(seconds / max(once, 1e-6)))
    return max(
        rounds * len(sample) / timed(lambda: verify(sample, rounds))[0] for _ in "abc"
    )


def _pid(_: int) -> int:
    return os.getpid()


def pool_rate(sample: Sample, workers: int, seconds: float = 1.0) -> float:
    """Raw verifies per second that ``workers`` spawned processes reach together."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(_pid, range(workers * 4)))  # every worker started first
        once, _ = timed(lambda: verify_loaded(sample, 1))
        rounds = max(1, int(seconds / max(once, 1e-6)))
        best = 0.0
        for _ in range(2):
            start = perf_counter()
            jobs = [pool.submit(verify_loaded, sample, rounds) for _ in range(workers * 2)]
            count = sum(job.result() for job in jobs)
            best = max(best, count / (perf_counter() - start))
    return best


def key_sample(key: KeyPair, messages: list[bytes]) -> Sample:  # key signs messages
    public = key.private_key.public_key().public_bytes_raw()
    return [(public, key.private_key.sign(m), m) for m in messages]
