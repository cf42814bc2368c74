"""Hypothesis strategies for the integrity log's formats (fuzzing).

Signed notes (C2SP signed-note), checkpoints (tlog-checkpoint), cosignatures
(tlog-cosignature), RFC 6962 trees with their inclusion and consistency
proofs, receipts (c2sp.org/tlog-proof@v1) and tlog-tiles hash tiles and
entry bundles; each built as the ledger builds it, from ``verify``'s own
writers, with fixed keys so a failing input replays byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from tests.fuzz.strategies import ORIGIN
from verify.formats.checkpoint import Checkpoint, sign_checkpoint
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note import Ed25519Signer, Note, Signature
from verify.formats.receipt import Receipt
from verify.merkle.tree import (
    consistency_proof,
    leaf_hash,
    memory_perfect,
    tree_root,
)

LOG = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
WITNESS = CosignatureSigner(
    "witness.fuzz.example", Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
)

# A key name: non-empty, no Unicode space, no '+', no control character.
KEY_NAME = st.text(
    st.characters(
        exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"], exclude_characters="+"
    ),
    min_size=1,
    max_size=16,
).filter(lambda name: not any(ch.isspace() for ch in name))
# Note text lines: any character but the ASCII controls (newline is the separator).
LINE = st.text(st.characters(exclude_categories=["Cs"], min_codepoint=0x20), max_size=30)


@st.composite
def notes(draw: st.DrawFn) -> Note:
    """A syntactically valid signed note: text lines (blank ones too), then
    1-4 signature lines by any names, key IDs and signature bytes."""
    lines = draw(st.lists(LINE, min_size=1, max_size=5))
    text = "".join(line + "\n" for line in lines)
    signatures = draw(
        st.lists(
            st.builds(
                Signature,
                KEY_NAME,
                st.integers(0, 2**32 - 1),
                st.binary(min_size=1, max_size=72),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return Note(text, tuple(signatures))


NOTE_BYTES = notes().map(lambda note: note.format().encode("utf-8"))


@dataclass(frozen=True)
class Tree:
    """An RFC 6962 tree of ``len(leaves)`` leaf hashes."""

    leaves: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return len(self.leaves)

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return tree_root(size, memory_perfect(list(self.leaves[:size])))

    def consistency(self, old: int) -> list[bytes]:
        return consistency_proof(old, self.size, memory_perfect(list(self.leaves)))


def entry(index: int) -> bytes:
    """A stand-in log entry (the leaf is SHA-256(0x00 || entry))."""
    return b'{"fuzz":' + str(index).encode() + b"}"


@st.composite
def trees(draw: st.DrawFn, max_size: int = 70) -> Tree:
    """A tree of 1..max_size leaves, each the leaf hash of a distinct entry."""
    size = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**16))
    return Tree(tuple(leaf_hash(entry(seed * 1000 + i)) for i in range(size)))


@st.composite
def checkpoints(draw: st.DrawFn) -> Checkpoint:
    """A checkpoint of any origin line, size and root, extension lines too."""
    origin = draw(LINE.filter(bool))
    root = draw(st.binary(min_size=32, max_size=32))
    extensions = draw(st.lists(LINE.filter(bool), max_size=2))
    return Checkpoint(origin, draw(st.integers(0, 2**64 - 1)), root, tuple(extensions))


CHECKPOINT_TEXT = checkpoints().map(Checkpoint.body)


def signed_checkpoint(tree: Tree, timestamp: int = 1_767_225_600) -> str:
    """The ledger's checkpoint note of ``tree``, signed by the log and the witness."""
    checkpoint = Checkpoint(ORIGIN, tree.size, tree.root())
    note = sign_checkpoint(checkpoint, LOG)
    body = checkpoint.body().encode("utf-8")
    cosignature = Signature(WITNESS.name, WITNESS.key_id, WITNESS.sign_at(body, timestamp))
    return note + cosignature.line()


