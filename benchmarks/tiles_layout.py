"""What a tlog-tiles client fetches to check one inclusion proof, from the tile
layout (C2SP tlog-tiles; ``verify/formats/tiles.py``): the RFC 6962 audit path is built
by ``verify.merkle.tree.inclusion_proof`` through a getter that takes each perfect
subtree of height h at index k from hash tile level ``h // 8``, folding the
``2 ** (h % 8)`` hashes it holds there, and notes which tiles it opened.

On an exported folder the getter reads the tile files, so the proof it builds
can be checked against the in-memory tree's; for a size not exported (10^6) the
same getter runs on the layout alone, the hashes left out.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verify.formats.tiles import TILE_HEIGHT, TILE_WIDTH, tile_path, tile_width
from verify.merkle.tree import inclusion_proof, node_hash

HASH = 32
Tile = tuple[int, int, int]  # level, index, width


class TileReader:
    """A ``Perfect`` getter over hash tiles: from the files of ``folder``, or (None)
    the layout alone (every hash zero). ``opened`` holds the tiles one proof used."""

    def __init__(self, size: int, folder: Path | None = None) -> None:
        self.size = size
        self.folder = folder
        self.opened: set[Tile] = set()
        self.cache: dict[Tile, bytes] = {}

    def _tile(self, level: int, index: int) -> bytes:
        width = tile_width(self.size, level, index)
        key = (level, index, width)
        self.opened.add(key)
        if key not in self.cache:
            if self.folder is None:
                self.cache[key] = bytes(HASH * width)
            else:
                self.cache[key] = (
                    self.folder / tile_path(level, index, width)
                ).read_bytes()
        return self.cache[key]

    def __call__(self, height: int, index: int) -> bytes:
        if (index + 1) << height > self.size:
            raise IndexError(f"no complete subtree at level {height}, index {index}")
        level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest  # the subtree's first hash at the tile level
        data = self._tile(level, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        row = [data[HASH * i : HASH * (i + 1)] for i in range(offset, offset + (1 << rest))]
        while len(row) > 1:
            row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]


@dataclass(frozen=True)
class ProofCost:
    """Over the sampled indexes: tiles and bytes a client fetches for one proof."""

    size: int
    samples: int
    tiles_median: float
    tiles_max: int
    bytes_median: float
    bytes_max: int
    path_hashes_max: int  # the audit path's length, at most ceil(log2 size)


def sample_indexes(size: int, count: int, seed: int = 9162) -> list[int]:
    """``count`` random leaf indexes, with the first and the last."""
    rng = random.Random(seed)
    return sorted({0, size - 1, *(rng.randrange(size) for _ in range(count))})


def proof_cost(
    size: int,
    indexes: list[int],
    folder: Path | None = None,
    check: Callable[[int, list[bytes]], None] | None = None,
) -> ProofCost:
    """The tiles each index's proof opens (its bytes: 32 a hash of each tile's
    width); ``check(index, proof)`` sees each proof built from the tiles."""
    tiles, sizes, lengths = [], [], []
    for index in indexes:
        reader = TileReader(size, folder)
        proof = inclusion_proof(index, size, reader)
        if check is not None:
            check(index, proof)
        tiles.append(len(reader.opened))
        sizes.append(sum(HASH * width for _, _, width in reader.opened))
        lengths.append(len(proof))
    return ProofCost(
        size,
        len(indexes),
        statistics.median(tiles),
        max(tiles),
        statistics.median(sizes),
        max(sizes),
        max(lengths),
    )
