"""The integrity log at scale: integration rate, proof times and reads per proof.

In one run on a log of N entries (default 10^6) this measures:

* **integration**: ``Sequencer.integrate()`` over N - 1 committed but not yet
  integrated entries (the genesis entry is already in the log), in entries per
  second, against the raw SHA-256 rate of the same entries (the leaf hashes
  ``SHA-256(0x00 || entry)`` in a Python loop) and, for context, against
  building the whole RFC 6962 tree of those entries in memory;
* **proofs**: the median time of ``Sequencer.inclusion(i, N)`` and
  ``Sequencer.consistency(old, N)`` over random indexes and old sizes, against
  ``pymerkle`` building the same proofs from the same leaves: its ``SqliteTree``
  (leaves in a SQLite file, like ours in the ledger's database) with its
  subtree cache cold, then warm, and its ``InmemoryTree`` (every node in
  memory, no database);
* **reads per proof**: database queries and bytes read for each proof, next to
  log2(N).

The entries are synthetic 300-byte strings inserted straight into the events
table through the ``eventsourcing`` recorder: admission (statement parsing,
signature checks, domain rules) is bypassed on purpose, because this measures
the log, which hashes whatever bytes are stored. Every store is new: a
temporary SQLite file, or a new PostgreSQL schema that is dropped afterwards.

    python benchmarks/bench_log.py [--n 1000000] [--backend sqlite|postgresql]
        [--proofs 200] [--database-url URL] [--seed S]

Progress goes to stderr, the report to stdout. pymerkle is optional
(``pip install pymerkle``); without it the comparison is skipped. See
benchmarks/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from psycopg import sql

from ledger.home import init_ledger
from ledger.log_store import Cursor, LogStore
from ledger.persistence import Settings
from verify.merkle import (
    HASH_SIZE,
    Perfect,
    consistency_proof,
    inclusion_proof,
    memory_perfect,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "bench.pmm.example/log"
ENTRY_BYTES = 300
INSERT_BATCH = 10_000
STREAM_LENGTH = 1000  # synthetic stored events per originator id
TARGET_SPEEDUP = 10.0
PYMERKLE_MISSING = "the comparison with pymerkle is SKIPPED (pip install pymerkle)"
INCLUSION, CONSISTENCY = "inclusion", "consistency"
OURS = "ours"
PM_COLD, PM_WARM = "pymerkle SqliteTree cold", "pymerkle SqliteTree warm"
PM_MEMORY = "pymerkle InmemoryTree"
PM_SQLITE_TREES = (PM_COLD, PM_WARM)

_T0 = perf_counter()


def progress(message: str) -> None:
    print(f"[{perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def load_pymerkle() -> Any | None:
    """The pymerkle module (untyped, hence ``Any``), or None if not installed."""
    try:
        return importlib.import_module("pymerkle")
    except ImportError:
        return None


# -- the entries and the ledger holding them -----------------------------------


def make_entries(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(ENTRY_BYTES) for _ in range(count)]


def insert_entries(recorder: ApplicationRecorder, entries: Sequence[bytes]) -> None:
    """Store the entries as events in commit order, bypassing admission."""
    for first in range(0, len(entries), INSERT_BATCH):
        recorder.insert_events(
            [
                StoredEvent(
                    originator_id=f"bench/{i // STREAM_LENGTH}",
                    originator_version=i % STREAM_LENGTH,
                    topic="bench.synthetic",
                    state=entries[i],
                )
                for i in range(first, min(first + INSERT_BATCH, len(entries)))
            ]
        )
        if first and first % (20 * INSERT_BATCH) == 0:
            progress(f"  inserted {first:,} of {len(entries):,}")


@contextmanager
def fresh_store(backend: str, home: Path, base_url: str) -> Iterator[Settings]:
    """Settings for a new, empty store: a SQLite file in ``home`` or a new schema."""
    if backend == "sqlite":
        yield Settings(home)
        return
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield Settings(home, f"{base_url}?schema={schema}")
    finally:
        with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# -- counting what a proof reads ----------------------------------------------------


@dataclass
class Tally:
    queries: int = 0
    bytes_read: int = 0
    hashes: int = 0


def _value_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    return 8  # integers


class CountingCursor(Cursor):
    """A log cursor that counts statements, and bytes in the rows they return."""

    def __init__(self, inner: Cursor, tally: Tally) -> None:
        super().__init__(inner.raw, inner.qmark, inner.prefix)
        self.tally = tally

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.tally.queries += 1
        return super().execute(sql, params)

    def one(self) -> tuple[Any, ...] | None:
        row = super().one()
        self.tally.bytes_read += sum(map(_value_size, row or ()))
        return row

    def all(self) -> list[tuple[Any, ...]]:
        rows = super().all()
        self.tally.bytes_read += sum(_value_size(v) for row in rows for v in row)
        return rows


class CountingLogStore(LogStore):
    """The ledger's LogStore, counting every query, byte and subtree hash read."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.tally = Tally()
        super().__init__(recorder)

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with super().read() as cur:
            yield CountingCursor(cur, self.tally)

    @contextmanager
    def transaction(self, commit: bool) -> Iterator[Cursor]:
        with super().transaction(commit) as cur:
            yield CountingCursor(cur, self.tally)

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        found = super().nodes(keys)
        self.tally.hashes += len(found)
        return found


