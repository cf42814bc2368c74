"""The integrity log at N entries (default 10^6): integration, proofs, reads.

``init_ledger`` in a new store, then N - 1 synthetic 300-byte entries stored as
events straight through the ``eventsourcing`` recorder (``insert_events``, not
timed): admission is bypassed on purpose, this measures the log, which hashes
whatever bytes are stored.

* **integrate**: one ``Sequencer.integrate()`` over the N - 1 new entries, under
  the writer lock, in entries per second, against raw SHA-256 leaf hashes
  (``hashlib.sha256(0x00 || entry)`` in a loop) of the same entries; the whole
  tree in memory (``verify.merkle.tree.memory_perfect``) is the figure beside it. The
  ledger's root must equal the in-memory tree's.
* **proofs** against pymerkle and **reads per proof**: ``benchmarks.log_proofs``.
"""

from __future__ import annotations

import hashlib
import importlib
import random
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from benchmarks.common import (
    Options,
    PeakMemory,
    Ratio,
    Section,
    Skipped,
    backends,
    fresh_store,
    progress,
    timed,
)
from benchmarks.log_proofs import (
    OURS,
    PM_COLD,
    PM_MEMORY,
    PM_SQLITE_TREES,
    PM_WARM,
    Reference,
    Tally,
    count_reads,
    time_proofs,
    warm_cache,
)
from ledger.home import init_ledger
from verify.merkle.tree import memory_perfect, tree_root

NAME = "log"
DEFAULT_SIZE, QUICK_SIZE = 1_000_000, 20_000
PROOFS, QUICK_PROOFS = 200, 50
ORIGIN = "bench.pmm.example/log"
ENTRY_BYTES, INSERT_BATCH, STREAM_LENGTH = 300, 10_000, 1000
SEED = 6962
TARGET_SPEEDUP = 10.0
PYMERKLE_MISSING = (
    "pymerkle is not installed: the proofs' baseline is missing; "
    "install it with: pip install -e '.[bench]'"
)


def load_pymerkle() -> Any | None:
    """The pymerkle module (untyped, hence ``Any``), or None if not installed."""
    try:
        return importlib.import_module("pymerkle")
    except ImportError:
        return None


def insert_entries(recorder: ApplicationRecorder, entries: Sequence[bytes]) -> None:
    """Store the entries as events in commit order, bypassing admission."""
    for first in range(0, len(entries), INSERT_BATCH):
        recorder.insert_events(
            [
                StoredEvent(
                    f"bench/{i // STREAM_LENGTH}", i % STREAM_LENGTH, "bench", entries[i]
                )
                for i in range(first, min(first + INSERT_BATCH, len(entries)))
            ]
        )


def raw_leaf_rate(entries: Sequence[bytes]) -> float:
    """Leaf hashes SHA-256(0x00 || entry) per second: hashlib in a plain loop."""
    sha256 = hashlib.sha256
    seconds, hashes = timed(lambda: [sha256(b"\x00" + entry).digest() for entry in entries])
    assert len(hashes) == len(entries)
    return len(entries) / seconds


def memory_tree(entries: Sequence[bytes]) -> tuple[float, Reference]:
    """Entries per second for the whole RFC 6962 tree in memory; and that tree."""
    sha256 = hashlib.sha256

    def build() -> tuple[list[bytes], Any]:
        leaves = [sha256(b"\x00" + entry).digest() for entry in entries]
        return leaves, memory_perfect(leaves)

    seconds, (leaves, perfect) = timed(build)
    return len(entries) / seconds, Reference(
        tree_root(len(entries), perfect), leaves, perfect
    )


def pymerkle_trees(
    pymerkle: Any, folder: Path, entries: list[bytes], ref: Reference
) -> dict[str, Any]:
    """pymerkle's three trees of the same entries (built untimed), same root checked."""
    path = str(folder / "pymerkle.sqlite")
    cold = pymerkle.SqliteTree(path)
    cold.append_entries(entries)
    trees = {PM_COLD: cold, PM_WARM: pymerkle.SqliteTree(path)}
    trees[PM_MEMORY] = pymerkle.InmemoryTree.init_from_entries(entries)
    for name, tree in trees.items():
        if tree.get_size() != len(entries) or tree.get_root(len(entries)) != ref.root:
            raise RuntimeError(f"pymerkle {name} does not hold the same tree")
    warm_cache(trees[PM_WARM], len(entries))
    return trees


def _spread(tallies: list[Tally], what: str) -> str:
    values = [getattr(t, what) for t in tallies]
    return f"{statistics.median(values):,.0f} / {max(values):,}"


