"""The red-flag thresholds files: reading one, and the packaged one
(``api/frameworks/flags-v1.toml``).

The flags read uses the packaged thresholds until an integrity officer records
thresholds in the ledger (``pmm flags thresholds apply``), and says so
(docs/flags.md). A file is read here, where both layers meet: the TOML reader
is intake's, what the thresholds mean is the flags' (docs/decisions.md,
decision 45).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from intake.errors import TomlTextError
from intake.toml_text import read_toml
from projections.errors import ThresholdsFileError
from projections.flag_thresholds import Thresholds, checked_file

PACKAGED_FILE: Final = Path(__file__).parent / "frameworks" / "flags-v1.toml"


def load_thresholds(path: Path) -> tuple[Thresholds, str | None]:
    """A thresholds file, checked whole; and its ``reason`` if it gives one."""
    try:
        data = read_toml(path)
    except OSError as exc:
        raise ThresholdsFileError(str(path), [f"cannot read it: {exc.strerror}"]) from None
    except TomlTextError as exc:
        raise ThresholdsFileError(str(path), [f"not TOML: {exc}"]) from None
    return checked_file(str(path), data)


@functools.cache
def packaged() -> Thresholds:
    """The packaged thresholds, read once."""
    return load_thresholds(PACKAGED_FILE)[0]