def count_pymerkle_reads(tree: Any) -> Tally:
    """Wrap a pymerkle SqliteTree's storage reads so they are counted."""
    tally = Tally()
    get_leaves, get_leaf, get_size = tree._get_leaves, tree._get_leaf, tree._get_size

    def leaves(offset: int, width: int) -> Any:
        found = get_leaves(offset, width)
        tally.queries += 1
        tally.hashes += len(found)
        tally.bytes_read += HASH_SIZE * len(found)
        return found

    def leaf(index: int) -> Any:
        tally.queries += 1
        tally.hashes += 1
        tally.bytes_read += HASH_SIZE
        return get_leaf(index)

    def size() -> Any:
        tally.queries += 1
        tally.bytes_read += 8
        return get_size()

    tree._get_leaves, tree._get_leaf, tree._get_size = leaves, leaf, size
    return tally


# -- measurements ------------------------------------------------------------------


def raw_leaf_rate(entries: Sequence[bytes]) -> float:
    """Leaf hashes SHA-256(0x00 || entry) per second: hashlib in a plain loop."""
    sha256 = hashlib.sha256
    start = perf_counter()
    hashes = [sha256(b"\x00" + entry).digest() for entry in entries]
    elapsed = perf_counter() - start
    assert len(hashes) == len(entries)
    return len(entries) / elapsed


def memory_tree(entries: Sequence[bytes]) -> tuple[float, list[bytes], Perfect]:
    """Entries per second for the whole RFC 6962 tree in memory (leaf hashes,
    then every perfect subtree); also the leaf hashes and the subtree getter,
    the reference every proof below is checked against."""
    sha256 = hashlib.sha256
    start = perf_counter()
    leaves = [sha256(b"\x00" + entry).digest() for entry in entries]
    perfect = memory_perfect(leaves)
    return len(entries) / (perf_counter() - start), leaves, perfect


@dataclass(frozen=True)
class Reference:
    """The tree of the same entries, built in memory: what proofs are checked against."""

    root: bytes
    leaves: list[bytes]
    perfect: Perfect


@dataclass
class ProofStats:
    """Per-proof times (seconds) and reads of one proof kind."""

    times: dict[str, list[float]] = field(default_factory=dict)
    reads: dict[str, list[Tally]] = field(default_factory=dict)  # per side
    identical: int = 0  # pymerkle's hash list equal to ours (after its leaf)
    ours_lengths: list[int] = field(default_factory=list)  # hashes per proof
    pm_lengths: list[int] = field(default_factory=list)
    count: int = 0


@dataclass
class Report:
    n: int
    backend: str
    proofs: int
    raw_rate: float = 0.0
    tree_rate: float = 0.0
    integrate_rate: float = 0.0
    insert_seconds: float = 0.0
    pymerkle_version: str | None = None
    pymerkle_build: dict[str, float] = field(default_factory=dict)
    warmed_subtrees: int = 0
    stats: dict[str, ProofStats] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = perf_counter()
    result = call()
    return perf_counter() - start, result