def measure(
    backend: str, options: Options, n: int, pymerkle: Any | None, section: Section
) -> None:
    rng = random.Random(SEED)
    proofs = QUICK_PROOFS if options.quick else PROOFS
    with (
        tempfile.TemporaryDirectory(prefix="pmm-bench-log-") as tmp,
        fresh_store(backend, Path(tmp) / "home", options.database_url) as settings,
    ):
        ledger = init_ledger(settings, ORIGIN)
        try:
            genesis = ledger.sequencer.store.entries(0, 1)
            assert [i for i, _ in genesis] == [0] and ledger.log_size() == 1
            entries = [
                genesis[0][1],
                *(rng.randbytes(ENTRY_BYTES) for _ in range(n - 1)),
            ]
            raw = raw_leaf_rate(entries)
            tree_rate, ref = memory_tree(entries)
            progress(f"{NAME} {backend}: inserting {n - 1:,} stored events (untimed)")
            insert_entries(ledger.recorder, entries[1:])
            with ledger.writer.hold(), PeakMemory() as memory:
                seconds, integrated = timed(ledger.sequencer.integrate)
            if integrated.size != n or ledger.sequencer.root(n) != ref.root:
                raise RuntimeError("the ledger's log differs from the in-memory tree")
            raw = max(raw, raw_leaf_rate(entries))  # before and after: best kept
            tree_rate = max(tree_rate, memory_tree(entries)[0])
            rate = (n - 1) / seconds
            integration: dict[str, Any] = {
                "in-memory RFC 6962 tree entries/s": tree_rate,
                "in-memory tree / raw": tree_rate / raw,
                "raw leaf hashes per integrated entry": raw / rate,
            }
            section.rows.append(
                Ratio(
                    *(NAME, backend, n, "Sequencer.integrate, one call", rate, raw),
                    *("raw SHA-256 leaf hashes/s", "entries/s", "higher", memory.mb),
                    figures=integration,
                )
            )
            trees = (
                {}
                if pymerkle is None
                else pymerkle_trees(pymerkle, Path(tmp), entries, ref)
            )
            points = {
                "inclusion": [rng.randrange(n) for _ in range(proofs)],
                "consistency": [rng.randrange(1, n) for _ in range(proofs)],
            }
            progress(f"{NAME} {backend}: timing {proofs} proofs of each kind")
            with PeakMemory() as memory:
                stats = time_proofs(ledger.sequencer, trees, pymerkle, n, ref, points)
            reads = count_reads(ledger.sequencer, ledger.recorder, n, points)
            for name in PM_SQLITE_TREES:
                if name in trees:
                    trees[name].close()
        finally:
            ledger.close()
    bound = 2 * n.bit_length()
    for kind, kind_stats in stats.items():
        ours_ms = statistics.median(kind_stats.times[OURS]) * 1e3
        ours_reads: dict[str, Any] = {
            f"ours {what} per proof (median / max)": _spread(reads[kind], what)
            for what in ("queries", "hashes", "bytes_read")
        }
        worst = max(t.hashes for t in reads[kind]), max(t.queries for t in reads[kind])
        logn = "MET" if worst[0] <= bound and worst[1] <= 2 else "NOT MET"
        ours_reads["O(log n) reads: <= 2 queries and 2 * bit_length(N) hashes"] = (
            f"{logn} (at most {worst[1]} queries, {worst[0]} hashes; bound {bound})"
        )
        if not trees:
            section.notes.append(
                f"{backend} {kind}: ours median {ours_ms:.3f} ms; {ours_reads}"
            )
        for name in (PM_COLD, PM_WARM, PM_MEMORY):
            if name not in trees:
                continue
            theirs_ms = statistics.median(kind_stats.times[name]) * 1e3
            figures: dict[str, Any] = {
                "ours median ms": ours_ms,
                "pymerkle median ms": theirs_ms,
                "ours slowest ms": max(kind_stats.times[OURS]) * 1e3,
                "pymerkle slowest ms": max(kind_stats.times[name]) * 1e3,
                **(ours_reads if name == PM_COLD else {}),
            }
            if name in kind_stats.reads:
                for what in ("queries", "hashes", "bytes_read"):
                    figures[f"pymerkle {what} per proof"] = _spread(
                        kind_stats.reads[name], what
                    )
            figures["pymerkle path equal to ours"] = (
                f"{kind_stats.identical}/{kind_stats.count}"
            )
            section.rows.append(
                Ratio(
                    *(NAME, backend, n, f"{kind} proof vs pymerkle {name}"),
                    *(1e3 / ours_ms, 1e3 / theirs_ms, f"pymerkle {name} proofs/s"),
                    *("proofs/s (1 / median)", "higher", memory.mb),
                    target=TARGET_SPEEDUP,
                    figures=figures,
                )
            )


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    n = max(size, 2)
    pymerkle = load_pymerkle()
    if pymerkle is None:
        progress(PYMERKLE_MISSING)
    for backend in backends(options, section):
        if pymerkle is None:
            section.skipped.append(Skipped(NAME, backend, f"proofs: {PYMERKLE_MISSING}"))
        measure(backend, options, n, pymerkle, section)
    section.notes.append(
        "proofs' peak RSS is the process's, which also holds pymerkle's InmemoryTree "
        "and the in-memory reference tree"
    )
    return section
