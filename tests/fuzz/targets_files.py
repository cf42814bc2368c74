"""Fuzz targets for the files people write (see tests/fuzz/targets.py).

The KPI framework file (intake/framework_file.py), the red-flag
thresholds file (projections/flag_thresholds.py), both TOML, and a World Bank
DataBank CSV export (intake/databank_file.py): each read from a file in
a fresh folder, as the command line reads it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.flag_defaults import load_thresholds
from intake.databank_file import decimal_text, read_databank
from intake.errors import FrameworkFileError, ImportFileError
from intake.framework_file import load_framework
from projections.errors import ThresholdsFileError
from tests.fuzz.strategies import ORIGIN
from tests.fuzz.strategies_log import LOG
from verify.check.state import load_state
from verify.errors import InputError
from verify.formats.trust import TrustRoots, load_trust

# A refusal quotes its input only in short (docs/decisions.md 17): one
# problem's message stays under this; a file's list of problems may grow with
# the file, never faster.
MAX_MESSAGE = 2_000


def short(exc: Exception, allowance: int = 0) -> None:
    """Fail if ``exc``'s message is longer than one problem's (plus ``allowance``)."""
    message = str(exc)
    assert len(message) <= MAX_MESSAGE + allowance, (
        f"{type(exc).__name__} of {len(message)} characters: {message[:300]}"
    )


# What a DataBank export writes for a value it does not have.
MISSING_CELLS = ("", "..")


def in_folder(files: dict[str, bytes], run: Callable[[Path], Any]) -> Any:
    """``run`` on a fresh folder holding ``files`` (relative path: bytes)."""
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            path = Path(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return run(Path(folder))


def framework(data: bytes) -> bool:
    try:
        in_folder({"framework.toml": data}, lambda f: load_framework(f / "framework.toml"))
    except FrameworkFileError as exc:
        short(exc, 2 * len(data))
        return False
    return True


def databank(data: bytes) -> bool:
    """A DataBank export: refused whole, or read with every number bounded;
    True when the file and every cell in it are read (the import refuses a
    row whose cell is not a number, intake/databank.py)."""
    try:
        read = in_folder({"export.csv": data}, lambda f: read_databank(f / "export.csv"))
    except ImportFileError as exc:
        short(exc, 2 * len(data))
        return False
    every = True
    for row in read.rows:
        for cell in row.cells:
            value = decimal_text(cell)
            assert value is None or len(value) <= 2 * len(cell) + 40, (cell, len(value))
            every = every and (value is not None or cell in MISSING_CELLS)
    return every and not read.malformed


def thresholds(data: bytes) -> bool:
    try:
        in_folder({"flags.toml": data}, lambda f: load_thresholds(f / "flags.toml"))
    except ThresholdsFileError as exc:
        short(exc, 2 * len(data))
        return False
    return True


def trust(data: bytes) -> bool:
    """An auditor's ``trust.json`` (verify/formats/trust.py): read, or ``InputError``."""
    try:
        in_folder({"trust.json": data}, lambda f: load_trust(f / "trust.json"))
    except InputError as exc:
        short(exc)  # one problem: quoted in short
        return False
    return True


def state(data: bytes) -> bool:
    """The verifier's state file (verify/check/state.py): read, or ``InputError``."""
    from tests.fuzz.targets import POLICY

    log = LOG.verifier()
    roots = TrustRoots(ORIGIN, log.vkey(), log, "0" * 64, POLICY)
    try:
        in_folder({"state.json": data}, lambda f: load_state(f / "state.json", roots))
    except InputError as exc:
        short(exc)  # one problem: quoted in short
        return False
    return True


FILE_TARGETS: dict[str, Callable[[bytes], bool]] = {
    "framework": framework,
    "databank": databank,
    "thresholds": thresholds,
    "trust": trust,
    "state": state,
}
