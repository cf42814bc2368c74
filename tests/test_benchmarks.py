"""``python -m benchmarks`` at a tiny size: every benchmark runs and writes one JSON
file and one Markdown table whose ratios are positive numbers. No timing is
asserted: performance is shown by the benchmarks themselves."""

from __future__ import annotations

import ast
import json
import math
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import BENCHMARKS
from benchmarks.common import Ratio, free_port, without_query
from benchmarks.tiles_layout import TileReader, proof_cost
from verify.merkle.tree import inclusion_proof

ROOT = Path(__file__).resolve().parents[1]
ABSENT_POSTGRES = "postgresql://postgres@127.0.0.1:9/absent"  # nothing listens on 9
# Run apart below, at a smaller size: witnesses, tiles and a private standby.
SCALING = ("witness", "tiles", "standby")
# Each benchmark module has its own entry points by these names, by design.
SHARED_NAMES = {"run", "measure", "main"}


def _command(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_every_benchmark_writes_positive_ratios_and_skips_an_absent_postgres(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    others = [name for name in BENCHMARKS if name not in SCALING]
    done = _command(
        *("--quick", "--size", "300", "--backend", "both", "--only", ",".join(others)),
        *("--database-url", ABSENT_POSTGRES),
        *("--out", str(out), "--cache", str(tmp_path / "cache")),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads((out / "benchmarks.json").read_text())
    assert document["format"] == "pmm-benchmarks/1"
    machine = document["machine"]
    assert machine["cores"] >= 1 and machine["python"] and machine["sqlite"]
    assert str(machine["postgresql"]).startswith("not reachable")
    sections = {section["name"]: section for section in document["benchmarks"]}
    assert list(sections) == others
    markdown = (out / "benchmarks.md").read_text()
    for name, section in sections.items():
        assert section["rows"], f"{name} measured nothing"
        for row in section["rows"]:
            assert row["benchmark"] == name and row["backend"] in ("sqlite", "files")
            for key in ("ours", "baseline", "ratio", "peak_rss_mb"):
                assert isinstance(row[key], float | int) and math.isfinite(row[key]), row
                assert row[key] > 0, (key, row)
            assert math.isclose(row["ratio"], row["ours"] / row["baseline"])
            assert row["better"] in ("higher", "lower") and row["unit"]
            assert f"| {name} | {row['backend']} | 300 | {row['what']} |" in markdown
        if name != "verify":  # the verifier reads files: no database to skip
            skipped = [s for s in section["skipped"] if s["backend"] == "postgresql"]
            assert skipped and "not reachable" in skipped[0]["reason"], section["skipped"]
    integrate = sections["log"]["rows"][0]
    assert integrate["what"].startswith("Sequencer.integrate")
    assert "raw leaf hashes per integrated entry" in integrate["figures"]
    recording = sections["recording"]["rows"]
    assert {r["target"] for r in recording} == {None, 0.7}
    assert all("verifies per statement" in r["figures"] for r in recording)
    http_reads = sections["http"]["rows"][0]
    assert {"p50 ms", "p99 ms"} <= set(http_reads["figures"])


def test_the_scaling_benchmarks_check_what_they_time(tmp_path: Path) -> None:
    """witness, tiles and standby at 60 statements: the quorum met on every write,
    the tiles equal to the export, the standby synchronous (or skipped, why)."""
    out = tmp_path / "out"
    done = _command(
        *("--quick", "--size", "60", "--backend", "both", "--only", ",".join(SCALING)),
        *("--database-url", ABSENT_POSTGRES, "--out", str(out)),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads((out / "benchmarks.json").read_text())
    sections = {section["name"]: section for section in document["benchmarks"]}
    assert list(sections) == list(SCALING)
    for name, section in sections.items():
        for row in section["rows"]:
            for key in ("ours", "baseline", "ratio", "peak_rss_mb"):
                assert isinstance(row[key], float | int) and math.isfinite(row[key]), row
                assert row[key] > 0, (key, row)
        if name != "standby":  # the standby is a private server, not --database-url
            skipped = [s for s in section["skipped"] if s["backend"] == "postgresql"]
            assert skipped and "not reachable" in skipped[0]["reason"], section["skipped"]
    _witness_rows_met_their_quorum(sections["witness"]["rows"], 60)
    _tiles_rows_were_checked(sections["tiles"]["rows"])
    standby = sections["standby"]
    if not standby["rows"]:
        [skipped] = standby["skipped"]
        assert "no PostgreSQL server tools" in skipped["reason"], skipped
        return
    recording, batched, lag_async, lag_sync = standby["rows"]
    for row in (recording, batched):
        assert row["figures"]["sync_state measured"] == "sync"
        assert row["figures"]["sync_state baseline"] == "async"
    assert (lag_async["figures"]["sync_state"], lag_sync["figures"]["sync_state"]) == (
        "async",
        "sync",
    )


def _witness_rows_met_their_quorum(rows: list[dict[str, Any]], size: int) -> None:
    assert [r["what"].rsplit(", ", 1)[1] for r in rows] == [
        *("0 witnesses", "1 witness", "3 witnesses"),
    ] * 2
    for row in rows:
        figures = row["figures"]
        if row["what"].endswith("0 witnesses"):
            assert figures["writes whose round met the quorum"] == "no round (quorum none)"
            continue
        writes = figures["writes"]  # a statement each, or batches of 50
        assert writes in (size, -(-size // 50)), figures
        assert figures["writes whose round met the quorum"] == f"{writes} of {writes}"
        assert "first refusal" not in figures, figures


def _tiles_rows_were_checked(rows: list[dict[str, Any]]) -> None:
    export, proof, served, checkpoint, million = rows
    assert export["what"].startswith("export") and export["unit"] == "entries/s"
    assert export["figures"]["hash tile bytes per entry"] >= 32  # 32 a leaf, and above
    assert export["figures"]["entry bundle bytes per entry"] > 2  # length + bytes
    assert proof["figures"]["proofs built from the tiles"].endswith(
        "equal to the in-memory tree's"
    )
    for row in (served, checkpoint):
        assert row["figures"]["answers equal the exported files"].endswith("ok")
        assert row["figures"]["errors"] == row["figures"]["static errors"] == 0
    assert "1,000,000 entries (from the tile layout)" in million["what"]
    assert million["figures"]["audit path hashes (max)"] == 20  # ceil(log2 10^6)


@pytest.mark.parametrize(
    ("size", "index", "tiles"),
    [
        (1, 0, set()),  # the entry is the root: nothing to fetch
        (256, 255, {(0, 0, 256)}),
        (257, 0, {(0, 0, 256), (0, 1, 1)}),  # the right edge's partial tile
        (257, 256, {(1, 0, 1)}),  # one sibling: the first 256 leaves' root
        (65_536, 65_535, {(0, 255, 256), (1, 0, 256)}),
        (65_537, 0, {(0, 0, 256), (0, 256, 1), (1, 0, 256)}),
        (
            1_000_000,
            0,
            {(0, 0, 256), (0, 3906, 64), (1, 0, 256), (1, 15, 66), (2, 0, 15)},
        ),
    ],
)
def test_an_inclusion_proof_opens_the_tiles_the_layout_says(
    size: int, index: int, tiles: set[tuple[int, int, int]]
) -> None:
    # (level, tile index, width): the leaf's tile at each level below the
    # root's, and the partial tiles of the tree's right edge, each once.
    reader = TileReader(size)
    assert len(inclusion_proof(index, size, reader)) <= (size - 1).bit_length()
    assert reader.opened == tiles
    cost = proof_cost(size, [index])
    assert cost.tiles_max == len(tiles)
    assert cost.bytes_max == sum(32 * width for _, _, width in tiles)


def test_a_tile_reader_refuses_a_subtree_outside_the_tree() -> None:
    reader = TileReader(300)
    with pytest.raises(IndexError, match="no complete subtree"):
        reader(8, 1)  # leaves 256..511 of a 300-leaf tree
    with pytest.raises(ValueError, match="not in a tree of size 300"):
        proof_cost(300, [300])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--only", "verify,nonsense"), "unknown benchmark nonsense"),
        (("--size", "0"), "--size and --repeat must be at least 1"),
        (("--repeat", "-1"), "--size and --repeat must be at least 1"),
    ],
    ids=["unknown-benchmark", "size-zero", "negative-repeat"],
)
def test_hostile_options_are_refused_with_the_reason(
    args: tuple[str, ...], message: str
) -> None:
    done = _command(*args, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def _ratio(ours: float, baseline: float, better: str, target: float | None) -> Ratio:
    return Ratio("b", "sqlite", 1, "w", ours, baseline, "base", "u", better, 1.0, target)


def test_a_ratio_meets_its_target_in_the_direction_that_is_better() -> None:
    assert _ratio(8, 10, "higher", 0.7).met is True
    assert _ratio(6, 10, "higher", 0.7).met is False
    assert _ratio(2, 1, "lower", 3.0).met is True
    assert _ratio(4, 1, "lower", 3.0).met is False
    assert _ratio(4, 1, "lower", None).met is None


def test_no_benchmark_module_defines_a_helper_another_one_defines() -> None:
    """Shared helpers live once, in benchmarks/common.py or http_client.py: a
    second top-level function of the same name is a copy that will drift."""
    seen: dict[str, str] = {}
    copies = []
    for module in sorted((ROOT / "benchmarks").glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name in SHARED_NAMES:
                continue
            if node.name in seen:
                copies.append(f"{node.name} in {seen[node.name]} and {module.name}")
            seen.setdefault(node.name, module.name)
    assert copies == [], copies


def test_the_shared_url_and_port_helpers() -> None:
    assert without_query("postgresql://u@h:5/db?schema=s") == "postgresql://u@h:5/db"
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free: nothing is bound to it
