"""``pmm export``: the log as static C2SP tlog-tiles files (docs/formats.md §2.5).

Layout under the output folder, exactly as a tlog-tiles server serves it:

* ``checkpoint``: the latest signed checkpoint note;
* ``tile/<L>/<N>[.p/<W>]``: hash tiles; tile N at level L holds the hashes of
  the perfect subtrees of height 8L at indexes N*256 .. N*256+W-1 (32 bytes
  each, W = 256 for a full tile);
* ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry as a big-endian
  uint16 length then its exact bytes (paths and framing:
  ``verify/formats/tiles.py``);
* ``trust.json``: the roots a verifier pins (docs/design.md §5): origin, log
  verifier key, the genesis entry's SHA-256, and the tlog-policy text
  (``verify/formats/trust.py``);
* ``access-log.jsonl``: the access log's records, one JSON object a line, as
  stored, so the verifier holds them to the seals in the log (decision 16).
  Like the entry bundles it is for entitled auditors, not a public mirror.

Tile contents come from the stored subtree hashes, entries from the stored
event bytes; nothing is re-serialised. Damage in the database is exported as it
is, never hidden: an entry whose stored event is gone is a zero-length entry
in a bundle still named by the checkpoint's size, and a tile whose subtree
hashes are gone is not written (the summary lists both), so the verifier names
exactly what is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from ledger.application import Ledger
from ledger.errors import ConfigurationError
from ledger.files import private_folder, write_private
from ledger.home import POLICY_FILE
from ledger.log_keys import log_key_changes
from verify.formats.bundle import ACCESS_LOG_FILE
from verify.formats.checkpoint import tree_size
from verify.formats.tiles import (
    CHECKPOINT_FILE,
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    frame_entries,
    hash_tiles,
    tile_path,
)
from verify.formats.trust import TRUST_FILE, trust_bytes, trust_fields

# TRUST_FILE is named here too for projections/report.py, which imports it from
# this module; its one definition is verify/formats/trust.py.
__all__ = ["TRUST_FILE", "export"]


def _write(path: Path, data: bytes) -> None:
    # Entry bundles hold restricted values: folders 0700, files 0600 (decision 20).
    private_folder(path.parent)
    write_private(path, data)


def export(ledger: Ledger, out: Path, policy: str | None = None) -> dict[str, object]:
    """Write the log of ``ledger`` as of its latest checkpoint into ``out``.

    ``policy`` is the tlog-policy text for the trust file: by default the
    ledger's witness policy (HOME/witness-policy.txt), else the log alone.
    """
    if policy is None:
        path = ledger.settings.home / POLICY_FILE
        policy = path.read_text() if path.exists() else None
    if out.exists() and any(out.iterdir()):
        raise ConfigurationError(f"{out} is not empty; export into a new folder")
    note = ledger.sequencer.checkpoint()
    size = tree_size(note)
    store = ledger.sequencer.store
    tiles = 0
    missing_tiles: list[str] = []
    for level, n, width in hash_tiles(size):
        name = tile_path(level, n, width)
        start = n * TILE_WIDTH
        try:
            hashes = store.node_range(TILE_HEIGHT * level, start, start + width)
        except LookupError:  # subtree hashes gone: no tile, which the verifier reports
            missing_tiles.append(name)
            continue
        _write(out / name, b"".join(hashes))
        tiles += 1
    genesis = b""
    missing: list[int] = []
    for start in range(0, size, TILE_WIDTH):
        stop = min(size, start + TILE_WIDTH)
        found = dict(store.entries(start, stop))
        if start == 0:
            genesis = found.get(0, b"")
        # Named as the checkpoint's size implies; an entry not in the database
        # (a log index without its stored event) is written as zero bytes,
        # which the verifier reports as that entry missing (docs/verifier.md).
        missing += [i for i in range(start, stop) if i not in found]
        raws = [found.get(i, b"") for i in range(start, stop)]
        bundle = frame_entries(raws)
        _write(out / tile_path(ENTRIES, start // TILE_WIDTH, stop - start), bundle)
    _write(out / CHECKPOINT_FILE, note.encode())
    lines = [
        json.dumps(record, sort_keys=True) + "\n" for record in ledger.access_log.records()
    ]
    _write(out / ACCESS_LOG_FILE, "".join(lines).encode())
    # The trust file pins the log's first key; a verifier follows the log's
    # hand-overs from it to the key that signs now (docs/decisions.md 33).
    changes = log_key_changes(ledger)
    vkey = changes[0].old_key if changes else ledger.log_vkey()
    trust = trust_fields(ledger.origin, vkey, genesis, policy)
    _write(out / TRUST_FILE, trust_bytes(trust))
    return {
        "size": size,
        "hash_tiles": tiles,
        "out": str(out),
        **trust,
        "missing_entries": missing,
        "missing_tiles": missing_tiles,
    }