@st.composite
def receipts(draw: st.DrawFn) -> tuple[Receipt, Tree]:
    """A receipt of one leaf of a tree, as ``ledger.receipt`` writes it."""
    from verify.merkle.tree import inclusion_proof

    tree = draw(trees())
    index = draw(st.integers(0, tree.size - 1))
    path = inclusion_proof(index, tree.size, memory_perfect(list(tree.leaves)))
    extra = draw(st.none() | st.binary(min_size=1, max_size=8))
    return Receipt(index, tuple(path), signed_checkpoint(tree), extra), tree


RECEIPT_BYTES = receipts().map(lambda pair: pair[0].format().encode("utf-8"))


@st.composite
def cosignature_lines(draw: st.DrawFn) -> tuple[str, str]:
    """(checkpoint body, the witness's cosignature line on it) for a tree."""
    tree = draw(trees(8))
    body = Checkpoint(ORIGIN, tree.size, tree.root()).body()
    timestamp = draw(st.integers(1, 2**63 - 1))
    raw = WITNESS.sign_at(body.encode("utf-8"), timestamp)
    return body, Signature(WITNESS.name, WITNESS.key_id, raw).line()


ENTRIES = st.lists(st.binary(max_size=300), max_size=12)


def bundle_bytes(entries: list[bytes]) -> bytes:
    """An entry bundle: each entry a big-endian uint16 length, then its bytes."""
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


def hash_tile(tree: Tree, width: int) -> bytes:
    """Level-0 hash tile 0 of ``width`` leaves: their hashes, concatenated."""
    return b"".join(tree.leaves[:width])


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.composite
def policies(draw: st.DrawFn) -> bytes:
    """A tlog-policy text (C2SP tlog-policy): the log, the witness, perhaps a
    group of it, a quorum; comments and blank lines between."""
    from verify.formats.cosignature import CosignatureVerifier

    witness = CosignatureVerifier(WITNESS.name, WITNESS.public_key).vkey()
    lines = [f"log {LOG.verifier().vkey()}", f"witness w {witness} https://w.example/"]
    quorum = "w"
    if draw(st.booleans()):
        lines.append(f"group g {draw(st.sampled_from(['all', 'any', '1']))} w")
        quorum = "g"
    lines.append(f"quorum {draw(st.sampled_from([quorum, 'none']))}")
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "# x"])))
    return "".join(line + "\n" for line in lines).encode("utf-8")


@st.composite
def witness_requests(draw: st.DrawFn) -> bytes:
    """An add-checkpoint request a fresh witness cosigns: ``old 0``, no proof
    (tlog-witness: from size 0 there is none), the log's checkpoint note."""
    return b"old 0\n\n" + signed_checkpoint(draw(trees(8))).encode("utf-8")


@st.composite
def access_logs(draw: st.DrawFn) -> bytes:
    """An export's ``access-log.jsonl``: a hash chain of 0-5 records, each
    hashed as ``verify/formats/access_chain.py`` defines (decision 13)."""
    from verify.formats.access_chain import GENESIS, record_hash

    lines, prev = [], GENESIS
    for seq in range(draw(st.integers(0, 5))):
        record: dict[str, object] = {
            "seq": seq,
            "recorded_at": "2026-05-01T12:00:00.000000Z",
            "principal": draw(st.sampled_from(["integrity", "sec", "ncp-ken"])),
            "role": "integrity_officer",
            "member": draw(st.sampled_from(["KEN", "BRA"])),
            "request": draw(LINE),
            "shown": draw(st.lists(st.integers(1, 99), max_size=3)),
            "token": draw(st.text("0123456789abcdef", min_size=16, max_size=16)),
            "prev": prev,
        }
        record["hash"] = prev = record_hash(record)
        lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())) + "\n")
    return "".join(lines).encode("utf-8")


@st.composite
def trust_files(draw: st.DrawFn) -> bytes:
    """An auditor's ``trust.json`` (format ``pmm-trust/v1``) for the fuzz log."""
    trust = {
        "format": "pmm-trust/v1",
        "origin": ORIGIN,
        "log_vkey": LOG.verifier().vkey(),
        "genesis_entry_sha256": draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
        "policy": draw(policies()).decode("utf-8"),
    }
    return json.dumps(trust, indent=draw(st.sampled_from([None, 2]))).encode("utf-8")
