"""``python -m benchmarks`` at a tiny size: every benchmark runs and writes one JSON
file and one Markdown table whose ratios are positive numbers. No timing is
asserted: performance is shown by the benchmarks themselves."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import BENCHMARKS
from benchmarks.common import Ratio

ROOT = Path(__file__).resolve().parents[1]
ABSENT_POSTGRES = "postgresql://postgres@127.0.0.1:9/absent"  # nothing listens on 9


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
    done = _command(
        *("--quick", "--size", "300", "--backend", "both"),
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
    assert list(sections) == list(BENCHMARKS)
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
