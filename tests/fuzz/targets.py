"""The fuzz targets: for each, what one input must give (fuzzing).

A target reads bytes and either accepts them, and then writing what it read
gives the same bytes back (round trip), or refuses them with one of the
module's declared errors, never IndexError, KeyError, UnicodeDecodeError,
RecursionError or any other exception, within bounded time and memory
(``bounded``). The properties (``test_fuzz_*.py``) call these on generated
and mutated inputs, the corpus (``tests/fuzz/corpus/<target>/``) on every
input that ever failed, so a fixed bug stays fixed.
"""

from __future__ import annotations

import json
import signal
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import rfc8785

from tests.fuzz.strategies import KEY
from tests.fuzz.strategies_log import LOG, WITNESS, bundle_bytes
from tests.fuzz.strategies_log import entry as entry_of
from tests.fuzz.targets_files import FILE_TARGETS, in_folder, short
from tests.fuzz.targets_witness import access_log, witness
from verify.errors import (
    BadSignatureError,
    CheckpointError,
    MalformedStatementError,
    NoteError,
    PolicyError,
    ProofError,
    ReceiptError,
    VerifyError,
)
from verify.formats.bundle import Bundle
from verify.formats.canonical import MAX_SAFE_INTEGER, canonical_bytes, parse_canonical
from verify.formats.checkpoint import open_checkpoint, parse_checkpoint
from verify.formats.cosignature import CosignatureVerifier
from verify.formats.entry import parse_entry
from verify.formats.note import open_note, parse_note
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import parse_receipt, verify_receipt
from verify.formats.statement import parse_signed_statement, verify_signature
from verify.formats.tiles import frame, tile_path
from verify.merkle.tree import leaf_hash, verify_consistency, verify_inclusion

# Generous for inputs of a few kilobytes, far below what an amplification
# (a 12-byte number spelled out in a gigabyte) takes.
MEMORY_LIMIT = 64 << 20
TIME_LIMIT = 20  # seconds, for one input
POLICY = parse_policy(
    f"log {LOG.verifier().vkey()}\n"
    f"witness w {CosignatureVerifier(WITNESS.name, WITNESS.public_key).vkey()}\n"
    "quorum w\n"
)


class OverBudgetError(AssertionError):
    """One input took more time or memory than any input of its size may."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise OverBudgetError(f"an input took over {TIME_LIMIT} s")


@contextmanager
def bounded() -> Iterator[None]:
    """Fail the input if it runs over ``TIME_LIMIT`` or allocates over ``MEMORY_LIMIT``."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT)
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
        if peak > MEMORY_LIMIT:
            raise OverBudgetError(f"an input allocated {peak >> 20} MiB at its peak")
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _in_domain(value: Any) -> bool:
    """Whether a parsed JSON value is one statements may carry: no binary
    float, integers in the exact range (verify/formats/canonical.py)."""
    if isinstance(value, float):
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= MAX_SAFE_INTEGER
    if isinstance(value, dict):
        return all(_in_domain(v) for v in value.values())
    if isinstance(value, list):
        return all(_in_domain(v) for v in value)
    return True


def canonical(data: bytes) -> bool:
    """JCS: ours accepts exactly what ``rfc8785`` writes (float-free JSON)."""
    try:
        value = parse_canonical(data)
    except MalformedStatementError as exc:
        short(exc)
        try:  # refused: then rfc8785 must not write these bytes for what they hold
            parsed = json.loads(data)
            reference = rfc8785.dumps(parsed)
        except Exception:  # not JSON to the standard library or to rfc8785 either
            return False
        assert reference != data or not _in_domain(parsed), data
        return False
    assert canonical_bytes(value) == data
    assert rfc8785.dumps(value) == data
    return True


def statement(data: bytes) -> bool:
    try:
        signed = parse_signed_statement(data)
    except MalformedStatementError as exc:
        short(exc)
        return False
    assert signed.to_bytes() == data
    try:
        verify_signature(signed, KEY.public_key().public_bytes_raw())
    except BadSignatureError as exc:
        short(exc)
        return False
    return True


def entry(data: bytes) -> bool:
    try:
        parsed = parse_entry(data)
    except MalformedStatementError as exc:
        short(exc)
        return False
    assert parsed.raw == data
    assert parse_canonical(parsed.signed.canonical()) == parsed.signed.statement
    return True


