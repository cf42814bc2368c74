"""``python -m benchmarks``: run every benchmark, write one JSON file and one
Markdown table of ratios (ours against a baseline measured in the same run).

    python -m benchmarks [--size N] [--quick] [--only NAME,...]
        [--backend sqlite|postgresql|both] [--database-url URL] [--out DIR]
        [--cache DIR] [--repeat R] [--drop-cache]

See benchmarks/README.md for what each row measures against what.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.common import (
    DEFAULT_PG_URL,
    POSTGRESQL,
    SQLITE,
    Options,
    Section,
    Skipped,
    progress,
    without_query,
)
from benchmarks.report import machine, write_results

# --only name -> module of the benchmarks package
MODULES = {
    "recording": "recording",
    "log": "log",
    "verify": "verifier",
    "scores": "scores",
    "http": "http_load",
    "witness": "witness",
    "tiles": "tiles",
    "standby": "standby",
}
BENCHMARKS = tuple(MODULES)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(BENCHMARKS)}"
        )
    return names


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Every benchmark, as ratios against baselines measured in one run.",
    )
    parser.add_argument(
        "--size",
        type=int,
        help="the size of every benchmark (entries for log, verify and scores; "
        "statements for recording, witness and tiles; requests per measurement for "
        "http); "
        "default: each benchmark's own",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: everything in a few minutes"
    )
    parser.add_argument(
        "--only",
        type=_names,
        default=BENCHMARKS,
        help=f"comma-separated benchmarks to run, from {','.join(BENCHMARKS)}",
    )
    parser.add_argument("--backend", choices=(SQLITE, POSTGRESQL, "both"), default="both")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database for the measured schemas (default {DEFAULT_PG_URL}); "
        "PostgreSQL is reported SKIPPED with the reason if it does not answer",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmark-results"),
        help="folder for benchmarks.json and benchmarks.md (default ./benchmark-results)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pmm-bench-cache",
        help="where built verifier bundles and scores ledgers are kept between runs",
    )
    parser.add_argument(
        "--drop-cache",
        action="store_true",
        help="remove the --cache folder and the PostgreSQL schemas of its cached "
        "scores ledgers, then exit",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds per measurement, the best kept"
    )
    args = parser.parse_args(argv)
    if (args.size is not None and args.size < 1) or args.repeat < 1:
        parser.error("--size and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    chosen = (SQLITE, POSTGRESQL) if args.backend == "both" else (args.backend,)
    options = Options(
        backends=chosen,
        database_url=without_query(args.database_url),
        quick=args.quick,
        cache=args.cache,
        repeat=args.repeat,
    )
    command = shlex.join(["python", "-m", "benchmarks", *(argv or sys.argv[1:])])
    started = datetime.now(UTC).isoformat(timespec="seconds")
    about: dict[str, Any] = {
        "format": "pmm-benchmarks/1",
        "command": command,
        "started": started,
    }
    about["machine"] = machine(options)
    if args.drop_cache:
        from benchmarks.scores_cache import drop_all

        dropped = drop_all(args.cache, options.database_url)
        shutil.rmtree(args.cache, ignore_errors=True)
        print(f"removed {args.cache} ({dropped} scores ledgers and their schemas)")
        return 0
    sections: list[Section] = []
    for name in args.only:
        try:
            module: ModuleType = importlib.import_module(f"benchmarks.{MODULES[name]}")
        except ImportError as exc:
            reason = f"{exc}; install the benchmark dependencies: pip install -e '.[bench]'"
            progress(f"{name}: SKIPPED: {reason}")
            sections.append(Section(name, skipped=[Skipped(name, "all", reason)]))
            continue
        size = args.size or (module.QUICK_SIZE if args.quick else module.DEFAULT_SIZE)
        progress(f"{name}: size {size:,}")
        sections.append(module.run(options, size))
    about["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    json_path, md_path = write_results(args.out, about, sections)
    print(md_path.read_text())
    print(f"written: {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
