"""C2SP tlog-proof receipts, ``c2sp.org/tlog-proof@v1`` (docs/design.md §4).

A receipt proves offline that an entry is in the log and that witnesses saw
the tree holding it (docs/formats.md §2.6)::

    c2sp.org/tlog-proof@v1
    extra <base64>          optional, unauthenticated, application-specific
    index <n>               zero-based, ASCII decimal without leading zeros
    <base64 hash>           audit path, leaf's sibling first (RFC 6962 §2.1.1)
    ...
                            an empty line
    <checkpoint note>       verbatim, with the log signature and cosignatures

Verifying one: the caller recomputes the leaf hash (application-specific),
then the checkpoint must be signed by a log of the policy for its origin and
cosigned by the witness quorum, and the path must lead from the leaf hash at
``index`` to the checkpoint's root. Receipts should be stored as ``.tlog-proof``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from verify.errors import CheckpointError, NoteError, ReceiptError
from verify.formats.checkpoint import note_checkpoint, parse_decimal
from verify.formats.note import b64decode_strict
from verify.formats.policy_text import TrustPolicy, VerifiedCheckpoint
from verify.formats.proofs import hash_lines
from verify.merkle.tree import HASH_SIZE, verify_inclusion

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
# An inclusion proof in a tree of at most 2**64 - 1 leaves has at most 64 hashes.
MAX_PATH = 64


@dataclass(frozen=True)
class Receipt:
    """Leaf index, audit path, the signed checkpoint note, optional extra data."""

    index: int
    path: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def format(self) -> str:
        lines = [RECEIPT_HEADER]
        if self.extra is not None:
            if not self.extra:
                raise ReceiptError("extra data, when present, must be non-empty")
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        return "\n".join(lines) + "\n" + hash_lines(self.path) + "\n" + self.checkpoint


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt that verified: the entry is at ``index`` of a witnessed tree."""

    receipt: Receipt
    checkpoint: VerifiedCheckpoint


def parse_receipt(text: str | bytes) -> Receipt:
    """Parse a receipt; its checkpoint must be a well-formed note and body."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ReceiptError("receipt is not valid UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ReceiptError("receipt has no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != RECEIPT_HEADER:
        raise ReceiptError(f"receipt does not start with {RECEIPT_HEADER!r}")
    try:
        extra = None
        rest = lines[1:]
        if rest and rest[0].startswith("extra "):
            extra = b64decode_strict(rest[0][len("extra ") :], "receipt extra data")
            if not extra:
                raise ReceiptError("receipt extra data is empty")
            rest = rest[1:]
        if not rest or not rest[0].startswith("index "):
            raise ReceiptError("receipt has no 'index <n>' line after its header")
        index = parse_decimal(rest[0][len("index ") :], "receipt index")
        if len(rest) - 1 > MAX_PATH:
            raise ReceiptError(f"receipt audit path has more than {MAX_PATH} hashes")
        path = tuple(b64decode_strict(line, "receipt audit path hash") for line in rest[1:])
        for position, value in enumerate(path):
            if len(value) != HASH_SIZE:
                raise ReceiptError(
                    f"audit path hash {position} is {len(value)} bytes, not 32"
                )
        note_checkpoint(note)
    except (NoteError, CheckpointError) as exc:
        raise ReceiptError(str(exc)) from None
    return Receipt(index, path, note, extra)


def verify_receipt(
    receipt: Receipt | str | bytes,
    leaf_hash: bytes,
    policy: TrustPolicy,
    *,
    origin: str | None = None,
) -> VerifiedReceipt:
    """Verify a receipt for the entry whose RFC 6962 leaf hash is ``leaf_hash``.

    Order as in tlog-proof: origin and log signature, witness quorum (both by
    ``policy.verify_checkpoint``), then inclusion (``verify_inclusion``).
    Raises the ``VerifyError`` subclass of the first failed check.
    """
    if not isinstance(receipt, Receipt):
        receipt = parse_receipt(receipt)
    verified = policy.verify_checkpoint(receipt.checkpoint, origin=origin)
    tree = verified.checkpoint
    verify_inclusion(receipt.index, tree.size, leaf_hash, receipt.path, tree.root)
    return VerifiedReceipt(receipt, verified)