def note(data: bytes) -> bool:
    """A signed note: parsed, it formats back; opened, only ``NoteError``."""
    try:
        parsed = parse_note(data)
    except NoteError as exc:
        short(exc)
        return False
    assert parsed.format().encode("utf-8") == data
    try:
        open_note(data, [LOG.verifier(), WITNESS.verifier()])
    except NoteError as exc:
        short(exc)
        return False
    return True


def checkpoint(data: bytes) -> bool:
    """A whole signed checkpoint note (opened by the log key), or a body
    alone; either reads back as written."""
    try:
        opened = open_checkpoint(data, [LOG.verifier()], allow_extensions=True)
    except (NoteError, CheckpointError) as exc:
        short(exc)
        pass
    else:
        assert opened.checkpoint.body() == opened.note.text
        return True
    text = data.decode("utf-8", "replace")
    try:
        parsed = parse_checkpoint(text)
    except CheckpointError as exc:
        short(exc)
        return False
    assert parsed.body() == text
    return True


def cosignature(data: bytes) -> bool:
    """A cosigned checkpoint note: each cosignature verifies, fails or is
    refused with ``NoteError``; True when the witness's verifies."""
    try:
        parsed = parse_note(data)
    except NoteError as exc:
        short(exc)
        return False
    verifier = WITNESS.verifier()
    verified = False
    for line in parsed.signatures:
        if (line.name, line.key_id) != (verifier.name, verifier.key_id):
            continue
        try:
            verified = verifier.verify(parsed.text.encode("utf-8"), line.signature)
        except NoteError as exc:
            short(exc)
            return False
    return verified


def receipt(data: bytes) -> bool:
    """A receipt reads back as written; True when it verifies for its leaf
    (the corpus's receipts are of ``strategies_log.entry(index)``)."""
    try:
        parsed = parse_receipt(data)
    except ReceiptError as exc:
        short(exc)
        return False
    assert parsed.format().encode("utf-8") == data
    try:
        verify_receipt(parsed, leaf_hash(entry_of(parsed.index)), POLICY)
    except VerifyError as exc:
        short(exc)
        return False
    return True


def proof(data: bytes) -> bool:
    """JSON ``{"kind", "index"|"old", "size", "leaf"|"old_root", "root", "proof"}``,
    hashes in hex: verifying refuses with ``ProofError`` only."""
    spec = json.loads(data)
    hashes = [bytes.fromhex(h) for h in spec["proof"]]
    root = bytes.fromhex(spec["root"])
    try:
        if spec["kind"] == "inclusion":
            leaf = bytes.fromhex(spec["leaf"])
            verify_inclusion(spec["index"], spec["size"], leaf, hashes, root)
        else:
            old_root = bytes.fromhex(spec["old_root"])
            verify_consistency(spec["old"], spec["size"], old_root, root, hashes)
    except ProofError as exc:
        short(exc)
        return False
    return True


def policy(data: bytes) -> bool:
    """A tlog-policy text (verify/formats/policy_text.py): parsed or ``PolicyError``."""
    try:
        parse_policy(data)
    except PolicyError as exc:
        short(exc)
        return False
    return True


def tile(data: bytes) -> bool:
    """An entry bundle and a hash tile as an export folder holds them: read
    back as found (framing, surplus) and never raised (verify/formats/bundle.py).
    True when the bundle's framing is whole."""
    framing = frame(data)
    if framing.broken is None:
        assert bundle_bytes(framing.entries) == data
    width = max(1, min(256, len(framing.entries)))
    files = {tile_path("entries", 0, width): data, tile_path(0, 0, width): data}
    bundle, hashes = in_folder(
        files, lambda f: (Bundle(f).entries(0, width), Bundle(f).hashes(0, 0, width))
    )
    assert bundle.entries == framing.entries[:width]
    assert (hashes.hashes is None) == (len(data) != 32 * width)
    return framing.broken is None


TARGETS: dict[str, Callable[[bytes], bool]] = {
    "canonical": canonical,
    "statement": statement,
    "entry": entry,
    "note": note,
    "checkpoint": checkpoint,
    "cosignature": cosignature,
    "receipt": receipt,
    "proof": proof,
    "tile": tile,
    "policy": policy,
    "witness": witness,
    "access_log": access_log,
    **FILE_TARGETS,
}


def run(target: str, data: bytes) -> bool:
    """One input of ``target``, within the time and memory bounds: whether
    it was accepted (and read back as written) or refused cleanly."""
    with bounded():
        return TARGETS[target](data)
