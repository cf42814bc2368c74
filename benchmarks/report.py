"""The machine the benchmarks ran on, and the JSON and Markdown files of a run."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import Figure, Options, Ratio, Section

PACKAGES = ("eventsourcing", "cryptography", "psycopg", "fastapi", "uvicorn", "pymerkle")


def _version(package: str) -> str:
    try:
        return package_version(package)
    except PackageNotFoundError:
        return "not installed"


def machine(options: Options) -> dict[str, Figure]:
    """Cores, Python, the backends' and the packages' versions, the load."""
    found: dict[str, Figure] = {
        "cores": os.cpu_count() or 1,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        with psycopg.connect(options.database_url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            found["postgresql"] = str(row[0]) if row else "unknown"
    except psycopg.Error as exc:
        found["postgresql"] = f"not reachable ({type(exc).__name__})"
    found |= {package: _version(package) for package in PACKAGES}
    found["load_average_1min"] = round(os.getloadavg()[0], 2)
    return found


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3g}"


def _whole(value: int | str) -> str:
    return f"{value:,}" if isinstance(value, int) else value


def _row_json(row: Ratio) -> dict[str, Any]:
    return asdict(row) | {"ratio": row.ratio, "met": row.met}


def write_results(
    out: Path, about: dict[str, Any], sections: list[Section]
) -> tuple[Path, Path]:
    """``benchmarks.json`` and ``benchmarks.md`` in ``out``; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    document = about | {
        "benchmarks": [
            {
                "name": s.name,
                "rows": [_row_json(r) for r in s.rows],
                "skipped": [asdict(k) for k in s.skipped],
                "notes": s.notes,
            }
            for s in sections
        ]
    }
    json_path, md_path = out / "benchmarks.json", out / "benchmarks.md"
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    lines = ["# PMM ledger benchmarks", "", f"`{about['command']}`", ""]
    lines += [f"- {k}: {v}" for k, v in about["machine"].items()]
    lines += ["", "| benchmark | backend | size | what | ours | baseline | ratio | target "]
    lines[-1] += "| peak RSS MB |"
    lines.append("|---|---|--:|---|--:|---|--:|---|--:|")
    for s in sections:
        for r in s.rows:
            target = "" if r.target is None else f"{'>=' if r.better == 'higher' else '<='}"
            target += (
                ""
                if r.target is None
                else f" {r.target:g}: {'MET' if r.met else 'NOT MET'}"
            )
            lines.append(
                f"| {r.benchmark} | {r.backend} | {r.size:,} | {r.what} | "
                f"{_number(r.ours)} {r.unit} | {r.baseline_name}: {_number(r.baseline)} | "
                f"{r.ratio:.3f} | {target} | {r.peak_rss_mb:.0f} |"
            )
        for k in s.skipped:
            lines.append(
                f"| {k.benchmark} | {k.backend} | | SKIPPED: {k.reason} | | | | | |"
            )
    lines += ["", "Other figures of the rows:", ""]
    for s in sections:
        for r in s.rows:
            if r.figures:
                shown = ", ".join(
                    f"{k} {_number(v) if isinstance(v, float) else _whole(v)}"
                    for k, v in r.figures.items()
                )
                lines.append(f"- {r.benchmark} {r.backend} {r.what}: {shown}")
    notes = [f"- {s.name}: {note}" for s in sections for note in s.notes]
    lines += ["", "Notes:", "", *notes] if notes else []
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
