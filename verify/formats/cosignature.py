"""C2SP tlog-cosignature v1, Ed25519 (docs/design.md §4, docs/formats.md §2.3-2.4).

A cosignature is a note signature on a checkpoint, of signature type 0x04:

* key ID = ``SHA-256(name || "\\n" || 0x04 || 32-byte public key)[:4]`` (MUST);
* signature bytes = ``timestamped_signature``: a big-endian u64 POSIX time
  (at most 2**63 - 1) then the 64-byte Ed25519 signature;
* signed message = ``"cosignature/v1\\n" + "time <T>\\n"`` + the whole checkpoint
  body (with its final newline, without signature lines).

The message does not name the cosigner, so each cosigner has its own key.
tlog-witness requires a non-zero timestamp on the cosignatures a witness
returns; the verifier refuses 0 unless told otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verify.errors import NoteError, NoteSignatureError
from verify.formats.note import Signature
from verify.formats.note_keys import check_name, format_vkey, key_id, parse_vkey

COSIGNATURE_TYPE = 0x04
COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
_SIGNATURE_SIZE = 8 + 64


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The Ed25519 signed message for a checkpoint ``body`` at ``timestamp``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} is outside 0..2**63-1")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def split_timestamped(signature: bytes) -> tuple[int, bytes]:
    """``timestamped_signature`` -> (timestamp, 64-byte Ed25519 signature)."""
    if len(signature) != _SIGNATURE_SIZE:
        raise NoteSignatureError(
            f"Ed25519 cosignature must be {_SIGNATURE_SIZE} bytes after the key ID, "
            f"got {len(signature)}"
        )
    return int.from_bytes(signature[:8], "big"), signature[8:]


def cosignature_timestamp(signature: Signature) -> int:
    """The time a cosignature line claims (seconds since the epoch)."""
    return split_timestamped(signature.signature)[0]


@dataclass(frozen=True)
class CosignatureVerifier:
    """Checks Ed25519 cosignatures (type 0x04) of one cosigner on checkpoints.

    ``allow_zero_timestamp`` admits timestamp 0, which tlog-cosignature v1
    does not forbid but tlog-witness forbids in add-checkpoint responses.
    """

    name: str
    public_key: bytes
    allow_zero_timestamp: bool = False
    key_id: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError(
                f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}"
            )
        object.__setattr__(
            self, "key_id", key_id(self.name, COSIGNATURE_TYPE, self.public_key)
        )

    @classmethod
    def from_vkey(
        cls, vkey: str, *, allow_zero_timestamp: bool = False
    ) -> CosignatureVerifier:
        parsed = parse_vkey(vkey)
        if parsed.key_type != COSIGNATURE_TYPE:
            raise NoteError(
                f"cosigner key {vkey!r} is type {parsed.key_type:#04x}, not 0x04"
            )
        return cls(parsed.name, parsed.public_key, allow_zero_timestamp)

    def vkey(self) -> str:
        return format_vkey(self.name, COSIGNATURE_TYPE, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """``message`` is the checkpoint body; ``signature`` the timestamped one.

        Raises ``NoteSignatureError`` with the reason for a malformed length or
        a refused timestamp; returns False for a wrong signature.
        """
        timestamp, raw = split_timestamped(signature)
        if timestamp > MAX_TIMESTAMP:
            raise NoteSignatureError(
                f"cosignature by {self.name!r}: timestamp above 2**63-1"
            )
        if timestamp == 0 and not self.allow_zero_timestamp:
            raise NoteSignatureError(
                f"cosignature by {self.name!r} has timestamp 0; a witness cosignature "
                "must carry the time it was made (tlog-witness)"
            )
        try:
            body = message.decode("utf-8")
        except UnicodeDecodeError:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                raw, cosigned_message(body, timestamp)
            )
        except InvalidSignature:
            return False
        return True


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class CosignatureSigner:
    """A witness key: signs checkpoint bodies as cosignature/v1 at ``clock()``."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)
    clock: Callable[[], int] = field(default=_now, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> CosignatureSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> int:
        return key_id(self.name, COSIGNATURE_TYPE, self.public_key)

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.public_key)

    def sign_at(self, body: bytes, timestamp: int) -> bytes:
        """The ``timestamped_signature`` on checkpoint ``body`` at ``timestamp``."""
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise NoteError(
                f"a witness cosignature needs a timestamp in 1..2**63-1: {timestamp}"
            )
        message = cosigned_message(body.decode("utf-8"), timestamp)
        return timestamp.to_bytes(8, "big") + self.private_key.sign(message)

    def sign(self, message: bytes) -> bytes:
        """``NoteSigner.sign``: cosign the checkpoint body ``message`` now."""
        return self.sign_at(message, self.clock())
