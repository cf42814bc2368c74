"""``python -m verify`` runs with nothing of the ledger installed (docs/design.md §5).

The ``verify`` package is copied alone into a temporary folder, beside a
site folder holding only ``cryptography``, ``rfc8785`` and the cffi backend
they load; interpreters started with ``-S`` (no site-packages, so no editable
install of the ledger) or ``-I`` (isolated) then verify a real export. The
ledger and the heavy libraries cannot even be found there, ``-X importtime``
shows none was imported by the CLI or its worker processes, and what was
loaded is the standard library, the copy of ``verify`` and its two
dependencies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.export import export

if TYPE_CHECKING:
    from tests.conftest import World

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_THIRD_PARTY = ("cryptography", "rfc8785", "_cffi_backend")
FORBIDDEN = (
    "ledger",
    "projections",
    "api",
    "eventsourcing",
    "sqlalchemy",
    "fastapi",
    "pandas",
    "pydantic",
    "starlette",
    "psycopg",
    "typer",
    "rich",
)


def _isolated_tree(tmp_path: Path) -> tuple[Path, Path]:
    """(app folder with a copy of verify/, site folder with its dependencies)."""
    app, site = tmp_path / "app", tmp_path / "site"
    shutil.copytree(
        ROOT / "verify", app / "verify", ignore=shutil.ignore_patterns("__pycache__")
    )
    site.mkdir()
    for name in ALLOWED_THIRD_PARTY:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (site / source.name).symlink_to(source)
    return app, site


def _imported(stderr: str) -> set[str]:
    """Top-level names of the modules ``-X importtime`` reports."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name.split(".")[0])
    return names


def test_python_m_verify_runs_without_the_ledger(world: World, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(world.ledger, out)
    app, site = _isolated_tree(tmp_path)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{app}{os.pathsep}{site}"}
    probe = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import importlib.util, json, sys; "
            f"print(json.dumps([m for m in {list(FORBIDDEN)!r} "
            "if importlib.util.find_spec(m)]))",
        ],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(probe.stdout) == [], "the isolated interpreter can find these"
    state = tmp_path / "state.json"
    command = [sys.executable, "-S", "-X", "importtime", "-m", "verify", str(out)]
    command += ["--trust", str(out / "trust.json"), "--state", str(state)]
    result = subprocess.run(
        [*command, "--json", "--workers", "2"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert report["counts"]["entries"] == world.ledger.log_size()
    assert report["state"]["updated"] is True and state.exists()
    imported = _imported(result.stderr)
    assert {"verify", "cryptography", "rfc8785"} <= imported
    assert sorted(imported & set(FORBIDDEN)) == []


def test_isolated_mode_verifies_and_reports_the_copy(world: World, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(world.ledger, out)
    app, site = _isolated_tree(tmp_path)
    bootstrap = (
        "import json, runpy, sys\n"
        f"sys.path[:0] = [{str(app)!r}, {str(site)!r}]\n"
        f"sys.argv = ['verify', {str(out)!r}, '--trust', {str(out / 'trust.json')!r}]\n"
        "try:\n"
        "    runpy.run_module('verify', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print(json.dumps({'code': code, 'file': sys.modules['verify'].__file__,\n"
        "                  'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.startswith("verified "), result.stdout + result.stderr
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0
    assert Path(report["file"]) == app / "verify" / "__init__.py"
    top = {name.split(".")[0] for name in report["modules"]}
    assert sorted(top & set(FORBIDDEN)) == []
    # Loaded modules (failed optional imports, which -X importtime also
    # lists, are not in sys.modules): the standard library and the allowed.
    third_party = {
        name
        for name in top
        if name not in sys.stdlib_module_names
        and not name.startswith("_")
        and name not in ("verify", *ALLOWED_THIRD_PARTY)
    }
    assert third_party == set()
