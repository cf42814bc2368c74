"""The integrity log over HTTP, laid out as C2SP tlog-tiles (docs/formats.md §2.5).

``/checkpoint`` and ``/tile/...`` answer exactly the bytes ``pmm export``
writes at the same paths (``ledger.export``; paths and framing from
``verify/formats/tiles.py``), so a static mirror and this
server are interchangeable; full tiles never change and are cacheable for
ever. Entry bundles carry values of every disclosure level, so they need a
principal who may read everything, and each read is in the access log.
Receipts and proofs are answered from stored subtree hashes.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse

from api.http.auth import AccessLogDep, ReaderDep, log_reads
from api.http.deps import LedgerDep
from api.http.errors import PROBLEM
from ledger.application import Ledger
from projections.access import FULL_READERS
from projections.audit import restricted_by_member
from projections.kept import Kept, kept_for
from projections.log_reader import LogReader
from verify.errors import TilePathError
from verify.formats.checkpoint import tree_size
from verify.formats.proofs import hash_lines
from verify.formats.tiles import (
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    frame_entries,
    level_size,
    parse_tile_path,
)

router = APIRouter(tags=["log"])

TEXT = "text/plain; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"
# Indexes and sizes far beyond any log, still inside a 63-bit database integer.
MAX_INDEX = 2**53
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such tile (yet)", **PROBLEM}
}
LOG_RANGE: dict[int | str, dict[str, Any]] = {
    400: {"description": "An index or tree size outside the log (`log-range`)", **PROBLEM}
}

Index = Annotated[int, Path(ge=0, le=MAX_INDEX, description="0-based log index")]
Size = Annotated[
    int | None,
    Query(ge=0, le=MAX_INDEX, description="Tree size [default: the latest checkpoint]"),
]


def checkpoint_size(ledger: Ledger) -> tuple[str, int]:
    """The latest signed checkpoint note and its tree size."""
    note = ledger.sequencer.checkpoint()
    return note, tree_size(note)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)",
)
def get_checkpoint(ledger: LedgerDep) -> PlainTextResponse:
    note, _ = checkpoint_size(ledger)
    return PlainTextResponse(note, media_type=TEXT, headers={"Cache-Control": "no-cache"})


# Full hash tiles already served, by path. A full tile's bytes are fixed once
# the log reaches it (the tree only grows; a restore needs `pmm serve` stopped,
# docs/backup.md), so a second request makes none of the two queries (checkpoint,
# subtree hashes) a tile costs. Entry bundles are never kept: each read of one
# is checked against the reader and written to the access log.
FULL_TILES = 1024  # 8 KiB a tile: at most 8 MiB a process
_FULL_TILES: weakref.WeakKeyDictionary[LogReader, Kept[str, bytes]] = (
    weakref.WeakKeyDictionary()
)


def _full_tiles(ledger: Ledger) -> Kept[str, bytes]:
    return kept_for(_FULL_TILES, LogReader.of(ledger), FULL_TILES)


def tile_bytes(ledger: Ledger, path: str) -> tuple[bytes, bool, list[tuple[int, bytes]]]:
    """The tile at ``tile/<path>``, whether it is full, and for an entry bundle
    its (log index, entry) pairs; 404 if there is none."""
    try:
        tile = parse_tile_path(path)
    except TilePathError as exc:
        raise HTTPException(404, str(exc)) from None
    level, width = tile.level, tile.width
    _, size = checkpoint_size(ledger)
    start = tile.index * TILE_WIDTH
    if start + width > level_size(size, level):
        raise HTTPException(404, f"tile/{path} is beyond the log (tree size {size})")
    store = LogReader.of(ledger)
    if level == ENTRIES:
        # The entry bundle framing of verify/formats/tiles.py, as ledger/export.py
        # writes it (docs/formats.md §2.5).
        entries = store.entries(start, start + width)
        return frame_entries(raw for _, raw in entries), width == TILE_WIDTH, entries
    data = b"".join(store.node_range(TILE_HEIGHT * int(level), start, start + width))
    if width == TILE_WIDTH:
        _full_tiles(ledger).put(path, data)
    return data, width == TILE_WIDTH, []


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        401: {"description": "Entry bundles need a bearer token", **PROBLEM},
        403: {"description": "Entry bundles are for full readers", **PROBLEM},
        **NOT_FOUND,
    },
    summary="A hash tile tile/<L>/<N>[.p/<W>] or entry bundle tile/entries/<N>[.p/<W>]",
)
def get_tile(
    path: str, request: Request, ledger: LedgerDep, reader: ReaderDep, access: AccessLogDep
) -> Response:
    """Hash tiles are public. Entry bundles hold every statement as signed,
    values of every disclosure level included, so they are served only to the
    principals who may read everything (secretariat, integrity officers), and
    each Member's restricted entries in a bundle are written to the access log
    under that Member (decisions 13, 26)."""
    entries = path.startswith("entries/")
    if entries:
        reader.require(FULL_READERS, "an entry bundle (tile/entries/...)")
    cached = None if entries else _full_tiles(ledger).get(path)
    if cached is not None:
        headers = {"Cache-Control": IMMUTABLE}
        return Response(cached, media_type="application/octet-stream", headers=headers)
    data, full, bundle = tile_bytes(ledger, path)
    if entries:
        log_reads(access, reader, request, restricted_by_member(ledger, bundle))
    cache = "private, no-store" if entries else IMMUTABLE if full else "no-cache"
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": cache}
    )


def _receipt(ledger: Ledger, index: int, size: int | None) -> PlainTextResponse:
    return PlainTextResponse(ledger.receipt(index, size), media_type=TEXT)


@router.get(
    "/receipts/{index}",
    response_class=PlainTextResponse,
    summary="The c2sp.org/tlog-proof@v1 receipt of entry INDEX",
    responses=LOG_RANGE,
)
def get_receipt(index: Index, ledger: LedgerDep, size: Size = None) -> PlainTextResponse:
    return _receipt(ledger, index, size)


@router.get(
    "/proofs/inclusion/{index}",
    response_class=PlainTextResponse,
    summary="Inclusion proof of entry INDEX, as a c2sp.org/tlog-proof@v1 receipt",
    responses=LOG_RANGE,
)
def get_inclusion(index: Index, ledger: LedgerDep, size: Size = None) -> PlainTextResponse:
    return _receipt(ledger, index, size)


@router.get(
    "/proofs/consistency",
    response_class=PlainTextResponse,
    summary="RFC 9162 consistency proof from tree OLD to NEW: base64 hashes, one a line",
    responses=LOG_RANGE,
)
def get_consistency(
    ledger: LedgerDep,
    old: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    new: Annotated[int, Query(ge=0, le=MAX_INDEX)],
) -> PlainTextResponse:
    proof = ledger.sequencer.consistency(old, new)
    return PlainTextResponse(hash_lines(proof), media_type=TEXT)
