"""C2SP tlog-checkpoint v1.0.0 (docs/design.md §4, docs/formats.md §2.2).

A checkpoint is the text of a signed note, three or more non-empty lines:

1. the origin, the log's unique identity (a schema-less URL, no spaces);
2. the tree size in ASCII decimal without leading zeros (``0`` when empty);
3. the RFC 6962 root hash in padded standard base64 (RFC 4648 §4);
4. optional extension lines, NOT RECOMMENDED ("not auditable by log monitors").

Other logs' checkpoints may carry extension lines, so they parse; the ledger's
own never do (docs/design.md §4), so signing one with extension lines is refused,
and ``open_checkpoint`` refuses them unless asked. The key name of the log's
signature SHOULD equal the origin; ``sign_checkpoint`` requires it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from verify.errors import CheckpointError, NoteError, quote
from verify.formats.note import (
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    b64decode_strict,
    check_name,
    open_note,
    parse_note,
    sign_note,
)
from verify.merkle.tree import EMPTY_ROOT, HASH_SIZE

# Tree sizes are uint64 in every implementation (tlog-tiles, x/mod, Go witnesses).
MAX_TREE_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def parse_decimal(text: str, what: str, limit: int = MAX_TREE_SIZE) -> int:
    """ASCII decimal without leading zeros (``0`` alone for zero), at most ``limit``."""
    if not _DECIMAL.fullmatch(text):
        raise CheckpointError(
            f"{what} {quote(text)} is not ASCII decimal without leading zeros"
        )
    value = int(text)
    if value > limit:
        raise CheckpointError(f"{what} {value} exceeds {limit}")
    return value


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint body: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError(
                f"checkpoint origin {quote(self.origin)} is empty or multi-line"
            )
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint tree size {self.size} is not a uint64")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root must be 32 bytes, got {len(self.root)}")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError(f"checkpoint extension line {quote(line)} is empty")

    def body(self) -> str:
        """The note text: one line each for origin, size, root, then extensions."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (a note's text, final newline included)."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"checkpoint has {len(lines)} lines; needs origin, size and root"
        )
    for number, line in enumerate(lines, start=1):
        if not line:
            raise CheckpointError(f"checkpoint line {number} is empty")
    size = parse_decimal(lines[1], "checkpoint tree size")
    try:
        root = b64decode_strict(lines[2], "checkpoint root hash")
    except NoteError as exc:
        raise CheckpointError(str(exc)) from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
    return Checkpoint(lines[0], size, root, tuple(lines[3:]))


def note_checkpoint(note: str | bytes) -> Checkpoint:
    """The checkpoint a signed note carries, its signatures not checked: for a
    note the caller signed or stored itself (``open_checkpoint`` checks them)."""
    return parse_checkpoint(parse_note(note).text)


def tree_size(note: str | bytes) -> int:
    """The tree size of the checkpoint a signed note carries (line 2 of its
    text), signatures not checked: the one reading of it (``note_checkpoint``)."""
    return note_checkpoint(note).size


def check_own_checkpoint(checkpoint: Checkpoint) -> None:
    """The ledger's checkpoints: origin a valid key name, no extension lines,
    and the empty tree's root for size 0 (tlog-witness refuses anything else)."""
    try:
        check_name(checkpoint.origin)
    except NoteError:
        raise CheckpointError(
            f"origin {quote(checkpoint.origin)} must be usable as a key name "
            "(no spaces, no '+')"
        ) from None
    if checkpoint.extensions:
        raise CheckpointError("the ledger's checkpoints carry no extension lines")
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        raise CheckpointError("a checkpoint of size 0 must carry the empty tree's root")


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """A signed note of one of the ledger's own checkpoints; the key is named
    after the origin (tlog-checkpoint: the key name SHOULD equal the origin)."""
    check_own_checkpoint(checkpoint)
    if signer.name != checkpoint.origin:
        raise CheckpointError(
            f"log key is named {signer.name!r}, but checkpoints of origin "
            f"{checkpoint.origin!r} are signed by a key named after the origin"
        )
    return sign_note(checkpoint.body(), [signer])


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose note verified, with the note and its checked keys."""

    checkpoint: Checkpoint
    note: OpenedNote


def open_checkpoint(
    note: str | bytes,
    verifiers: Iterable[NoteVerifier],
    *,
    origin: str | None = None,
    allow_extensions: bool = False,
) -> OpenedCheckpoint:
    """Verify a checkpoint note with ``open_note`` and parse its body.

    ``origin``, when given, must equal the origin line. Extension lines are
    refused unless ``allow_extensions``.
    """
    opened = open_note(note, verifiers)
    checkpoint = parse_checkpoint(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin is {quote(checkpoint.origin)}, expected {origin!r}"
        )
    if checkpoint.extensions and not allow_extensions:
        raise CheckpointError(
            f"checkpoint has {len(checkpoint.extensions)} extension line(s); not accepted"
        )
    return OpenedCheckpoint(checkpoint, opened)