def run(args: argparse.Namespace, pymerkle: Any | None, report: Report) -> None:
    n, rng = args.n, random.Random(args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="pmm-bench-log-") as tmp,
        fresh_store(args.backend, Path(tmp) / "home", args.database_url) as settings,
    ):
        progress(f"init_ledger ({args.backend}) in {tmp}")
        ledger = init_ledger(settings, ORIGIN)
        try:
            genesis = ledger.sequencer.store.entries(0, 1)
            assert [i for i, _ in genesis] == [0] and ledger.log_size() == 1
            progress(f"making {n - 1:,} synthetic {ENTRY_BYTES}-byte entries")
            entries = [genesis[0][1], *make_entries(n - 1, args.seed)]

            report.raw_rate = raw_leaf_rate(entries)
            report.tree_rate, leaves, perfect = memory_tree(entries)
            root = tree_root(n, perfect)
            progress(
                f"raw SHA-256 leaf hashes {report.raw_rate:,.0f}/s, in-memory tree "
                f"{report.tree_rate:,.0f} entries/s"
            )

            progress(f"inserting {n - 1:,} stored events (not timed)")
            report.insert_seconds, _ = _timed(
                lambda: insert_entries(ledger.recorder, entries[1:])
            )
            progress(f"integrating {n - 1:,} entries (timed)")
            with ledger.writer.hold():
                elapsed, integrated = _timed(ledger.sequencer.integrate)
            if integrated.size != n:
                raise RuntimeError(f"log holds {integrated.size} entries, expected {n}")
            report.integrate_rate = (n - 1) / elapsed
            if ledger.sequencer.root(n) != root:
                raise RuntimeError("the ledger's root differs from the in-memory tree's")
            progress(f"integrated at {report.integrate_rate:,.0f} entries/s; root matches")

            # The baselines once more, after the integration: keep the best, so
            # a busy moment on the machine does not flatter the ratio.
            report.raw_rate = max(report.raw_rate, raw_leaf_rate(entries))
            report.tree_rate = max(report.tree_rate, memory_tree(entries)[0])

            trees: dict[str, Any] = {}
            if pymerkle is not None:
                report.pymerkle_version = package_version("pymerkle")
                progress("building pymerkle SqliteTree and InmemoryTree (not timed)")
                path = str(Path(tmp) / "pymerkle.sqlite")
                seconds, cold = _timed(lambda: pymerkle.SqliteTree(path))
                more, _ = _timed(lambda: cold.append_entries(entries))
                report.pymerkle_build["pymerkle SqliteTree"] = seconds + more
                report.pymerkle_build[PM_MEMORY], memory = _timed(
                    lambda: pymerkle.InmemoryTree.init_from_entries(entries)
                )
                # A second tree object on the same file, its subtree cache
                # filled before timing (as after a long run of proofs).
                warm = pymerkle.SqliteTree(path)
                trees = {PM_COLD: cold, PM_WARM: warm, PM_MEMORY: memory}
                for name, tree in trees.items():
                    if tree.get_size() != n or tree.get_root(n) != root:
                        raise RuntimeError(f"{name} does not hold the same tree")
                    progress(f"  {name}: same {n:,} leaves, same root")
                progress("filling pymerkle SqliteTree warm's subtree cache (not timed)")
                seconds, report.warmed_subtrees = _timed(lambda: warm_cache(warm, n))
                report.pymerkle_build[PM_WARM + " cache"] = seconds

            indexes = [rng.randrange(n) for _ in range(args.proofs)]
            olds = [rng.randrange(1, n) for _ in range(args.proofs)]
            reference = Reference(root, leaves, perfect)
            time_proofs(
                ledger.sequencer, trees, pymerkle, n, reference, indexes, olds, report
            )
            count_reads(ledger, n, indexes, olds, report)
            for name in PM_SQLITE_TREES:
                if name in trees:
                    trees[name].close()
        finally:
            ledger.close()


def warm_cache(tree: Any, n: int) -> int:
    """Fill a pymerkle SqliteTree's cache with every subtree root it caches.

    pymerkle caches the root of each perfect subtree of at least ``threshold``
    leaves it computes (an LRU of 1 GiB by default, far more than needed here);
    this computes all of them with its own ``_get_subroot``, widest last.
    """
    count, width = 0, 1
    while width < tree.threshold:
        width <<= 1
    while width <= n:
        for offset in range(0, n - width + 1, width):
            tree._get_subroot(offset, width)
            count += 1
        width <<= 1
    return count


def ours_call(sequencer: Any, kind: str, point: int, n: int) -> Callable[[], Any]:
    """Our proof for ``point`` (a leaf index, or an old size) in the tree of ``n``."""

    def inclusion() -> Any:
        return sequencer.inclusion(point, n).path

    def consistency() -> Any:
        return sequencer.consistency(point, n)

    return inclusion if kind == INCLUSION else consistency


def pymerkle_call(tree: Any, kind: str, point: int, n: int) -> Callable[[], Any]:
    """pymerkle's proof of the same (its leaf indexes count from one)."""

    def inclusion() -> Any:
        return tree.prove_inclusion(point + 1, n)

    def consistency() -> Any:
        return tree.prove_consistency(point, n)

    return inclusion if kind == INCLUSION else consistency


