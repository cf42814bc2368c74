"""What must hold after a writer was killed and the ledger opened again.

``check_ledger`` reopens the ledger (which integrates whatever committed before
the crash, ledger/sequencer.py) and holds it to every acknowledgement of the run:

* the log is gapless (indexes 0..n-1, one leaf per stored event) and its root is
  the naive RFC 6962 root of the stored entries (``verify.merkle.tree.root_of``), not
  the stored subtree hashes;
* every stored entry parses and each stream's versions run 1, 2, 3... in log order;
* every acknowledged write is at its index with exactly the acknowledged bytes;
* every receipt ever returned verifies (log signature, inclusion in its own
  tree) and its tree is a prefix of the newest checkpoint's (consistency), the
  entry in the newest tree (inclusion): proofs computed from the entries in
  memory and, on ``deep`` checks, from the ledger's stored hashes too;

and ``pmm_verify`` runs ``pmm verify`` on the live ledger.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from ledger.application import Ledger
from ledger.home import open_ledger
from ledger.persistence import DATABASE_URL_VAR, Settings
from tests.faults.crash_child import mark_of
from verify.errors import VerifyError
from verify.formats.checkpoint import parse_checkpoint
from verify.formats.entry import parse_entry
from verify.formats.note import parse_note
from verify.formats.policy_text import TrustPolicy, parse_policy
from verify.formats.receipt import parse_receipt, verify_receipt
from verify.merkle.tree import (
    Perfect,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    memory_perfect,
    root_of,
    verify_consistency,
    verify_inclusion,
)


@dataclass(frozen=True)
class Ack:
    """One acknowledged write, as its writer's caller received it."""

    stream: str
    stream_version: int
    log_index: int
    tree_size: int
    entry_sha256: str
    receipt: str | None = None
    entry: bytes | None = None  # the exact bytes, where the answer carries them


@dataclass
class LogState:
    """The log as the check found it after the restart."""

    size: int
    versions: dict[str, int]
    keys: set[str]  # every entry's signature and draft mark: what in-flight writes name
    receipts_checked: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)


def _policy(ledger: Ledger) -> TrustPolicy:
    return parse_policy(f"log {ledger.log_vkey()}\nquorum none\n")


def _count(ledger: Ledger, sql: str) -> tuple[int, ...]:
    with ledger.sequencer.store.read() as cur:
        row = cur.execute(sql).one()
    assert row is not None
    return tuple(-1 if value is None else int(value) for value in row)


def check_ledger(settings: Settings, acks: list[Ack], *, deep: bool = False) -> LogState:
    """Reopen the ledger and check it; problems are listed, never raised."""
    ledger = open_ledger(settings)
    try:
        return _check(ledger, acks, deep)
    finally:
        ledger.close()


