"""The log as tlog-tiles: ``pmm export`` of N entries, serving the tiles, and what a
client fetches for one inclusion proof.

The log is the ``recording`` benchmark's workload (``benchmarks.recording``): N
signed ``value.submitted`` statements recorded through ``Ledger.record_batch``, 50
a transaction, after the set-up's entries (untimed), so the entries are the size
a real log's are.

* **export**: ``ledger.export.export`` (what ``pmm export`` calls) into a new
  folder, in entries/s, against a **plain read** of the same entries
  (``LogStore.entries``, 5,000 a chunk, bytes only), alternating. Figures: hash
  tiles and their bytes per entry, entry bundles' bytes per entry.
* **serving**: ``benchmarks.tiles_serve``, ``pmm serve`` against the exported
  files under Starlette ``StaticFiles``.
* **one inclusion proof from tiles** (``benchmarks.tiles_layout``): the tiles
  and bytes a client fetches, median and max over sampled leaves, against the
  bytes of the bare RFC 9162 audit path (32 a hash), beside log2(N); at N read
  from the exported files, each proof checked against the in-memory tree's; at
  10^6 from the tile layout alone (stated in the row).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from benchmarks.common import (
    Options,
    PeakMemory,
    Ratio,
    Section,
    backends,
    best_of,
    fresh_store,
    progress,
)
from benchmarks.recording import BATCH, plan_workload, prepare_ledger, presign
from benchmarks.tiles_layout import HASH, ProofCost, proof_cost, sample_indexes
from benchmarks.tiles_serve import measure_serving
from ledger.export import export
from ledger.log_store import LogStore
from verify.merkle.tree import Perfect, inclusion_proof, leaf_hash, memory_perfect

NAME = "tiles"
DEFAULT_SIZE, QUICK_SIZE = 100_000, 5_000
MILLION = 1_000_000
READ_CHUNK = 5000
SAMPLES, QUICK_SAMPLES = 1000, 200
REQUESTS, QUICK_REQUESTS = 3000, 300  # per serving measurement


def plain_read(store: LogStore, size: int) -> int:
    """Every entry's bytes, 5,000 a query; the bytes read."""
    total = 0
    for start in range(0, size, READ_CHUNK):
        total += sum(
            len(raw) for _, raw in store.entries(start, min(size, start + READ_CHUNK))
        )
    return total


def _folder_bytes(folder: Path, entries: bool) -> tuple[int, int]:
    """(files, bytes) of the hash tiles (or the entry bundles) under ``folder/tile``."""
    files = [
        p
        for p in (folder / "tile").rglob("*")
        if p.is_file() and (p.relative_to(folder / "tile").parts[0] == "entries") == entries
    ]
    return len(files), sum(p.stat().st_size for p in files)


def proof_row(
    backend: str, size: int, cost: ProofCost, what: str, checked: str, mb: float
) -> Ratio:
    figures: dict[str, float | int | str] = {
        "log2(N)": math.log2(cost.size),
        "audit path hashes (max)": cost.path_hashes_max,
        "tiles fetched (median)": cost.tiles_median,
        "tiles fetched (max)": cost.tiles_max,
        "bytes fetched (max)": cost.bytes_max,
        "sampled leaves": cost.samples,
        "proofs built from the tiles": checked,
    }
    return Ratio(
        *(NAME, backend, size, what, cost.bytes_median, HASH * cost.path_hashes_max),
        baseline_name="bare audit path bytes (32 a hash)",
        unit="bytes a proof",
        better="lower",
        peak_rss_mb=mb,
        figures=figures,
    )


def measure(backend: str, options: Options, size: int, section: Section, tmp: Path) -> None:
    with fresh_store(backend, tmp / "home", options.database_url) as settings:
        ledger, secretariat = prepare_ledger(settings, plans := plan_workload(size))
        try:
            progress(f"{NAME} {backend}: recording {size:,} statements (untimed)")
            for statements in presign(secretariat, plans):
                ledger.record_batch(statements)
            entries = ledger.log_size()
            store = ledger.sequencer.store
            outs = iter(tmp / f"export-{n}" for n in range(2 * options.repeat + 1))
            (export_s, export_mb), (read_s, read_mb) = best_of(
                options.repeat,
                lambda: export(ledger, next(outs)),
                lambda: plain_read(store, entries),
            )
            out = tmp / "export-0"
            tiles, tile_bytes = _folder_bytes(out, entries=False)
            bundles, bundle_bytes = _folder_bytes(out, entries=True)
            section.rows.append(
                Ratio(
                    *(NAME, backend, size, "export (ledger.export, as pmm export)"),
                    *(entries / export_s, entries / read_s),
                    baseline_name=f"plain read (store.entries, {READ_CHUNK:,} a chunk)",
                    unit="entries/s",
                    better="higher",
                    peak_rss_mb=export_mb,
                    figures={
                        "log entries": entries,
                        "hash tiles": tiles,
                        "hash tile bytes per entry": tile_bytes / entries,
                        "entry bundles": bundles,
                        "entry bundle bytes per entry": bundle_bytes / entries,
                        "plain read bytes per entry": plain_read(store, entries) / entries,
                        "plain read peak RSS MB": read_mb,
                    },
                )
            )
            progress(f"{NAME} {backend}: export {entries / export_s:,.0f} entries/s")
            leaves = [leaf_hash(raw) for _, raw in store.entries(0, entries)]
        finally:
            ledger.close()
        perfect: Perfect = memory_perfect(leaves)

        def check(index: int, proof: list[bytes]) -> None:
            if proof != inclusion_proof(index, entries, perfect):
                raise RuntimeError(f"the tiles' proof of leaf {index} is not the tree's")

        samples = QUICK_SAMPLES if options.quick else SAMPLES
        with PeakMemory() as memory:
            cost = proof_cost(entries, sample_indexes(entries, samples), out, check)
        what = f"one inclusion proof from the exported tiles, {entries:,} entries"
        equal = f"{cost.samples:,} equal to the in-memory tree's"
        section.rows.append(proof_row(backend, size, cost, what, equal, memory.mb))
        requests = QUICK_REQUESTS if options.quick else REQUESTS
        progress(f"{NAME} {backend}: serving tiles, {requests:,} requests a measurement")
        section.rows += measure_serving(backend, options, settings, out, requests, size)


def run(options: Options, size: int) -> Section:
    section = Section(NAME)
    for backend in backends(options, section):
        with tempfile.TemporaryDirectory(prefix=f"pmm-bench-tiles-{backend}-") as tmp:
            measure(backend, options, size, section, Path(tmp))
    samples = QUICK_SAMPLES if options.quick else SAMPLES
    with PeakMemory() as memory:
        cost = proof_cost(MILLION, sample_indexes(MILLION, samples))
    what = f"one inclusion proof from tiles at {MILLION:,} entries (from the tile layout)"
    section.rows.append(proof_row("files", size, cost, what, "layout only", memory.mb))
    section.notes.append(
        f"a proof's tiles are those the audit path's perfect subtrees lie in "
        f"(height h in hash tile level h // 8); bytes are 32 a hash of each tile's width, "
        f"the checkpoint not counted; {BATCH} statements a record_batch built the log"
    )
    return section