def time_proofs(
    sequencer: Any,
    trees: dict[str, Any],
    pymerkle: Any | None,
    n: int,
    ref: Reference,
    indexes: list[int],
    olds: list[int],
    report: Report,
) -> None:
    """Time every proof on each side, the sides in rotating order; check each."""
    tallies = {
        name: count_pymerkle_reads(trees[name]) for name in PM_SQLITE_TREES if name in trees
    }
    for kind, points in ((INCLUSION, indexes), (CONSISTENCY, olds)):
        stats = ProofStats(
            times={name: [] for name in (OURS, *trees)},
            reads={name: [] for name in (OURS, *tallies)},
        )
        report.stats[kind] = stats
        if PM_COLD in trees:
            trees[PM_COLD].cache_clear()  # cold for each kind alike
        progress(f"timing {len(points)} {kind} proofs in a tree of {n:,}")
        for count, point in enumerate(points):
            calls = [(OURS, ours_call(sequencer, kind, point, n))]
            calls += [
                (name, pymerkle_call(tree, kind, point, n)) for name, tree in trees.items()
            ]
            shift = count % len(calls)
            results: dict[str, Any] = {}
            before = {name: dataclasses.replace(t) for name, t in tallies.items()}
            for name, call in calls[shift:] + calls[:shift]:
                seconds, results[name] = _timed(call)
                stats.times[name].append(seconds)
            for name, tally in tallies.items():
                stats.reads[name].append(
                    Tally(
                        tally.queries - before[name].queries,
                        tally.bytes_read - before[name].bytes_read,
                        tally.hashes - before[name].hashes,
                    )
                )
            ours = list(results[OURS])
            # Ours is the RFC 9162 proof, equal to the one from the in-memory
            # tree of the same entries, and verifies against that tree's roots.
            if kind == INCLUSION:
                if ours != inclusion_proof(point, n, ref.perfect):
                    raise RuntimeError(f"inclusion proof for {point} differs")
                verify_inclusion(point, n, ref.leaves[point], ours, ref.root)
            else:
                if ours != consistency_proof(point, n, ref.perfect):
                    raise RuntimeError(f"consistency proof from {point} differs")
                verify_consistency(point, n, tree_root(point, ref.perfect), ref.root, ours)
            if trees:
                check_pymerkle(kind, point, n, ref, results, pymerkle)
                # pymerkle's inclusion path starts with the leaf hash itself.
                theirs = list(results[PM_COLD].path)
                stats.identical += (theirs[1:] if kind == INCLUSION else theirs) == ours
                stats.pm_lengths.append(len(theirs))
            stats.ours_lengths.append(len(ours))
            stats.count += 1
            if (count + 1) % 50 == 0:
                medians = ", ".join(
                    f"{name} {statistics.median(times) * 1e3:.3f} ms"
                    for name, times in stats.times.items()
                )
                progress(f"  {count + 1} {kind} proofs; medians so far: {medians}")


def check_pymerkle(
    kind: str,
    point: int,
    n: int,
    ref: Reference,
    results: dict[str, Any],
    pymerkle: Any,
) -> None:
    """All pymerkle trees gave the same proof, and it verifies against the
    roots of the in-memory RFC 6962 tree (so pymerkle proved the same thing)."""
    proof = results[PM_COLD]
    for name in (PM_WARM, PM_MEMORY):
        if list(proof.path) != list(results[name].path):
            raise RuntimeError(f"pymerkle's trees disagree on the {kind} proof")
    if kind == INCLUSION:
        pymerkle.verify_inclusion(
            ref.leaves[point], ref.root, proof, index=point + 1, size=n
        )
    else:
        old_root = tree_root(point, ref.perfect)
        pymerkle.verify_consistency(
            old_root, ref.root, proof, prior_size=point, later_size=n
        )


def count_reads(
    ledger: Any, n: int, indexes: list[int], olds: list[int], report: Report
) -> None:
    """Our reads per proof, in a separate pass with a counting store (what our
    proofs read depends on the index and sizes only: there is no cache)."""
    sequencer = ledger.sequencer
    counting = CountingLogStore(ledger.recorder)
    plain, sequencer.store = sequencer.store, counting
    try:
        for kind, points in ((INCLUSION, indexes), (CONSISTENCY, olds)):
            for point in points:
                counting.tally = Tally()
                if kind == INCLUSION:
                    sequencer.inclusion(point, n)
                else:
                    sequencer.consistency(point, n)
                report.stats[kind].reads[OURS].append(counting.tally)
    finally:
        sequencer.store = plain


