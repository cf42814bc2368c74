"""Proof text: Merkle proof hashes as lines, and the tlog-witness
``add-checkpoint`` request that carries a consistency proof (docs/formats.md
§2.4, §2.6).

The one definition of both. A proof is written one padded standard base64 hash
a line, each line ending in a newline, in RFC 6962 / RFC 9162 order: ``pmm
prove consistency``, ``GET /proofs/consistency``, a receipt's audit path
(``verify/formats/receipt.py``) and the request below all write it so.

An add-checkpoint request (C2SP tlog-witness) is ``old <size>``, then at most
63 consistency-proof lines from that size, a blank line and the checkpoint
note. The log writes it (``ledger/witnessing.py``), the witness reads it
(``ledger/witness.py``), refusing what is malformed with 400.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from verify.errors import VerifyError, WitnessRequestError
from verify.formats.checkpoint import Checkpoint, parse_checkpoint
from verify.formats.note import Note, parse_note

# tlog-witness: a consistency proof in a tree of at most 2**64 - 1 leaves.
MAX_PROOF_LINES = 63


def hash_line(value: bytes) -> str:
    """One proof hash as a line's text: padded standard base64 (RFC 4648 §4)."""
    return base64.b64encode(value).decode("ascii")


def hash_lines(proof: Iterable[bytes]) -> str:
    """A proof as text: one base64 hash a line, every line ending in a newline."""
    return "".join(hash_line(value) + "\n" for value in proof)


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the log says the witness last
    cosigned, the consistency proof from it, and the checkpoint note."""

    old: int
    proof: tuple[bytes, ...]
    note: str

    def format(self) -> str:
        return f"old {self.old}\n" + hash_lines(self.proof) + "\n" + self.note


@dataclass(frozen=True)
class ReadRequest:
    """An add-checkpoint request as read: its note parsed, signatures unchecked."""

    request: AddCheckpoint
    note: Note
    checkpoint: Checkpoint


def parse_add_checkpoint(body: bytes) -> ReadRequest:
    """Read an add-checkpoint request; ``WitnessRequestError`` (400) says what is
    wrong: the header or the number of proof lines first, then anything that
    does not decode or parse, then an old size with leading zeros."""
    try:
        text = body.decode("utf-8")
        head, _, note_text = text.partition("\n\n")
        lines = head.split("\n")
        if not lines[0].startswith("old ") or len(lines) - 1 > MAX_PROOF_LINES:
            raise WitnessRequestError(
                f"request must start with 'old <size>' and <= {MAX_PROOF_LINES} proof lines"
            )
        old = int(lines[0][4:]) if lines[0][4:].isdigit() else -1
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
        note = parse_note(note_text)
        checkpoint = parse_checkpoint(note.text)
    except WitnessRequestError:
        raise
    except (UnicodeDecodeError, binascii.Error, ValueError, VerifyError) as exc:
        raise WitnessRequestError("malformed add-checkpoint request", str(exc)) from None
    if old < 0 or lines[0] != f"old {old}":
        raise WitnessRequestError("old size must be a decimal number without leading zeros")
    return ReadRequest(AddCheckpoint(old, proof, note_text), note, checkpoint)
