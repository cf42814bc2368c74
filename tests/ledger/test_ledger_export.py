"""``pmm export``: the log as C2SP tlog-tiles that an independent RFC 6962
computation turns back into the signed checkpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.application import Ledger
from ledger.errors import ConfigurationError
from ledger.export import export
from ledger.keys import KeyPair
from verify.formats.checkpoint import parse_checkpoint
from verify.formats.note import open_note
from verify.formats.note_keys import Ed25519Verifier
from verify.formats.tiles import tile_index_path, tile_path

if TYPE_CHECKING:
    from tests.conftest import Registration


def naive_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, straight from the definition (independent of verify/)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    left, right = naive_root(leaves[:k]), naive_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def read_bundle(data: bytes) -> list[bytes]:
    entries, at = [], 0
    while at < len(data):
        length = int.from_bytes(data[at : at + 2], "big")
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return entries


def grow(ledger: Ledger, registration: Registration, count: int) -> None:
    version = ledger.stream_version("registry")
    statements = []
    for n in range(count):
        key = KeyPair.generate(f"p{n}")
        body = {
            "member": None,
            "name": f"Principal {n}",
            "principal": f"p{n}",
            "public_key": key.public_key,
            "role": "peer_reviewer",
        }
        statements.append(registration(ledger, body, version + n))
    ledger.record_batch(statements)


def test_tile_paths_follow_tlog_tiles() -> None:
    assert tile_index_path(1234067) == "x001/x234/067"
    assert tile_index_path(0) == "000"
    assert tile_path(0, 1, 256) == "tile/0/001"
    assert tile_path("entries", 1234, 7) == "tile/entries/x001/234.p/7"


def test_export_recomputes_to_the_signed_checkpoint(
    ledger: Ledger, registration: Registration, tmp_path: Path
) -> None:
    grow(ledger, registration, 300)  # 301 entries: a full tile and a partial one
    out = tmp_path / "export"
    summary = export(ledger, out)
    size = ledger.log_size()
    assert summary["size"] == size == 301
    trust = json.loads((out / "trust.json").read_text())
    verifier = Ed25519Verifier.from_vkey(trust["log_vkey"])
    opened = open_note((out / "checkpoint").read_text(), [verifier])
    checkpoint = parse_checkpoint(opened.text)
    entries = read_bundle((out / "tile/entries/000").read_bytes())
    entries += read_bundle((out / "tile/entries/001.p/45").read_bytes())
    assert len(entries) == size
    assert hashlib.sha256(entries[0]).hexdigest() == trust["genesis_entry_sha256"]
    leaves = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
    assert checkpoint.size == size and checkpoint.root == naive_root(leaves)
    level0 = (out / "tile/0/000").read_bytes() + (out / "tile/0/001.p/45").read_bytes()
    assert level0 == b"".join(leaves)
    assert (out / "tile/1/000.p/1").read_bytes() == naive_root(leaves[:256])
    with pytest.raises(ConfigurationError, match="not empty"):
        export(ledger, out)