# -- the report --------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f} ms"


def _spread(values: Sequence[int]) -> str:
    return f"{statistics.median(values):,.0f} / {max(values):,}"


def print_report(report: Report) -> None:
    n, log2n = report.n, math.log2(report.n)
    print()
    print(
        f"PMM integrity log benchmark: a log of N={n:,} entries on {report.backend}; "
        f"eventsourcing {package_version('eventsourcing')}, "
        + (f"pymerkle {report.pymerkle_version}, " if report.pymerkle_version else "")
        + f"Python {platform.python_version()}"
    )
    print(
        f"Entries: the genesis entry, then {n - 1:,} synthetic {ENTRY_BYTES}-byte "
        "entries inserted straight into the events table (admission and signature "
        "checks bypassed on purpose: this measures the log, not recording; "
        f"insertion took {report.insert_seconds:,.1f} s, not timed)."
    )
    print()
    print(f"Integration: Sequencer.integrate() over {n - 1:,} new entries, one call")
    header = f"{'what':<52} {'entries/s':>12} {'ratio to raw':>13}"
    print(header)
    print("-" * len(header))
    rows = [
        ("raw SHA-256 leaf hashes (hashlib, 0x00 || entry)", report.raw_rate),
        ("in-memory RFC 6962 tree (leaf + subtree hashes)", report.tree_rate),
        (f"Sequencer.integrate ({report.backend})", report.integrate_rate),
    ]
    for what, rate in rows:
        print(f"{what:<52} {rate:>12,.0f} {rate / report.raw_rate:>13.3f}")
    print(
        f"One integrated entry costs {report.raw_rate / report.integrate_rate:.1f} raw "
        "leaf hashes (reading the entry, hashing it into the tree, writing its leaf "
        "row and the subtree hashes it completes)."
    )

    print()
    names = [n_ for n_ in (OURS, PM_COLD, PM_WARM, PM_MEMORY) if n_ in _any_times(report)]
    labels = {
        OURS: f"ours ({report.backend})",
        PM_COLD: "SqliteTree cold",
        PM_WARM: "SqliteTree warm",
        PM_MEMORY: "InmemoryTree",
    }
    print(
        f"Proofs: median time over {report.proofs} random proofs each, tree size "
        f"N={n:,} in every column"
        + (
            f"; pymerkle {report.pymerkle_version} trees built once from the same "
            "entries (not timed); x = pymerkle's median / ours"
            if len(names) > 1
            else ""
        )
    )
    header = f"{'proof':<12} {labels[OURS]:>18}"
    for name in names[1:]:
        header += f" {labels[name]:>16} {'x':>6}"
    print(header)
    print("-" * len(header))
    for kind, stats in report.stats.items():
        ours = statistics.median(stats.times[OURS])
        line = f"{kind:<12} {_ms(ours):>18}"
        for name in names[1:]:
            theirs = statistics.median(stats.times[name])
            line += f" {_ms(theirs):>16} {theirs / ours:>5.1f}x"
        print(line)
    if len(names) > 1:
        print(
            "  SqliteTree cold: pymerkle's leaves in a SQLite file (like ours in the "
            "ledger's database); its subtree cache empty at each kind's first proof, "
            "filling as proofs go, so its median depends on --proofs."
        )
        print(
            "  SqliteTree warm: the same file through a second tree object whose cache "
            f"holds all {report.warmed_subtrees:,} subtree roots pymerkle caches "
            "(widths >= 128), as after a long run of proofs; it still hashes the "
            "narrower subtrees from stored leaves."
        )
        print("  InmemoryTree: every node a Python object in memory; no database read.")
        print(
            "  Every proof was checked: ours equals the RFC 9162 proof computed from an "
            "in-memory tree of the same entries and verifies (verify.merkle); "
            "pymerkle's verifies (pymerkle.verify_inclusion / verify_consistency) "
            "against the same leaf hash and roots, the same from all three trees."
        )
        for kind, stats in report.stats.items():
            lengths = (
                f"median {statistics.median(stats.ours_lengths):.0f} hashes (ours) and "
                f"{statistics.median(stats.pm_lengths):.0f} (pymerkle)"
            )
            if kind == INCLUSION:
                print(
                    f"  {kind}: pymerkle's path is ours with the leaf hash in front in "
                    f"{stats.identical}/{stats.count} proofs; {lengths}"
                )
            else:
                print(
                    f"  {kind}: pymerkle has its own layout (where RFC 9162 takes the "
                    "subtree right of the old size as one hash, pymerkle descends it to "
                    f"its first leaf), equal to ours in {stats.identical}/{stats.count} "
                    f"proofs; {lengths}"
                )
        for kind, stats in report.stats.items():
            slowest = ", ".join(
                f"{labels[name]} {_ms(max(stats.times[name]))}" for name in names
            )
            print(f"  slowest single {kind} proof: {slowest}")
        built = ", ".join(
            f"{name} {seconds:,.1f} s" for name, seconds in report.pymerkle_build.items()
        )
        print(f"  pymerkle set-up (not timed): {built}")
    else:
        print(f"pymerkle is not installed: {PYMERKLE_MISSING}")

    print()
    print(
        f"Reads per proof, median / max (log2 N = {log2n:.1f}): ours counted in a "
        "separate pass (what it reads depends on the index and sizes only)"
        + (
            "; pymerkle's during the timed pass (what it reads depends on its cache)"
            if len(names) > 1
            else ""
        )
    )
    header = (
        f"{'proof':<12} {'side':<18} {'queries':>9} {'hashes read':>19} {'bytes read':>23}"
    )
    print(header)
    print("-" * len(header))
    for kind, stats in report.stats.items():
        for name, tallies in stats.reads.items():
            print(
                f"{kind:<12} {labels[name]:<18} "
                f"{_spread([t.queries for t in tallies]):>9} "
                f"{_spread([t.hashes for t in tallies]):>19} "
                f"{_spread([t.bytes_read for t in tallies]):>23}"
            )
    print(
        f"  (hashes are {HASH_SIZE} bytes; ours: subtree hashes, and the bytes include "
        "the signed checkpoint note an inclusion receipt carries and the tree size a "
        "consistency proof checks; pymerkle: leaf hashes and its size queries)"
    )
    print(
        f"  (load average before {report.load_before[0]:.2f}, after "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs: compare ratios, not times)"
    )

    print()
    bound = 2 * n.bit_length()
    ours_reads = [t for stats in report.stats.values() for t in stats.reads[OURS]]
    worst_queries = max(t.queries for t in ours_reads)
    worst_hashes = max(t.hashes for t in ours_reads)
    logn = worst_hashes <= bound and worst_queries <= 2
    print(
        f"Target: proofs in O(log n) database reads: {'MET' if logn else 'NOT MET'} "
        f"(at most {worst_queries} queries and {worst_hashes} subtree hashes per proof; "
        f"bound 2 * bit_length(N) = {bound})"
    )
    verdicts = []
    for name in names[1:]:
        speedups = {
            kind: statistics.median(s.times[name]) / statistics.median(s.times[OURS])
            for kind, s in report.stats.items()
        }
        met = all(v >= TARGET_SPEEDUP for v in speedups.values())
        verdicts.append(
            f"vs {labels[name]} {'MET' if met else 'NOT MET'} ("
            + ", ".join(f"{kind} {v:.1f}x" for kind, v in speedups.items())
            + ")"
        )
    print(
        f"Target: proofs >= {TARGET_SPEEDUP:.0f}x faster than pymerkle at N={n:,}: "
        + ("; ".join(verdicts) if verdicts else "SKIPPED (pymerkle is not installed)")
    )


def _any_times(report: Report) -> set[str]:
    return {name for stats in report.stats.values() for name in stats.times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Integrity log: integration rate, proof times, reads per proof."
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="entries in the log")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database for the new schema (default {DEFAULT_PG_URL})",
    )
    parser.add_argument("--proofs", type=int, default=200, help="proofs of each kind")
    parser.add_argument("--seed", type=int, default=6962, help="entries and proof points")
    args = parser.parse_args(argv)
    if args.n < 2 or args.proofs < 1:
        parser.error("--n must be at least 2 and --proofs at least 1")
    args.database_url = _without_query(args.database_url)

    pymerkle = load_pymerkle()
    if pymerkle is None:
        print(f"pymerkle is not installed: {PYMERKLE_MISSING}", file=sys.stderr)
    if args.backend == "postgresql":
        try:
            psycopg.connect(args.database_url, autocommit=True, connect_timeout=5).close()
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split())
            print(f"PostgreSQL is not reachable at {args.database_url}: {detail}")
            return 2
    report = Report(args.n, args.backend, args.proofs, load_before=os.getloadavg())
    run(args, pymerkle, report)
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
