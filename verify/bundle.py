"""Reading a ``pmm export`` folder and the trust file an auditor pins.

The folder is the C2SP tlog-tiles layout (FORMATS.md §2.5):

* ``checkpoint``: the signed checkpoint note;
* ``tile/<L>/<N>[.p/<W>]``: hash tiles, 32 bytes per hash, W = 256 when full;
* ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry a big-endian uint16
  length then its exact bytes.

The trust file (``trust.json``, format ``pmm-trust/v1``) holds the pinned
roots (DESIGN.md §5): ``origin``, ``log_vkey``, ``genesis_entry_sha256`` and
``policy`` (C2SP tlog-policy text). Anything missing, truncated or malformed
here is an ``InputError``: nothing could be verified, so the verifier exits 2
with a message naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.checkpoint import Checkpoint, parse_checkpoint
from verify.errors import VerifyError
from verify.merkle import HASH_SIZE
from verify.note import Ed25519Verifier, parse_note
from verify.policy_text import TrustPolicy, parse_policy

TILE_WIDTH = 256
TILE_HEIGHT = 8
TRUST_FORMAT = "pmm-trust/v1"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A full entry bundle: 256 entries, each a 2-byte length and at most 65,535 bytes.
MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 65_535)
MAX_NOTE_BYTES = 1 << 20
MAX_TRUST_BYTES = 1 << 20


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
            f"{path}: log_vkey is named {log.name!r}, not the origin {origin!r}"
        )
    if log not in [entry.verifier for entry in policy.logs]:
        raise InputError(f"{path}: the policy does not list log_vkey as a log")
    return TrustRoots(origin, vkey, log, genesis, policy)


def split_bundle(data: bytes, path: Path) -> list[bytes]:
    """The entries of an entry bundle; ``InputError`` if it ends mid-entry."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise InputError(
                f"{path}: entry bundle is truncated: one byte left where entry "
                f"{len(entries)}'s 2-byte length should be"
            )
        length = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + length > len(data):
            raise InputError(
                f"{path}: entry bundle is truncated: entry {len(entries)} needs "
                f"{length} bytes, {len(data) - at - 2} remain"
            )
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return entries


ACCESS_LOG_FILE = "access-log.jsonl"
MAX_ACCESS_RECORD = 1 << 16


class Bundle:
    """An export folder, read one file at a time."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise InputError(f"{directory}: no such export folder")
        self.directory = directory

    def checkpoint(self) -> tuple[str, Checkpoint]:
        """The checkpoint note and its parsed body (signatures not yet checked)."""
        path = self.directory / "checkpoint"
        raw = read_input(path, "checkpoint", MAX_NOTE_BYTES)
        try:
            note = raw.decode("utf-8")
            return note, parse_checkpoint(parse_note(note).text)
        except (UnicodeDecodeError, VerifyError) as exc:
            raise InputError(f"{path}: not a signed checkpoint note: {exc}") from None

    def entries(self, n: int, width: int) -> tuple[Path, list[bytes]]:
        path = self.directory / tile_path("entries", n, width)
        return path, split_bundle(read_input(path, "entry bundle", MAX_BUNDLE_BYTES), path)

    def hashes(self, level: int, n: int, width: int) -> tuple[Path, list[bytes]]:
        """The hashes of hash tile ``level``/``n``; it must hold ``width``."""
        path = self.directory / tile_path(level, n, width)
        data = read_input(path, "hash tile", TILE_WIDTH * HASH_SIZE)
        if len(data) != width * HASH_SIZE:
            raise InputError(
                f"{path}: hash tile is {len(data)} bytes; {width} hashes are "
                f"{width * HASH_SIZE} bytes"
            )
        return path, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]

    def access_log(self) -> Iterator[dict[str, Any]] | None:
        """The access log's records (``access-log.jsonl``), or None if the bundle
        carries none. An unreadable line is yielded as a malformed record, which
        the chain check names (``verify/access_chain.py``)."""
        path = self.directory / ACCESS_LOG_FILE
        if not path.is_file():
            return None

        def records() -> Iterator[dict[str, Any]]:
            with path.open("rb") as handle:
                for n, line in enumerate(handle):
                    try:
                        record = json.loads(line[:MAX_ACCESS_RECORD])
                    except ValueError:
                        record = None
                    yield record if isinstance(record, dict) else {"seq": n, "bad": True}

        return records()
