"""Proofs of the integrity log against pymerkle, and what each proof reads.

``Sequencer.inclusion(i, N)`` and ``Sequencer.consistency(old, N)`` for random
points, against pymerkle building the same proofs from the same entries: its
``SqliteTree`` with the subtree cache cold (cleared before each proof kind),
warm (a second tree object on the same file, its cache filled with every
subtree root pymerkle caches), and its ``InmemoryTree``. The sides are timed in
rotating order; every proof is checked untimed: ours equals the RFC 9162 proof
of the in-memory tree and verifies with ``verify.merkle.tree``; pymerkle's verifies
with its own functions against the same leaf hash and roots. Reads per proof:
ours counted in a separate pass through a counting ``LogStore``, pymerkle's
storage reads during the timed pass (they depend on its cache).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import timed
from ledger.dialect import Dialect
from ledger.log_store import Cursor, LogStore
from verify.merkle.tree import (
    HASH_SIZE,
    Perfect,
    consistency_proof,
    inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

INCLUSION, CONSISTENCY = "inclusion", "consistency"
OURS = "ours"
PM_COLD, PM_WARM, PM_MEMORY = "SqliteTree cold", "SqliteTree warm", "InmemoryTree"
PM_SQLITE_TREES = (PM_COLD, PM_WARM)


@dataclass
class Tally:
    queries: int = 0
    bytes_read: int = 0
    hashes: int = 0


@dataclass(frozen=True)
class Reference:
    """The tree of the same entries, built in memory: what proofs are checked against."""

    root: bytes
    leaves: list[bytes]
    perfect: Perfect


@dataclass
class ProofStats:
    """Per-proof times (seconds) and reads of one proof kind, per side."""

    times: dict[str, list[float]] = field(default_factory=dict)
    reads: dict[str, list[Tally]] = field(default_factory=dict)
    identical: int = 0  # pymerkle's hash list equal to ours (after its leaf)
    count: int = 0


def _value_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    return len(value.encode()) if isinstance(value, str) else 8


class CountingCursor(Cursor):
    """A log cursor that counts statements, and bytes in the rows they return."""

    def __init__(self, inner: Cursor, tally: Tally) -> None:
        super().__init__(inner.raw, inner.dialect, inner.prefix)
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

    def __init__(self, recorder: Any, dialect: Dialect) -> None:
        self.tally = Tally()
        super().__init__(recorder, dialect)

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
        tally.queries, tally.hashes = tally.queries + 1, tally.hashes + len(found)
        tally.bytes_read += HASH_SIZE * len(found)
        return found

    def leaf(index: int) -> Any:
        tally.queries, tally.hashes = tally.queries + 1, tally.hashes + 1
        tally.bytes_read += HASH_SIZE
        return get_leaf(index)

    def size() -> Any:
        tally.queries, tally.bytes_read = tally.queries + 1, tally.bytes_read + 8
        return get_size()

    tree._get_leaves, tree._get_leaf, tree._get_size = leaves, leaf, size
    return tally


def warm_cache(tree: Any, n: int) -> int:
    """Fill a SqliteTree's cache with every subtree root it caches (widths from its
    ``threshold`` up), with its own ``_get_subroot``; how many."""
    count, width = 0, 1
    while width < tree.threshold:
        width <<= 1
    while width <= n:
        for offset in range(0, n - width + 1, width):
            tree._get_subroot(offset, width)
            count += 1
        width <<= 1
    return count


def _ours(sequencer: Any, kind: str, point: int, n: int) -> Callable[[], Any]:
    if kind == INCLUSION:
        return lambda: sequencer.inclusion(point, n).path
    return lambda: sequencer.consistency(point, n)


def _theirs(tree: Any, kind: str, point: int, n: int) -> Callable[[], Any]:
    if kind == INCLUSION:  # pymerkle's leaf indexes count from one
        return lambda: tree.prove_inclusion(point + 1, n)
    return lambda: tree.prove_consistency(point, n)


def check(kind: str, point: int, n: int, ref: Reference, results: dict[str, Any]) -> None:
    """Ours is the RFC 9162 proof of the in-memory tree and verifies against it."""
    ours = list(results[OURS])
    if kind == INCLUSION:
        if ours != inclusion_proof(point, n, ref.perfect):
            raise RuntimeError(f"the inclusion proof for {point} differs")
        verify_inclusion(point, n, ref.leaves[point], ours, ref.root)
    else:
        if ours != consistency_proof(point, n, ref.perfect):
            raise RuntimeError(f"the consistency proof from {point} differs")
        verify_consistency(point, n, tree_root(point, ref.perfect), ref.root, ours)


def check_pymerkle(
    kind: str, point: int, n: int, ref: Reference, results: dict[str, Any], pymerkle: Any
) -> None:
    """Every pymerkle tree gave the same proof, and it verifies against the roots of
    the in-memory RFC 6962 tree (so pymerkle proved the same thing)."""
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


def time_proofs(
    sequencer: Any,
    trees: dict[str, Any],
    pymerkle: Any | None,
    n: int,
    ref: Reference,
    points: dict[str, list[int]],
) -> dict[str, ProofStats]:
    """Time every proof on each side, the sides in rotating order; check each."""
    tallies = {
        name: count_pymerkle_reads(trees[name]) for name in PM_SQLITE_TREES if name in trees
    }
    found: dict[str, ProofStats] = {}
    for kind, kind_points in points.items():
        stats = ProofStats(
            {name: [] for name in (OURS, *trees)}, {name: [] for name in tallies}
        )
        found[kind] = stats
        if PM_COLD in trees:
            trees[PM_COLD].cache_clear()  # cold for each kind alike
        for count, point in enumerate(kind_points):
            calls = [(OURS, _ours(sequencer, kind, point, n))]
            calls += [(name, _theirs(tree, kind, point, n)) for name, tree in trees.items()]
            shift = count % len(calls)
            results: dict[str, Any] = {}
            before = {name: dataclasses.replace(t) for name, t in tallies.items()}
            for name, call in calls[shift:] + calls[:shift]:
                seconds, results[name] = timed(call)
                stats.times[name].append(seconds)
            for name, t in tallies.items():
                was = before[name]
                stats.reads[name].append(
                    Tally(
                        t.queries - was.queries,
                        t.bytes_read - was.bytes_read,
                        t.hashes - was.hashes,
                    )
                )
            check(kind, point, n, ref, results)
            if trees:
                check_pymerkle(kind, point, n, ref, results, pymerkle)
                theirs = list(results[PM_COLD].path)  # inclusion: the leaf hash first
                ours = list(results[OURS])
                stats.identical += (theirs[1:] if kind == INCLUSION else theirs) == ours
            stats.count += 1
    return found


def count_reads(
    sequencer: Any, recorder: Any, n: int, points: dict[str, list[int]]
) -> dict[str, list[Tally]]:
    """Our reads per proof, in a separate pass with a counting store (what our proofs
    read depends on the index and sizes only: there is no cache)."""
    counting = CountingLogStore(recorder, sequencer.store.dialect)
    plain, sequencer.store = sequencer.store, counting
    reads: dict[str, list[Tally]] = {}
    try:
        for kind, kind_points in points.items():
            reads[kind] = []
            for point in kind_points:
                counting.tally = Tally()
                _ours(sequencer, kind, point, n)()
                reads[kind].append(counting.tally)
    finally:
        sequencer.store = plain
    return reads
