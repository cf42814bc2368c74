"""signed-note keys: names, key IDs, vkeys and Ed25519 (docs/formats.md §2.1).

* A key name is non-empty, with no Unicode space and no ``+``.
* Key ID, as the spec recommends: ``SHA-256(name || 0x0A || type || key)[:4]``,
  a big-endian uint32; parsing a vkey checks it.
* A verifier key (vkey) is ``name+hex8+base64(type || public key)``;
  golang.org/x/mod writes private keys ``PRIVATE+KEY+name+hex8+base64(0x01 || seed)``.
* Signature type 0x01 is Ed25519 (RFC 8032) over the note text, 32-byte keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verify.errors import NoteError, quote

ED25519_TYPE = 0x01
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


@dataclass(frozen=True)
class VerifierKey:
    """A parsed vkey ``name+hex8+base64(type || public key)``."""

    name: str
    key_id: int
    key_type: int
    public_key: bytes


def check_name(name: str) -> None:
    """signed-note: a key name is non-empty, with no Unicode space and no ``+``."""
    if not name:
        raise NoteError("key name is empty")
    if "+" in name or any(ch.isspace() or ch < " " for ch in name):
        raise NoteError(
            f"key name {quote(name)} contains a space, a control character or '+'"
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"key name {quote(name)} is not valid UTF-8") from None


def key_id(name: str, key_type: int, public_key: bytes) -> int:
    """signed-note: ``SHA-256(name || 0x0A || type || public key)[:4]`` as uint32."""
    data = name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "big")


def b64decode_strict(text: str, what: str) -> bytes:
    """RFC 4648 §4 padded base64, in its canonical form only."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not valid base64: {quote(text)}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64: {quote(text)}")
    return raw


def format_vkey(name: str, key_type: int, public_key: bytes) -> str:
    """The vkey string of a public key; its key ID is computed, never given."""
    check_name(name)
    payload = base64.b64encode(bytes([key_type]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, key_type, public_key):08x}+{payload}"


def _split_key(text: str, what: str) -> VerifierKey:
    """``name+hex8+base64(type || key material)``, key ID not yet checked."""
    name, sep, rest = text.partition("+")
    hex8, sep2, payload = rest.partition("+")
    if not sep or not sep2 or not _HEX8.fullmatch(hex8):
        raise NoteError(f"{what} is not name+hex8+base64")
    check_name(name)
    raw = b64decode_strict(payload, what)
    if len(raw) < 2:
        raise NoteError(f"{what} has no key material")
    return VerifierKey(name, int(hex8, 16), raw[0], raw[1:])


def parse_vkey(vkey: str) -> VerifierKey:
    """Split a vkey and check its key ID against the recommended computation."""
    parsed = _split_key(vkey, f"verifier key {vkey!r}")
    if parsed.key_id != key_id(parsed.name, parsed.key_type, parsed.public_key):
        raise NoteError(f"verifier key {vkey!r}: key ID does not match the key")
    return parsed


@dataclass(frozen=True)
class Ed25519Verifier:
    """signed-note signature type 0x01: Ed25519 (RFC 8032) over the note text."""

    name: str
    public_key: bytes
    key_id: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError(
                f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}"
            )
        object.__setattr__(self, "key_id", key_id(self.name, ED25519_TYPE, self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        parsed = parse_vkey(vkey)
        if parsed.key_type != ED25519_TYPE:
            raise NoteError(
                f"verifier key {vkey!r} is type {parsed.key_type:#04x}, not 0x01"
            )
        return cls(parsed.name, parsed.public_key)

    def vkey(self) -> str:
        return format_vkey(self.name, ED25519_TYPE, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Ed25519Signer:
    """An Ed25519 note signer; ``skey()`` is x/mod's private key string."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519Signer:
        """Parse ``PRIVATE+KEY+name+hex8+base64(0x01 || seed)`` (x/mod)."""
        prefix = "PRIVATE+KEY+"
        if not skey.startswith(prefix):
            raise NoteError("private key does not start with PRIVATE+KEY+")
        parsed = _split_key(skey[len(prefix) :], "private key")
        if parsed.key_type != ED25519_TYPE or len(parsed.public_key) != 32:
            raise NoteError("private key is not a 32-byte Ed25519 seed of type 0x01")
        signer = cls(parsed.name, Ed25519PrivateKey.from_private_bytes(parsed.public_key))
        if signer.key_id != parsed.key_id:
            raise NoteError(
                f"private key: key ID {parsed.key_id:08x} does not match the key"
            )
        return signer

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            ser.Encoding.Raw, ser.PublicFormat.Raw
        )

    @property
    def key_id(self) -> int:
        return key_id(self.name, ED25519_TYPE, self.public_key)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, self.public_key)

    def skey(self) -> str:
        seed = self.private_key.private_bytes(
            ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption()
        )
        payload = base64.b64encode(bytes([ED25519_TYPE]) + seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{payload}"

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)
