"""Proof text and a note's tree size, each defined once: proof hashes one a
line and the tlog-witness add-checkpoint request (verify/formats/proofs.py),
``tree_size`` and ``note_checkpoint`` (verify/formats/checkpoint.py)."""

from __future__ import annotations

import base64

import pytest

from verify.errors import CheckpointError, NoteError, VerifyError, WitnessRequestError
from verify.formats.checkpoint import (
    Checkpoint,
    note_checkpoint,
    sign_checkpoint,
    tree_size,
)
from verify.formats.note import Ed25519Signer, sign_note
from verify.formats.proofs import (
    MAX_PROOF_LINES,
    AddCheckpoint,
    hash_line,
    hash_lines,
    parse_add_checkpoint,
)
from verify.formats.receipt import Receipt, parse_receipt
from verify.merkle.tree import consistency_proof, memory_perfect, tree_root

ORIGIN = "pmm.example/ledger"
LOG = Ed25519Signer.generate(ORIGIN)
LEAVES = [bytes([n]) * 32 for n in range(11)]
PERFECT = memory_perfect(LEAVES)
NOTE = sign_checkpoint(Checkpoint(ORIGIN, 11, tree_root(11, PERFECT)), LOG)
PROOF = consistency_proof(4, 11, PERFECT)
B64_ZERO = base64.b64encode(bytes(32)).decode()


def test_hash_lines_are_base64_one_a_line() -> None:
    assert hash_line(b"\x00" * 32) == "A" * 43 + "="
    text = hash_lines(PROOF)
    assert text == "".join(base64.b64encode(h).decode() + "\n" for h in PROOF)
    assert text.count("\n") == len(PROOF)
    assert hash_lines([]) == ""


def test_a_receipt_writes_its_audit_path_as_hash_lines() -> None:
    receipt = Receipt(3, tuple(PROOF), NOTE)
    path = hash_lines(PROOF)
    assert receipt.format() == f"c2sp.org/tlog-proof@v1\nindex 3\n{path}\n{NOTE}"
    assert parse_receipt(receipt.format()) == receipt
    empty = Receipt(0, (), NOTE)
    assert empty.format() == f"c2sp.org/tlog-proof@v1\nindex 0\n\n{NOTE}"
    assert parse_receipt(empty.format()) == empty


def test_add_checkpoint_requests_round_trip() -> None:
    request = AddCheckpoint(4, tuple(PROOF), NOTE)
    text = request.format()
    assert text == f"old 4\n{hash_lines(PROOF)}\n{NOTE}"
    read = parse_add_checkpoint(text.encode())
    assert read.request == request
    assert read.checkpoint == note_checkpoint(NOTE)
    assert read.note.text == note_checkpoint(NOTE).body()
    first = parse_add_checkpoint(AddCheckpoint(0, (), NOTE).format().encode())
    assert first.request == AddCheckpoint(0, (), NOTE)


@pytest.mark.parametrize(
    ("body", "message", "cause"),
    [
        (b"garbage", "request must start with 'old <size>' and <= 63 proof lines", None),
        (f"older 4\n\n{NOTE}".encode(), "request must start with 'old <size>'", None),
        (
            (
                "old 4\n" + hash_lines([b"\x00" * 32] * (MAX_PROOF_LINES + 1)) + "\n" + NOTE
            ).encode(),
            "request must start with 'old <size>' and <= 63 proof lines",
            None,
        ),
        (f"old 04\n\n{NOTE}".encode(), "old size must be a decimal number", None),
        (f"old -1\n\n{NOTE}".encode(), "old size must be a decimal number", None),
        (b"old 4\n\n\xff", "malformed add-checkpoint request", "utf-8"),
        (f"old 4\nnot base64!\n\n{NOTE}".encode(), "malformed add-checkpoint request", ""),
        (b"old 4\n\nno note", "malformed add-checkpoint request", "note"),
        (
            ("old 0\n\n" + sign_note(f"o\n01\n{B64_ZERO}\n", [LOG])).encode(),
            "malformed add-checkpoint request",
            "leading zeros",
        ),
    ],
)
def test_hostile_add_checkpoint_requests_are_refused(
    body: bytes, message: str, cause: str | None
) -> None:
    with pytest.raises(WitnessRequestError) as refused:
        parse_add_checkpoint(body)
    assert refused.value.message.startswith(message)
    if cause is None:
        assert refused.value.cause is None
    else:
        assert refused.value.cause is not None and cause in refused.value.cause
        assert str(refused.value) == f"{refused.value.message}: {refused.value.cause}"


def test_tree_size_reads_the_size_line_of_a_note() -> None:
    assert tree_size(NOTE) == 11
    assert tree_size(NOTE.encode()) == 11
    assert note_checkpoint(NOTE) == Checkpoint(ORIGIN, 11, tree_root(11, PERFECT))
    empty = sign_checkpoint(Checkpoint(ORIGIN, 0, tree_root(0, PERFECT)), LOG)
    assert tree_size(empty) == 0


@pytest.mark.parametrize(
    "size",
    ["011", "-1", "+1", " 1", "1 ", "0x10", "1e3", "١", "18446744073709551616", ""],
)
def test_a_note_with_a_bad_size_line_has_no_tree_size(size: str) -> None:
    note = sign_note(f"{ORIGIN}\n{size}\n{B64_ZERO}\n", [LOG])
    with pytest.raises(CheckpointError):
        tree_size(note)


@pytest.mark.parametrize(
    "note",
    [
        "",
        "pmm.example/ledger\n11\n",  # no signature block
        f"{ORIGIN}\n11\n\n— {ORIGIN} AAAA\n",
        NOTE.replace("\n\n", "\n", 1),
        b"\xff\xfe",
    ],
)
def test_what_is_not_a_checkpoint_note_has_no_tree_size(note: str | bytes) -> None:
    with pytest.raises((NoteError, CheckpointError)) as refused:
        tree_size(note)
    assert isinstance(refused.value, VerifyError)
