"""C2SP tlog-tiles: tile paths and entry-bundle framing (docs/formats.md §2.5).

The one definition of both, used by the export that writes them
(``ledger/export.py``), the server that answers them (``api/http/routes_log.py``),
the verifier that reads them (``verify/formats/bundle.py``) and the benchmarks.

* ``checkpoint``: the signed checkpoint note;
* ``tile/<L>/<N>[.p/<W>]``: hash tile N of level L holds the hashes of the
  perfect subtrees of height 8L at indexes N*256 .. N*256+W-1, 32 bytes each,
  W = 256 for a full tile (``.p/<W>`` only for a partial one, 1 <= W < 256);
* ``tile/entries/<N>[.p/<W>]``: entry bundle N, entries N*256 .. N*256+W-1,
  each a big-endian uint16 length then its exact bytes;
* N is written in 3-digit groups, all but the last prefixed ``x``
  (``1234067`` → ``x001/x234/067``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from verify.errors import TilePathError

CHECKPOINT_FILE = "checkpoint"
TILE_WIDTH = 256
TILE_HEIGHT = 8
ENTRIES = "entries"
# A full entry bundle: 256 entries, each a 2-byte length and at most 65,535 bytes.
MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 65_535)
# What a tile path may say after ``tile/``; ``parse_tile_path`` also requires the
# canonical form (the one ``tile_path`` writes), so each tile has one name.
_TILE = re.compile(
    r"(?P<level>entries|[0-9]{1,2})/(?P<index>(?:x[0-9]{3}/){0,4}[0-9]{3})"
    r"(?:\.p/(?P<width>[0-9]{1,3}))?"
)

Level = int | str  # a hash tile level, or ``ENTRIES``


def tile_index_path(index: int) -> str:
    """``1234067`` → ``x001/x234/067``: 3-digit groups, all but the last with x."""
    groups = [f"{index % 1000:03d}"]
    while index >= 1000:
        index //= 1000
        groups.append(f"x{index % 1000:03d}")
    return "/".join(reversed(groups))


def tile_path(level: Level, index: int, width: int) -> str:
    """``tile/<level>/<N>``, with ``.p/<width>`` for a partial tile."""
    partial = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{tile_index_path(index)}{partial}"


@dataclass(frozen=True)
class TileName:
    """What a tile path names: a level (an int, or ``ENTRIES``), N and W."""

    level: Level
    index: int
    width: int


def parse_tile_path(path: str) -> TileName:
    """The tile that ``path`` (after ``tile/``) names; ``TilePathError`` unless it
    is a tlog-tiles path in the canonical form ``tile_path`` writes, so that each
    tile has exactly one name."""
    found = _TILE.fullmatch(path)
    width = int(found["width"]) if found and found["width"] else TILE_WIDTH
    if found is None or not 0 < width <= TILE_WIDTH:
        raise TilePathError(f"tile/{path} is not a tlog-tiles path")
    level: Level = ENTRIES if found["level"] == ENTRIES else int(found["level"])
    index = int(found["index"].replace("x", "").replace("/", ""))
    if tile_path(level, index, width) != f"tile/{path}":
        raise TilePathError(f"tile/{path} is not in canonical form")
    return TileName(level, index, width)


def level_size(size: int, level: Level) -> int:
    """How many hashes (or, for ``ENTRIES``, entries) a tree of ``size`` leaves
    has at ``level``: one per perfect subtree of height 8 * level."""
    return size if level == ENTRIES else size >> (TILE_HEIGHT * int(level))


def tile_width(size: int, level: Level, index: int) -> int:
    """The width of tile ``level``/``index`` in a tree of ``size`` leaves."""
    return min(TILE_WIDTH, level_size(size, level) - TILE_WIDTH * index)


def tiles_of(count: int) -> Iterator[tuple[int, int]]:
    """``(N, width)`` of the tiles holding ``count`` hashes (or entries), lazily."""
    for n in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
        yield n, min(TILE_WIDTH, count - n * TILE_WIDTH)


def hash_tiles(size: int) -> Iterator[tuple[int, int, int]]:
    """``(level, N, width)`` of every hash tile of a tree of ``size`` leaves,
    level 0 first, while the level has a hash."""
    level = 0
    while level_size(size, level):
        for n, width in tiles_of(level_size(size, level)):
            yield level, n, width
        level += 1


def frame_entries(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length, then its exact
    bytes (``OverflowError`` for an entry over 65,535 bytes, which no entry is:
    ``verify/formats/statement.py`` caps them)."""
    return b"".join(len(entry).to_bytes(2, "big") + entry for entry in entries)


@dataclass(frozen=True)
class Framing:
    """The entries of an entry bundle, read until its framing breaks."""

    entries: list[bytes]
    broken: str | None = None  # why entry len(entries) cannot be read, if it cannot
    rest: int = 0  # bytes after the entries that were asked for (``frame(..., stop)``)


def frame(data: bytes, stop: int | None = None) -> Framing:
    """Split ``data`` into uint16-length-prefixed entries, up to ``stop`` of them.

    Never raises: a length prefix that is cut short, or that claims more bytes
    than remain, ends the reading, and ``broken`` says why."""
    entries: list[bytes] = []
    at = 0
    while at < len(data) and (stop is None or len(entries) < stop):
        if at + 2 > len(data):
            broken = "one byte is left where its 2-byte length should be"
            return Framing(entries, broken)
        length = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + length > len(data):
            broken = f"its length says {length} bytes, {len(data) - at - 2} remain"
            return Framing(entries, broken)
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return Framing(entries, None, len(data) - at)
