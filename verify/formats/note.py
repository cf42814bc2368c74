"""C2SP signed-note v1 with Ed25519 keys (docs/design.md §4, docs/formats.md §2.1).

A note is a text ending in a newline, one blank line, then one or more lines
``"\u2014 " name " " base64(key ID || signature) "\n"``. The signed message is the
text with its final newline. Notes are UTF-8 with no ASCII control characters
but the newline; the text may hold blank lines, so it is split from the
signatures at the *last* blank line.

A key is known by its ``(name, key ID)`` pair. Opening a note ignores unknown
pairs, checks every known one, rejects the note if a known key's signature
fails (the spec's SHOULD), and rejects it if none verifies (MUST). Key names,
key IDs, vkeys and the Ed25519 (type 0x01) keys live in ``verify.formats.note_keys``
and are re-exported here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from verify.errors import NoteError, NoteSignatureError, UnverifiedNoteError, quote
from verify.formats.note_keys import (
    ED25519_TYPE,
    Ed25519Signer,
    Ed25519Verifier,
    VerifierKey,
    b64decode_strict,
    check_name,
    format_vkey,
    key_id,
    parse_vkey,
)

__all__ = [
    "ED25519_TYPE",
    "MAX_SIGNATURES",
    "SIG_PREFIX",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "Signature",
    "VerifierKey",
    "b64decode_strict",
    "check_name",
    "format_vkey",
    "key_id",
    "open_note",
    "parse_note",
    "parse_signature_line",
    "parse_signature_lines",
    "parse_vkey",
    "sign_note",
]

SIG_PREFIX = "\u2014 "  # EM DASH, SPACE
# The spec says "MUST accept at least 16"; x/mod accepts up to 100.
MAX_SIGNATURES = 100


class NoteVerifier(Protocol):
    """A key that can check signatures on a note's text (x/mod ``note.Verifier``)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (without the key ID) is valid on ``message``."""
        ...


class NoteSigner(Protocol):
    """A key that signs a note's text (x/mod ``note.Signer``)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes:
        """The signature bytes (without the key ID) on ``message``."""
        ...


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID (uint32) and signature bytes."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if not 0 <= self.key_id < 2**32:
            raise NoteError(f"key ID {self.key_id} is not a uint32")

    def line(self) -> str:
        """The line as written in a note, with its final newline."""
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(raw).decode('ascii')}\n"


@dataclass(frozen=True)
class Note:
    """A note's text (with its final newline) and its signatures, in order."""

    text: str
    signatures: tuple[Signature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text, "note text")
        if not self.text.endswith("\n"):
            raise NoteError("note text must end in a newline")
        if not self.signatures:
            raise NoteError("a note needs at least one signature")

    def format(self) -> str:
        """The note as text: body, blank line, one line per signature."""
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True)
class OpenedNote:
    """A note that passed ``open_note``: which known keys signed it."""

    note: Note
    verified: tuple[Signature, ...]
    verifiers: tuple[NoteVerifier, ...]

    @property
    def text(self) -> str:
        return self.note.text


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None
    bad = next((ch for ch in text if ch < " " and ch != "\n"), None)
    if bad is not None:
        raise NoteError(f"{what} contains the control character {bad!r}")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """A signed note of ``text`` (which must end in a newline) by each signer."""
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    message = text.encode("utf-8")
    sigs = (Signature(s.name, s.key_id, s.sign(message)) for s in signers)
    return Note(text, tuple(sigs)).format()


def parse_signature_line(line: str) -> Signature:
    """One signature line without its newline: ``— name base64(id || sig)``."""
    if not line.startswith(SIG_PREFIX):
        raise NoteError(
            f"signature line {quote(line)} does not start with an em dash and a space"
        )
    name, sep, encoded = line[len(SIG_PREFIX) :].partition(" ")
    if not sep:
        raise NoteError(f"signature line {quote(line)} has no space after the key name")
    check_name(name)
    raw = b64decode_strict(encoded, f"signature of {quote(name)}")
    if len(raw) < 5:
        raise NoteError(
            f"signature of {quote(name)} is {len(raw)} bytes; needs a key ID and more"
        )
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def parse_signature_lines(block: str) -> tuple[Signature, ...]:
    """Newline-terminated signature lines (a tlog-witness response body)."""
    _check_text(block, "signature lines")
    if not block or not block.endswith("\n"):
        raise NoteError("signature lines must be non-empty and end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"{len(lines)} signatures; at most {MAX_SIGNATURES} are accepted")
    return tuple(parse_signature_line(line) for line in lines)


def parse_note(message: str | bytes) -> Note:
    """Split a signed note at its last blank line; check its syntax, not signatures."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    _check_text(message, "note")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line between text and signatures")
    text, block = message[: split + 1], message[split + 2 :]
    return Note(text, parse_signature_lines(block))


def open_note(message: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse a note and check it against known keys (signed-note §Signatures).

    Unknown ``(name, key ID)`` pairs are ignored. Raises ``NoteSignatureError``
    if a known key's signature fails and ``UnverifiedNoteError`` if no known
    key signed. A key that signed twice counts once.
    """
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        pair = (verifier.name, verifier.key_id)
        if pair in known:
            raise NoteError(f"two known keys share name {pair[0]!r} and ID {pair[1]:08x}")
        known[pair] = verifier
    note = parse_note(message)
    payload = note.text.encode("utf-8")
    verified: list[Signature] = []
    used: list[NoteVerifier] = []
    for sig in note.signatures:
        match = known.get((sig.name, sig.key_id))
        if match is None:
            continue
        if not match.verify(payload, sig.signature):
            raise NoteSignatureError(
                f"signature by known key {sig.name!r} ({sig.key_id:08x}) does not verify"
            )
        if match not in used:
            verified.append(sig)
            used.append(match)
    if not verified:
        names = ", ".join(sorted({s.name for s in note.signatures}))
        raise UnverifiedNoteError(
            f"no signature by a known key; the note's signers: {names}"
        )
    return OpenedNote(note, tuple(verified), tuple(used))
