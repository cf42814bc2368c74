"""Folders and files for their owner only (docs/decisions.md 20).

The home folder, exports and state files hold restricted values, keys and the
writer lock, so they are created readable by their owner only: folders 0700,
files 0600, with the mode given when they are created (``os.mkdir`` and
``os.open`` with a mode), never ``chmod``-ed after a window in which another
local user could open them. The umask can only narrow these modes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Create ``path`` and each missing parent as a 0700 folder (``Path.mkdir``
    gives the parents it creates the default mode)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)


def open_private(path: Path | str, flags: int) -> int:
    """``os.open`` with ``O_CREAT``: a file this creates is 0600 from the start."""
    return os.open(path, flags | os.O_CREAT, FILE_MODE)


def create_private(path: Path) -> None:
    """Create ``path`` as an empty 0600 file unless it exists (for a file that
    another library opens, such as the SQLite database).

    An existing file is never opened: closing any descriptor of a file drops
    every POSIX lock the process holds on it, so opening and closing a SQLite
    database that this process already has open would silently release its
    connections' locks. Another process could then take the database as
    unused, checkpoint it and delete its write-ahead log under them: the next
    reads fail ("disk I/O error") and writes go to a deleted file (decision 34;
    sqlite.org/howtocorrupt.html, 2.2)."""
    with contextlib.suppress(FileExistsError):
        os.close(open_private(path, os.O_WRONLY | os.O_EXCL))


def write_private(path: Path, data: bytes) -> None:
    """Write a new 0600 file; refuse (``FileExistsError``) to overwrite one."""
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_EXCL), "wb") as handle:
        handle.write(data)


def replace_private(path: Path, data: bytes) -> None:
    """Write ``path`` as a 0600 file, replacing any older one at once: the data
    goes to a new 0600 file beside it, then takes its name (``os.replace``), so a
    reader sees the old file or the new, never half of one."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.new")
    scratch.unlink(missing_ok=True)
    write_private(scratch, data)
    os.replace(scratch, path)
