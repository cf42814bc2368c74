"""The verifier benchmark's synthetic export bundle, built directly (not through the
ledger: 10^6 statements through ``Ledger.record`` would take hours).

A genesis admin, a Secretariat and one NCP per synthetic Member (AAA, AAB, ...)
registered in ``registry``; a framework of 50 KPIs; then assessment streams of
1,000 entries: ``assessment.opened`` by the Secretariat, the Member's NCP's values
for T-1 and T, then corrections of them (generator ``v2``: a log the ledger would
record, on which the verifier replays every rule, docs/decisions.md 14). Signed
with ``verify.formats.statement.sign``, stored as ``entry_bytes``, one millisecond of
record time per entry, in the tlog-tiles layout of ``pmm export`` with a signed
checkpoint and a ``trust.json`` (the log alone as policy). Keys come from fixed
seeds, so the bundle is the same on every machine; it is cached, keyed by N.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import shutil
import string
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.common import progress
from verify.formats.bundle import split_bundle
from verify.formats.checkpoint import Checkpoint, sign_checkpoint
from verify.formats.entry import entry_bytes
from verify.formats.note import Ed25519Signer
from verify.formats.statement import (
    STATEMENT_FORMAT,
    SignedStatement,
    format_timestamp,
    key_id,
    sign,
)
from verify.formats.tiles import (
    CHECKPOINT_FILE,
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    frame_entries,
    tile_path,
    tiles_of,
)
from verify.formats.trust import TRUST_FILE, trust_bytes, trust_fields
from verify.merkle.frontier import Frontier
from verify.merkle.tree import leaf_hash

ORIGIN = "bench.pmm.example/verify"
GENERATOR = "v2"  # bump when the generated bundle changes: the cache is keyed by it
MEMBERS = 180  # synthetic Members, one NCP each
STREAM_ENTRIES = 1000  # per assessment stream: one assessment.opened, then values
KPIS = 50
BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ADMIN, SECRETARIAT = "admin", "wco-sec"
TILES_PER_JOB = 16


def member_codes() -> list[str]:
    letters = string.ascii_uppercase
    return [
        "".join(c) for c in itertools.islice(itertools.product(letters, repeat=3), MEMBERS)
    ]


def principals() -> list[tuple[str, str, str | None]]:
    """(principal, role, member) in registration order, the admin first."""
    ncps = [(f"ncp-{m.lower()}", "ncp", m) for m in member_codes()]
    return [(ADMIN, "admin", None), (SECRETARIAT, "secretariat", None), *ncps]


@functools.cache
def private_key(principal: str) -> Ed25519PrivateKey:
    """Deterministic keys, so every generator process derives the same ones."""
    seed = hashlib.sha256(f"pmm-bench-verify/{principal}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.cache
def public_key(principal: str) -> bytes:
    return private_key(principal).public_key().public_bytes_raw()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _statement(
    index: int, principal: str, stream: str, kind: str, body: dict[str, Any], version: int
) -> SignedStatement:
    statement = {
        "body": body,
        "expected_version": version,
        "format": STATEMENT_FORMAT,
        "issued_at": format_timestamp(BASE_TIME + timedelta(milliseconds=index)),
        "key_id": key_id(public_key(principal)),
        "nonce": f"bench{index:016d}",
        "origin": ORIGIN,
        "principal": principal,
        "stream": stream,
        "type": kind,
    }
    return sign(statement, private_key(principal))


@functools.cache
def preamble() -> list[tuple[str, str, str, dict[str, Any], int]]:
    """(signer, stream, type, body, expected version) of the entries before the
    assessments: the registry (genesis, then each principal) and the framework
    (one dimension, one outcome, the KPIs the values are for), so the log is one
    the ledger would have recorded and the verifier replays every rule on it."""
    entries: list[tuple[str, str, str, dict[str, Any], int]] = []
    for n, (name, role, member) in enumerate(principals()):
        if n == 0:
            admin = {"name": "Ledger administrator", "principal": name}
            ledger = {"name": "The ledger", "principal": "ledger"}
            genesis: dict[str, Any] = {
                "admins": [{**admin, "public_key": _b64(public_key(name))}],
                "ledger": {**ledger, "public_key": _b64(public_key("ledger"))},
                "threshold": 1,
            }
            entries.append((name, "registry", "registry.genesis", genesis, 0))
            continue
        body: dict[str, Any] = {
            "approvals": [],
            "member": member,
            "name": f"Principal {name}",
            "principal": name,
            "public_key": _b64(public_key(name)),
            "role": role,
        }
        entries.append((ADMIN, "registry", "principal.registered", body, n))
    framework: list[tuple[str, dict[str, Any]]] = [
        ("framework.created", {"title": "Synthetic PMM framework"}),
        ("dimension.defined", {"code": "D1", "name": "Dimension 1"}),
        ("outcome.defined", {"code": "O1", "dimension": "D1", "name": "Outcome 1"}),
    ] + [
        (
            "kpi.defined",
            {
                "applies_from": 2015,
                "code": kpi_code(k),
                "direction": "lower_is_better",
                "disclosure": "public",
                "name": f"KPI {k + 1}",
                "outcome": "O1",
                "scoring_method": {"method": "linear", "best": "0", "worst": "1000"},
                "unit": "hours",
                "value_kind": "number",
            },
        )
        for k in range(KPIS)
    ]
    for version, (kind, definition) in enumerate(framework):
        entries.append((SECRETARIAT, "framework", kind, definition, version))
    return entries


def kpi_code(k: int) -> str:
    return f"KPI-{k + 1:02d}"


def signed_entry(index: int) -> tuple[SignedStatement, int]:
    """Entry ``index`` of the synthetic log: its signed statement and stream version.

    Each assessment stream: ``assessment.opened``, then a value for each KPI and
    year (T−1 and T, the only years an assessment takes), then corrections, each
    superseding the current value of its KPI and year."""
    first = preamble()
    if index < len(first):
        signer, stream, kind, body, version = first[index]
        return _statement(index, signer, stream, kind, body, version), version + 1
    block, offset = divmod(index - len(first), STREAM_ENTRIES)
    member = member_codes()[block % MEMBERS]
    cycle = str(block // MEMBERS + 1)
    stream = f"assessment/{member}/{cycle}"
    if offset == 0:
        body = {"cycle": cycle, "member": member, "reference_year": 2022}
        kind = "assessment.opened"
        return _statement(index, SECRETARIAT, stream, kind, body, 0), 1
    pairs = 2 * KPIS  # (KPI, year) pairs
    pair = (offset - 1) % pairs
    body = {
        "disclosure": "public",
        "evidence": [hashlib.sha256(f"evidence/{index}".encode()).hexdigest()],
        "kpi": kpi_code(pair % KPIS),
        "reference_year": 2021 + pair // KPIS,
        "status": "value",
        "unit": "hours",
        "value": {"amount": f"{index % 997}.{index % 10}"},
    }
    kind = "value.submitted"
    if offset > pairs:  # the pair's current value is the entry one round before
        body |= {"kind": "correction", "reason": "revised figure"}
        body["supersedes"] = offset - pairs + 1
        kind = "value.corrected"
    ncp = f"ncp-{member.lower()}"
    return _statement(index, ncp, stream, kind, body, offset), offset + 1


def raw_entry(index: int) -> bytes:
    signed, version = signed_entry(index)
    return entry_bytes(signed, version, BASE_TIME + timedelta(milliseconds=index))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_tiles(job: tuple[str, int, int, int]) -> list[tuple[int, bytes]]:
    """Write entry bundles ``first`` .. ``last - 1`` of a log of ``size`` entries;
    return each bundle's level-0 hash tile (its entries' leaf hashes)."""
    directory, size, first, last = job
    out = []
    for n in range(first, last):
        start = n * TILE_WIDTH
        raws = [raw_entry(i) for i in range(start, min(size, start + TILE_WIDTH))]
        _write(Path(directory) / tile_path(ENTRIES, n, len(raws)), frame_entries(raws))
        out.append((n, b"".join(leaf_hash(raw) for raw in raws)))
    return out


def log_signer() -> Ed25519Signer:
    seed = hashlib.sha256(b"pmm-bench-verify/log").digest()
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))


def build_bundle(directory: Path, size: int, workers: int) -> None:
    """Write the export folder of the synthetic log of ``size`` entries."""
    tiles = (size + TILE_WIDTH - 1) // TILE_WIDTH
    jobs = [
        (str(directory), size, first, min(tiles, first + TILES_PER_JOB))
        for first in range(0, tiles, TILES_PER_JOB)
    ]
    level_hashes: dict[int, list[bytes]] = {}

    def on_node(level: int, index: int, node: bytes) -> None:
        level_hashes.setdefault(level, []).append(node)

    frontier = Frontier(on_node=on_node, stride=TILE_HEIGHT)
    started = perf_counter()
    done = 0
    with ProcessPoolExecutor(workers) as pool:
        for chunk in pool.map(build_tiles, jobs):  # in order: the tree needs it
            for n, hashes in chunk:
                _write(directory / tile_path(0, n, len(hashes) // 32), hashes)
                for at in range(0, len(hashes), 32):
                    frontier.add(hashes[at : at + 32])
                done += 1
            if done % 256 < TILES_PER_JOB or done == tiles:
                elapsed = perf_counter() - started
                progress(
                    f"  built {min(size, done * TILE_WIDTH):,} / {size:,} entries "
                    f"({elapsed:.0f} s)"
                )
    assert frontier.size == size
    for level, nodes in sorted(level_hashes.items()):
        for n, width in tiles_of(len(nodes)):
            tile = nodes[n * TILE_WIDTH : n * TILE_WIDTH + width]
            _write(directory / tile_path(level, n, width), b"".join(tile))
    signer = log_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, frontier.root()), signer)
    _write(directory / CHECKPOINT_FILE, note.encode())
    first_bundle = directory / tile_path(ENTRIES, 0, min(size, TILE_WIDTH))
    genesis = split_bundle(first_bundle.read_bytes(), first_bundle)[0]
    vkey = signer.verifier().vkey()
    trust = trust_fields(ORIGIN, vkey, genesis)
    _write(directory / TRUST_FILE, trust_bytes(trust))


def cached_bundle(cache: Path, size: int, workers: int) -> Path:
    """The export folder for ``size`` entries, built unless a complete one is cached."""
    directory = cache / f"{GENERATOR}-n{size}"
    marker = directory / "COMPLETE"
    if marker.exists():
        progress(f"verify: N={size:,}, the cached bundle {directory}")
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    progress(f"verify: N={size:,}, building the bundle in {directory}")
    started = perf_counter()
    build_bundle(directory, size, workers)
    marker.write_text(f"{size}\n")
    progress(f"verify: built in {perf_counter() - started:.0f} s")
    return directory
