"""The resource-fault tests, run for their figures:
``python -m tests.faults.resource_run`` (about two minutes).

Runs the resource-fault modules of ``tests/faults`` under pytest with the
tallies written to a scratch file (``tests/faults/kit.py``), then prints, per
fault kind, the faults injected and the writes attempted, acknowledged,
refused with a clear error, lost and recorded twice; the exit code is pytest's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

# The file the tallies are added to (tests/faults/kit.py reads this name). Only
# the standard library and pytest are imported here, so that pytest can still
# rewrite the asserts of every module the tests import.
FIGURES_VAR = "PMM_FAULT_FIGURES"
# The resource-fault modules (the folder holds other fault suites too).
MODULES = (
    "test_database_down.py",
    "test_connections_killed.py",
    "test_sqlite_locked.py",
    "test_sqlite_second_open.py",
    "test_disk_full.py",
    "test_read_only_home.py",
    "test_clock_backwards.py",
)
COLUMNS = ("faults", "attempted", "acknowledged", "refused", "lost", "duplicated")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pmm-faults-") as scratch:
        figures_file = Path(scratch) / "figures.json"
        os.environ[FIGURES_VAR] = str(figures_file)
        folder = Path(__file__).resolve().parent
        tests = [str(folder / module) for module in MODULES]
        code = int(pytest.main(["-q", "-p", "no:cacheprovider", *tests]))
        figures = json.loads(figures_file.read_text()) if figures_file.exists() else {}
    width = max([len(kind) for kind in figures] + [10])
    print(f"\n{'fault kind':<{width}}  " + "  ".join(f"{c:>12}" for c in COLUMNS))
    totals = dict.fromkeys(COLUMNS, 0)
    for kind, row in sorted(figures.items()):
        print(f"{kind:<{width}}  " + "  ".join(f"{row[c]:>12}" for c in COLUMNS))
        for column in COLUMNS:
            totals[column] += row[column]
    print(f"{'total':<{width}}  " + "  ".join(f"{totals[c]:>12}" for c in COLUMNS))
    return code


if __name__ == "__main__":
    sys.exit(main())
