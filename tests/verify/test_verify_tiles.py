"""Tile paths and entry-bundle framing (verify/formats/tiles.py), the one
definition the export, the HTTP server and the verifier share: round trips
and hostile input."""

from __future__ import annotations

import pytest

from verify.errors import TilePathError
from verify.formats.tiles import (
    ENTRIES,
    MAX_BUNDLE_BYTES,
    TILE_WIDTH,
    TileName,
    frame,
    frame_entries,
    hash_tiles,
    level_size,
    parse_tile_path,
    tile_index_path,
    tile_path,
    tile_width,
    tiles_of,
)


@pytest.mark.parametrize(
    ("index", "text"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_tile_index_paths_are_three_digit_groups(index: int, text: str) -> None:
    assert tile_index_path(index) == text


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 0, 256, "tile/0/000"),
        (2, 1234067, 17, "tile/2/x001/x234/067.p/17"),
        (ENTRIES, 1234, 7, "tile/entries/x001/234.p/7"),
        (ENTRIES, 5, 255, "tile/entries/005.p/255"),
        (31, 999, 1, "tile/31/999.p/1"),
    ],
)
def test_tile_paths_round_trip(level: int | str, index: int, width: int, path: str) -> None:
    assert tile_path(level, index, width) == path
    assert parse_tile_path(path.removeprefix("tile/")) == TileName(level, index, width)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("0/1", "is not a tlog-tiles path"),  # N must be 3-digit groups
        ("0/0001", "is not a tlog-tiles path"),
        ("0/000.p/0", "is not a tlog-tiles path"),  # width 1..256
        ("0/000.p/257", "is not a tlog-tiles path"),
        ("0/000.p/", "is not a tlog-tiles path"),
        ("entry/000", "is not a tlog-tiles path"),
        ("100/000", "is not a tlog-tiles path"),
        ("0/000/", "is not a tlog-tiles path"),
        ("", "is not a tlog-tiles path"),
        ("0/000.p/256", "is not in canonical form"),  # a full tile has no .p/
        ("0/000.p/07", "is not in canonical form"),
        ("00/000", "is not in canonical form"),
        ("0/x000/001", "is not in canonical form"),  # a leading zero group
        ("entries/x000/999.p/3", "is not in canonical form"),
    ],
)
def test_non_canonical_tile_paths_are_refused(path: str, why: str) -> None:
    with pytest.raises(TilePathError) as refused:
        parse_tile_path(path)
    assert str(refused.value) == f"tile/{path} {why}"


def test_tile_widths_and_levels() -> None:
    assert list(tiles_of(513)) == [(0, 256), (1, 256), (2, 1)]
    assert list(tiles_of(0)) == []
    assert level_size(70_000, ENTRIES) == 70_000
    assert level_size(70_000, 0) == 70_000
    assert level_size(70_000, 1) == 273
    assert level_size(70_000, 2) == 1
    assert level_size(70_000, 3) == 0
    assert tile_width(70_000, 0, 273) == 112
    assert tile_width(70_000, 1, 1) == 17
    assert tile_width(70_000, ENTRIES, 0) == TILE_WIDTH


def test_hash_tiles_name_every_tile_of_every_level_once() -> None:
    assert list(hash_tiles(0)) == []
    assert list(hash_tiles(3)) == [(0, 0, 3)]
    tiles = list(hash_tiles(65_793))  # 257 full level-0 tiles, and one more hash
    assert tiles[:2] == [(0, 0, 256), (0, 1, 256)]
    assert tiles[256:] == [(0, 256, 256), (0, 257, 1), (1, 0, 256), (1, 1, 1), (2, 0, 1)]
    assert len(set(tiles)) == len(tiles)


def test_entry_framing_round_trips() -> None:
    entries = [b"", b"a", b"\x00" * 300, b"x" * 65_535]
    data = frame_entries(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01a"
    assert data[5:7] == (300).to_bytes(2, "big")
    framing = frame(data)
    assert framing.entries == entries and framing.broken is None and framing.rest == 0
    assert frame_entries([]) == b""
    assert len(frame_entries([b"x" * 65_535] * TILE_WIDTH)) == MAX_BUNDLE_BYTES


def test_framing_refuses_an_entry_too_long_for_its_length() -> None:
    with pytest.raises(OverflowError):
        frame_entries([b"x" * 65_536])


def test_wrong_framing_is_said_never_raised() -> None:
    good = frame_entries([b"one", b"two"])
    cut = frame(good + b"\x00")
    assert cut.entries == [b"one", b"two"]
    assert cut.broken == "one byte is left where its 2-byte length should be"
    long = frame(good + b"\x00\x09abc")
    assert long.entries == [b"one", b"two"]
    assert long.broken == "its length says 9 bytes, 3 remain"
    assert frame(b"\xff\xff").broken == "its length says 65535 bytes, 0 remain"
    stopped = frame(good + frame_entries([b"three"]), stop=2)
    assert stopped.entries == [b"one", b"two"] and stopped.rest == 7
