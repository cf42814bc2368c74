"""The packaged red-flag thresholds (``api/frameworks/flags-v1.toml``).

The flags read uses them until an integrity officer records thresholds in the
ledger (``pmm flags thresholds apply``), and says so (docs/flags.md).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from projections.flag_thresholds import Thresholds, load_thresholds

PACKAGED_FILE: Final = Path(__file__).parent / "frameworks" / "flags-v1.toml"


@functools.cache
def packaged() -> Thresholds:
    """The packaged thresholds, read once."""
    return load_thresholds(PACKAGED_FILE)[0]
