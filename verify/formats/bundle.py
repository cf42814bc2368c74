"""Reading a ``pmm export`` folder and the trust file an auditor pins.

The folder is the C2SP tlog-tiles layout (docs/formats.md §2.5):

* ``checkpoint``: the signed checkpoint note;
* ``tile/<L>/<N>[.p/<W>]``: hash tiles, 32 bytes per hash, W = 256 when full;
* ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry a big-endian uint16
  length then its exact bytes.

A partial tile ``<N>.p/<W>`` may be absent once the log has grown and the full
tile ``<N>`` exists: its first W hashes (or entries) are the partial tile
(C2SP tlog-tiles; docs/verifier.md). What is wrong with the folder's files is
the bundle's *content*: it is returned, never raised, and the verifier reports
it as a finding (exit 1), with paths relative to the folder.

The trust file (``trust.json``, format ``pmm-trust/v1``) holds the pinned
roots (docs/design.md §5): ``origin``, ``log_vkey``, ``genesis_entry_sha256`` and
``policy`` (C2SP tlog-policy text). A missing export folder, or a trust file
that is missing, truncated or malformed, is an ``InputError``: nothing could be
verified, so the verifier exits 2 with a message naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.errors import VerifyError, quote
from verify.formats.checkpoint import Checkpoint, parse_checkpoint
from verify.formats.note import Ed25519Verifier, parse_note
from verify.formats.policy_text import TrustPolicy, parse_policy
from verify.merkle.tree import HASH_SIZE

TILE_WIDTH = 256
TILE_HEIGHT = 8
TRUST_FORMAT = "pmm-trust/v1"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A full entry bundle: 256 entries, each a 2-byte length and at most 65,535 bytes.
MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 65_535)
MAX_NOTE_BYTES = 1 << 20
MAX_TRUST_BYTES = 1 << 20
MISSING = "does not exist"


class InputError(VerifyError):
    """An input could not be read: missing, truncated or malformed (exit 2)."""


def tile_index_path(index: int) -> str:
    """``1234067`` → ``x001/x234/067``: 3-digit groups, all but the last with x."""
    groups = [f"{index % 1000:03d}"]
    while index >= 1000:
        index //= 1000
        groups.append(f"x{index % 1000:03d}")
    return "/".join(reversed(groups))


def tile_path(level: int | str, index: int, width: int) -> str:
    """``tile/<level>/<N>``, with ``.p/<width>`` for a partial tile."""
    partial = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{tile_index_path(index)}{partial}"


def tiles_of(count: int) -> Iterator[tuple[int, int]]:
    """``(N, width)`` of the tiles holding ``count`` hashes (or entries), lazily."""
    for n in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
        yield n, min(TILE_WIDTH, count - n * TILE_WIDTH)


def read_input(path: Path, what: str, limit: int | None = None) -> bytes:
    """The bytes of ``path``; ``InputError`` if missing, unreadable or over ``limit``."""
    try:
        with path.open("rb") as handle:
            data = handle.read() if limit is None else handle.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise InputError(f"{path}: {what} is larger than {limit} bytes")
        return data
    except FileNotFoundError:
        raise InputError(f"{path}: {what} is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path}: {what} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: {what} is unreadable: {exc.strerror}") from None


@dataclass(frozen=True)
class TrustRoots:
    """The pinned trust roots of one log (``trust.json``)."""

    origin: str
    log_vkey: str
    log: Ed25519Verifier
    genesis_entry_sha256: str
    policy: TrustPolicy


def _field(data: dict[str, Any], name: str, path: Path) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"{path}: trust file needs {name!r} as non-empty text")
    return value


def load_trust(path: Path) -> TrustRoots:
    """Read and check a trust file; ``InputError`` names what is wrong."""
    raw = read_input(path, "trust file", MAX_TRUST_BYTES)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: trust file is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: trust file nests arrays or objects too deeply") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: trust file must be a JSON object")
    if data.get("format") != TRUST_FORMAT:
        raise InputError(f"{path}: trust file format must be {TRUST_FORMAT!r}")
    origin = _field(data, "origin", path)
    vkey = _field(data, "log_vkey", path)
    genesis = _field(data, "genesis_entry_sha256", path)
    if not SHA256_HEX.fullmatch(genesis):
        raise InputError(f"{path}: genesis_entry_sha256 must be 64 lowercase hex digits")
    try:
        log = Ed25519Verifier.from_vkey(vkey)
        policy = parse_policy(_field(data, "policy", path))
    except VerifyError as exc:
        raise InputError(f"{path}: {exc}") from None
    if log.name != origin:
        raise InputError(
            f"{path}: log_vkey is named {quote(log.name)}, not the origin {quote(origin)}"
        )
    if log not in [entry.verifier for entry in policy.logs]:
        raise InputError(f"{path}: the policy does not list log_vkey as a log")
    return TrustRoots(origin, vkey, log, genesis, policy)


@dataclass(frozen=True)
class Framing:
    """The entries of an entry bundle, read until its framing breaks."""

    entries: list[bytes]
    broken: str | None = None  # why entry len(entries) cannot be read, if it cannot
    rest: int = 0  # bytes after the entries that were asked for (``frame(..., stop)``)


def frame(data: bytes, stop: int | None = None) -> Framing:
    """Split ``data`` into uint16-length-prefixed entries, up to ``stop`` of them.

    Never raises: a length prefix that is cut short, or that claims more bytes
    than remain, ends the reading, and ``broken`` says why (docs/formats.md §2.5)."""
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
        data, problem = self._read("checkpoint", MAX_NOTE_BYTES)
        if data is None:
            return f"the checkpoint file {problem}"
        if len(data) > MAX_NOTE_BYTES:
            return f"the checkpoint file is larger than {MAX_NOTE_BYTES} bytes"
        try:
            note = data.decode("utf-8")
            return note, parse_checkpoint(parse_note(note).text)
        except (UnicodeDecodeError, VerifyError) as exc:
            return f"the checkpoint file is not a signed checkpoint note: {exc}"

    def entries(self, n: int, width: int) -> EntryBundle:
        """Entry bundle ``n`` of ``width`` entries."""
        path = tile_path("entries", n, width)
        data, problem = self._read(path, MAX_BUNDLE_BYTES)
        full = False
        if data is None and problem == MISSING and width < TILE_WIDTH:
            wider = tile_path("entries", n, TILE_WIDTH)
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