def _check(ledger: Ledger, acks: list[Ack], deep: bool) -> LogState:
    store, policy = ledger.sequencer.store, _policy(ledger)
    note = ledger.sequencer.checkpoint()
    newest = policy.verify_checkpoint(note, origin=ledger.origin).checkpoint
    size, root = newest.size, newest.root
    state = LogState(size, {}, set())
    problem = state.problems.append
    named: dict[int, tuple[str, int]] = {}  # index -> (stream, version) of each entry
    events = _count(ledger, f"SELECT COUNT(*) FROM {store.events_table}")[0]
    leaves = _count(
        ledger, "SELECT COUNT(*), MIN(log_index), MAX(log_index) FROM {p}pmm_log_leaves"
    )
    if leaves != ((size, 0, size - 1) if size else (0, -1, -1)) or events != size:
        problem(f"log of size {size}: leaves (count, min, max) {leaves}, events {events}")
    rows = store.entries(0, size)
    if [index for index, _ in rows] != list(range(size)):
        problem(f"the log's indexes are not 0..{size - 1}")
    entries = [raw for _, raw in rows]
    hashes = [leaf_hash(raw) for raw in entries]
    if root_of(hashes) != root:
        problem(f"the newest checkpoint's root is not the root of the {size} entries")
    if ledger.sequencer.root(size) != root:
        problem("the stored subtree hashes give another root than the entries")
    for index, raw in enumerate(entries):
        try:
            entry = parse_entry(raw)
        except VerifyError as exc:
            problem(f"entry {index} does not parse: {exc}")
            continue
        expected = state.versions.get(entry.stream, 0) + 1
        if entry.stream_version != expected:
            problem(
                f"entry {index}: {entry.stream} version {entry.stream_version}, "
                f"expected {expected}"
            )
        state.versions[entry.stream] = entry.stream_version
        named[index] = (entry.stream, entry.stream_version)
        mark = mark_of(entry.entry_type, entry.signed.statement["body"])
        state.keys |= {entry.signed.signature, *([mark] if mark else [])}
    perfect = memory_perfect(hashes)
    for ack in acks:
        raw = entries[ack.log_index] if 0 <= ack.log_index < size else b""
        same = raw and hashlib.sha256(raw).hexdigest() == ack.entry_sha256
        same = same and named.get(ack.log_index) == (ack.stream, ack.stream_version)
        if not same or (ack.entry is not None and ack.entry != raw):
            state.lost += 1
            problem(
                f"acknowledged {ack.stream} v{ack.stream_version} is not entry "
                f"{ack.log_index} of the log of size {size}"
            )
            continue
        if ack.receipt is None:
            continue
        try:
            _receipt(ledger, policy, ack, hashes, perfect, root, deep)
            state.receipts_checked += 1
        except (VerifyError, AssertionError, LookupError) as exc:
            problem(f"the receipt of entry {ack.log_index} fails: {exc}")
    return state


_VERIFIED: set[tuple[str, bytes]] = set()  # receipts whose signature and path verified


def _receipt(
    ledger: Ledger,
    policy: TrustPolicy,
    ack: Ack,
    hashes: list[bytes],
    perfect: Perfect,
    root: bytes,
    deep: bool,
) -> None:
    """Receipt ``ack.receipt`` against the newest tree of ``hashes`` (root ``root``)."""
    assert ack.receipt is not None
    index, leaf, size = ack.log_index, hashes[ack.log_index], len(hashes)
    if deep or (ack.receipt, leaf) not in _VERIFIED:  # a receipt's own text never changes
        verify_receipt(ack.receipt, leaf, policy, origin=ledger.origin)
        _VERIFIED.add((ack.receipt, leaf))
    receipt = parse_receipt(ack.receipt)
    old = parse_checkpoint(parse_note(receipt.checkpoint).text)
    assert old.size == ack.tree_size and receipt.index == index, (
        "receipt names another entry"
    )
    verify_consistency(
        old.size, size, old.root, root, consistency_proof(old.size, size, perfect)
    )
    verify_inclusion(index, size, leaf, inclusion_proof(index, size, perfect), root)
    if deep:  # the ledger's own proofs, from its stored subtree hashes
        if old.size < size:
            stored = ledger.sequencer.consistency(old.size, size)
            verify_consistency(old.size, size, old.root, root, stored)
        verify_inclusion(
            index, size, leaf, ledger.sequencer.inclusion(index, size).path, root
        )


def in_flight(state: LogState, keys: list[str]) -> tuple[int, int]:
    """(present, absent) of the writes in flight at the kill (signatures or marks)."""
    found = Counter(key in state.keys for key in keys)
    return found[True], found[False]


def pmm_verify(settings: Settings) -> list[str]:
    """``pmm verify`` of the live ledger, in this process: [] when it exits 0."""
    from typer.testing import CliRunner

    from api.cli import app

    env = {DATABASE_URL_VAR: settings.database_url or "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["verify", "--home", str(settings.home)], env=env)
    if result.exit_code == 0:
        return []
    return [f"pmm verify exited {result.exit_code}: {result.output[-2000:]}"]
