"""Reading a ``pmm export`` folder.

The folder is the C2SP tlog-tiles layout (docs/formats.md §2.5), its paths and
entry framing defined in ``verify/formats/tiles.py``:

* ``checkpoint``: the signed checkpoint note;
* ``tile/<L>/<N>[.p/<W>]``: hash tiles, 32 bytes per hash, W = 256 when full;
* ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry a big-endian uint16
  length then its exact bytes.

A partial tile ``<N>.p/<W>`` may be absent once the log has grown and the full
tile ``<N>`` exists: its first W hashes (or entries) are the partial tile
(C2SP tlog-tiles; docs/verifier.md). What is wrong with the folder's files is
the bundle's *content*: it is returned, never raised, and the verifier reports
it as a finding (exit 1), with paths relative to the folder.

The trust file beside it is ``verify/formats/trust.py``; a missing export
folder is an ``InputError`` (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.errors import InputError, VerifyError
from verify.formats.checkpoint import Checkpoint, note_checkpoint
from verify.formats.tiles import (
    CHECKPOINT_FILE,
    ENTRIES,
    MAX_BUNDLE_BYTES,
    TILE_WIDTH,
    Framing,
    frame,
    tile_path,
)
from verify.merkle.tree import HASH_SIZE

MAX_NOTE_BYTES = 1 << 20
MISSING = "does not exist"


def split_bundle(data: bytes, path: Path) -> list[bytes]:
    """The entries of an entry bundle; ``InputError`` if it ends mid-entry."""
    framing = frame(data)
    if framing.broken is not None:
        raise InputError(
            f"{path}: entry bundle is truncated: entry {len(framing.entries)}: "
            f"{framing.broken}"
        )
    return framing.entries


@dataclass(frozen=True)
class EntryBundle:
    """Entry bundle N of a tree, as found. ``path`` is the file read, relative
    to the export folder: the full bundle when the partial one is absent (its
    first ``width`` entries are the partial bundle, C2SP tlog-tiles)."""

    path: str
    entries: list[bytes]  # at most ``width``: the entries that could be read
    absent: str | None = None  # why no file could be read
    broken: str | None = None  # why entry len(entries) cannot be read
    surplus: str | None = None  # what the file holds beyond its ``width`` entries


@dataclass(frozen=True)
class HashTile:
    """Hash tile L/N of a tree: its ``width`` hashes, or why it is unusable."""

    path: str
    hashes: list[bytes] | None
    problem: str | None = None


def _surplus(path: str, data: bytes, width: int, framing: Framing) -> str | None:
    """What an entry bundle holds beyond its ``width`` entries, if anything."""
    if len(data) > MAX_BUNDLE_BYTES:
        return f"{path} is larger than a full bundle ({MAX_BUNDLE_BYTES} bytes)"
    if not framing.rest:
        return None
    more = frame(data[len(data) - framing.rest :])
    if more.broken is None:
        return (
            f"{path} holds {width + len(more.entries)} entries, more than the {width} "
            "its name and the checkpoint say: entries were inserted"
        )
    return (
        f"{path} holds {framing.rest} bytes after its {width} entries that are not "
        "whole entries"
    )


ACCESS_LOG_FILE = "access-log.jsonl"
MAX_ACCESS_RECORD = 1 << 16


class Bundle:
    """An export folder, read one file at a time. What is wrong with a file is
    returned (and becomes a finding), never raised: only a missing folder is an
    ``InputError``. Paths in messages are relative to the folder."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise InputError(f"{directory}: no such export folder")
        self.directory = directory

    def checkpoint(self) -> tuple[str, Checkpoint] | str:
        """The checkpoint note and its parsed body (signatures not yet checked),
        or why there is none."""
        data, problem = self._read(CHECKPOINT_FILE, MAX_NOTE_BYTES)
        if data is None:
            return f"the checkpoint file {problem}"
        if len(data) > MAX_NOTE_BYTES:
            return f"the checkpoint file is larger than {MAX_NOTE_BYTES} bytes"
        try:
            note = data.decode("utf-8")
            return note, note_checkpoint(note)
        except (UnicodeDecodeError, VerifyError) as exc:
            return f"the checkpoint file is not a signed checkpoint note: {exc}"

    def entries(self, n: int, width: int) -> EntryBundle:
        """Entry bundle ``n`` of ``width`` entries."""
        path = tile_path(ENTRIES, n, width)
        data, problem = self._read(path, MAX_BUNDLE_BYTES)
        full = False
        if data is None and problem == MISSING and width < TILE_WIDTH:
            wider = tile_path(ENTRIES, n, TILE_WIDTH)
            found, _ = self._read(wider, MAX_BUNDLE_BYTES)
            if found is not None:
                path, data, full = wider, found, True
        if data is None:
            return EntryBundle(path, [], f"{path} {problem}")
        framing = frame(data[:MAX_BUNDLE_BYTES], width)
        # A full bundle read for a partial one holds a larger tree's entries too.
        surplus = None if full else _surplus(path, data, width, framing)
        return EntryBundle(path, framing.entries, None, framing.broken, surplus)

    def hashes(self, level: int, n: int, width: int) -> HashTile:
        """Hash tile ``level``/``n``, which must hold ``width`` hashes (or be
        absent while the full tile, whose first ``width`` hashes it is, exists)."""
        path = tile_path(level, n, width)
        data, problem = self._read(path, TILE_WIDTH * HASH_SIZE)
        expected = width * HASH_SIZE
        if data is None and problem == MISSING and width < TILE_WIDTH:
            wider = tile_path(level, n, TILE_WIDTH)
            found, _ = self._read(wider, TILE_WIDTH * HASH_SIZE)
            if found is not None:
                path, data, expected = wider, found, TILE_WIDTH * HASH_SIZE
        if data is None:
            return HashTile(path, None, f"hash tile {path} {problem}")
        if len(data) != expected:
            length = len(data) if len(data) <= TILE_WIDTH * HASH_SIZE else "over 8192"
            return HashTile(
                path,
                None,
                f"hash tile {path} is {length} bytes, not the {expected} bytes of "
                f"{expected // HASH_SIZE} hashes its name says",
            )
        hashes = [data[i : i + HASH_SIZE] for i in range(0, width * HASH_SIZE, HASH_SIZE)]
        return HashTile(path, hashes)

    def _read(self, name: str, limit: int) -> tuple[bytes | None, str]:
        """(bytes, "") of ``name``, at most ``limit`` + 1 of them; or (None, why)."""
        try:
            with (self.directory / name).open("rb") as handle:
                return handle.read(limit + 1), ""
        except FileNotFoundError:
            return None, MISSING
        except IsADirectoryError:
            return None, "is a directory, not a file"
        except OSError as exc:
            return None, f"is unreadable: {exc.strerror}"

    def access_log(self) -> Iterator[dict[str, Any]] | None:
        """The access log's records (``access-log.jsonl``), or None if the bundle
        carries none. An unreadable line is yielded as a malformed record, which
        the chain check names (``verify/formats/access_chain.py``)."""
        path = self.directory / ACCESS_LOG_FILE
        if not path.is_file():
            return None

        def records() -> Iterator[dict[str, Any]]:
            with path.open("rb") as handle:
                for n, line in enumerate(handle):
                    try:
                        record = json.loads(line[:MAX_ACCESS_RECORD])
                    except (ValueError, RecursionError):  # not JSON, or nested deep
                        record = None
                    yield record if isinstance(record, dict) else {"seq": n, "bad": True}

        return records()
