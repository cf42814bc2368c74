"""Signed statements: the bytes that are signed (docs/design.md §3).

This module and ``verify/formats/entry.py`` (the log entry that wraps a signed
statement, the bytes that are hashed) are the only places these bytes are defined.

* A **statement** is a JSON object with exactly the fields of
  ``STATEMENT_FIELDS``. Its bytes are RFC 8785 (JCS) canonical JSON.
* Its **signature** is Ed25519 over ``STATEMENT_CONTEXT + statement bytes``; the
  context prefix keeps the signature from being valid in any other protocol.
* A **signed statement** (what a client sends) is the JCS bytes of
  ``{"signature": base64, "statement": {...}}``; it must arrive canonical.
* A **log entry** (``verify/formats/entry.py``) is the JCS bytes of the signed
  statement plus what the ledger adds.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verify.errors import (
    BadSignatureError,
    MalformedStatementError,
    StatementTooLargeError,
    quote,
    quote_all,
    shown,
)
from verify.formats.canonical import canonical_bytes, parse_canonical
from verify.formats.schema import check_body, statement_type, stream_kind

STATEMENT_FORMAT = "pmm-statement/v1"
STATEMENT_CONTEXT = b"pmm-statement/v1\n"
KEY_ID_CONTEXT = b"pmm-key/v1\n"
APPROVAL_CONTEXT = b"pmm-approval/v1\n"
# An entry can never exceed 65,535 bytes (verify/formats/entry.py); statements
# are capped well below that to leave room for what the ledger adds.
MAX_STATEMENT_BYTES = 60_000
# A statement is recorded at most this long after its issued_at: a signed
# statement kept back (or captured) is not good for ever (docs/decisions.md 22).
# The ledger refuses older ones (ledger/admission.py); the verifier can check
# issued_at against recorded_at with the same constant.
MAX_STATEMENT_AGE = timedelta(hours=24)
# How far a statement's issued_at may be ahead of the ledger's clock when it is
# recorded; the ledger refuses more, and the verifier checks it the same way.
CLOCK_SKEW = timedelta(minutes=5)
STATEMENT_FIELDS = (
    "body",
    "expected_version",
    "format",
    "issued_at",
    "key_id",
    "nonce",
    "origin",
    "principal",
    "stream",
    "type",
)
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class SignedStatement:
    """A statement as signed: the parsed object, its signature and digest."""

    statement: dict[str, Any]
    signature: str
    # The statement's canonical bytes when they were read off the wire: a
    # cache, never a second definition (it is a slice of canonical input).
    statement_bytes: bytes | None = field(default=None, compare=False, repr=False)

    def canonical(self) -> bytes:
        """JCS bytes of the statement (docs/design.md §3): what is signed."""
        return self.statement_bytes or canonical_bytes(self.statement)

    @property
    def type(self) -> str:
        return str(self.statement["type"])

    @property
    def stream(self) -> str:
        return str(self.statement["stream"])

    @property
    def principal(self) -> str:
        return str(self.statement["principal"])

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.statement["body"]
        return body

    @property
    def expected_version(self) -> int:
        return int(self.statement["expected_version"])

    def to_bytes(self) -> bytes:
        """JCS of ``{"signature", "statement"}``: keys in order, so spliced."""
        return _envelope_prefix(self.signature) + self.canonical() + b"}"

    def digest(self) -> str:
        """SHA-256 hex of the statement's canonical bytes: its identity."""
        return hashlib.sha256(self.canonical()).hexdigest()


def _envelope_prefix(signature: str) -> bytes:
    return b'{"signature":' + canonical_bytes(signature) + b',"statement":'


@functools.lru_cache(maxsize=4096)
def key_id(public_key: bytes) -> str:
    """Key id: the first 8 bytes of SHA-256(context || raw key), in hex."""
    return hashlib.sha256(KEY_ID_CONTEXT + public_key).hexdigest()[:16]


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes_raw()


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, e.g. 2026-11-22T12:00:00.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    if not isinstance(text, str) or TIMESTAMP_RE.fullmatch(text) is None:
        raise MalformedStatementError(
            f"timestamp {shown(text)} must be RFC 3339 UTC, e.g. 2026-11-22T12:00:00Z"
        )
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:  # e.g. month 13, or non-ASCII digits matched by \d
        raise MalformedStatementError(
            f"timestamp {quote(text)} is not a valid time: {exc}"
        ) from None


def signing_input(statement: dict[str, Any] | SignedStatement) -> bytes:
    """Context prefix + JCS(statement): the bytes the Ed25519 signature covers."""
    if isinstance(statement, SignedStatement):
        return STATEMENT_CONTEXT + statement.canonical()
    return STATEMENT_CONTEXT + canonical_bytes(statement)


def approval_input(statement: dict[str, Any]) -> bytes:
    """What an admin's approval signs: the context prefix and the JCS bytes of the
    statement's action — origin, stream, the version it expects, type and body
    without its ``approvals`` (docs/statements.md). The expected version binds an
    approval to one position of the registry, so it is never good twice."""
    body = {k: v for k, v in statement["body"].items() if k != "approvals"}
    action = {
        "body": body,
        "expected_version": statement["expected_version"],
        "origin": statement["origin"],
        "stream": statement["stream"],
        "type": statement["type"],
    }
    return APPROVAL_CONTEXT + canonical_bytes(action)


def sign(statement: dict[str, Any], private_key: Ed25519PrivateKey) -> SignedStatement:
    """Check the statement's shape, then sign it."""
    check_statement(statement)
    signature = private_key.sign(signing_input(statement))
    return SignedStatement(statement, base64.b64encode(signature).decode("ascii"))


@functools.lru_cache(maxsize=4096)
def loaded_key(public_key: bytes) -> Ed25519PublicKey:
    """The key object of raw Ed25519 ``public_key``, loaded once per key (a log
    has a few keys per principal and many entries per key)."""
    return Ed25519PublicKey.from_public_bytes(public_key)


def verify_signature(signed: SignedStatement, public_key: bytes) -> None:
    """Raise BadSignatureError unless the signature verifies under the key."""
    try:
        raw = base64.b64decode(signed.signature, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        raise BadSignatureError("signature must be base64 of 64 Ed25519 bytes")
    try:
        loaded_key(public_key).verify(raw, signing_input(signed))
    except InvalidSignature:
        raise BadSignatureError(
            f"signature does not verify for principal {signed.principal!r} under "
            f"key {signed.statement.get('key_id')!r}: the statement was altered "
            "after signing or signed with another key"
        ) from None


def _require(statement: dict[str, Any], name: str, kind: type, hint: str) -> Any:
    if name not in statement:
        raise MalformedStatementError(f"statement.{name} is required but missing")
    value = statement[name]
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise MalformedStatementError(f"statement.{name} must be {hint}")
    return value


def check_statement(statement: Any) -> None:
    """Refuse a statement with a missing, unknown or ill-typed field."""
    if not isinstance(statement, dict):
        raise MalformedStatementError("statement must be a JSON object")
    unknown = sorted(set(statement) - set(STATEMENT_FIELDS))
    if unknown:
        raise MalformedStatementError(f"unknown statement field(s): {quote_all(unknown)}")
    if _require(statement, "format", str, "text") != STATEMENT_FORMAT:
        raise MalformedStatementError(f"statement.format must be {STATEMENT_FORMAT!r}")
    _require(statement, "origin", str, "the ledger's origin")
    _require(statement, "principal", str, "a principal id")
    _require(statement, "key_id", str, "a key id")
    nonce = _require(statement, "nonce", str, "text")
    if NONCE_RE.fullmatch(nonce) is None:
        raise MalformedStatementError("statement.nonce must be 16-64 base64url characters")
    parse_timestamp(_require(statement, "issued_at", str, "an RFC 3339 time"))
    version = _require(statement, "expected_version", int, "an integer")
    if version < 0:
        raise MalformedStatementError("statement.expected_version must be >= 0")
    kind = statement_type(_require(statement, "type", str, "a statement type"))
    stream = _require(statement, "stream", str, "a stream name")
    if stream_kind(stream) != kind.stream:
        article = "an" if kind.stream == "assessment" else "a"
        raise MalformedStatementError(
            f"statement.stream {quote(stream)} is not {article} {kind.stream!r} stream, "
            f"which {kind.name} requires"
        )
    if kind.creates is not None and kind.creates != (version == 0):
        raise MalformedStatementError(
            f"{kind.name} {'creates' if kind.creates else 'extends'} its stream, so "
            f"statement.expected_version must be {'0' if kind.creates else '>= 1'}"
        )
    if "body" not in statement:
        raise MalformedStatementError("statement.body is required but missing")
    check_body(kind, statement["body"])


def parse_signed_statement(data: bytes) -> SignedStatement:
    """Read a client's signed statement: size, canonical form, then shape."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementTooLargeError(
            f"signed statement is {len(data)} bytes; the limit is {MAX_STATEMENT_BYTES}"
        )
    envelope = parse_canonical(data, "signed statement")
    if not isinstance(envelope, dict) or set(envelope) != {"signature", "statement"}:
        raise MalformedStatementError(
            "signed statement must be an object with exactly 'signature' and 'statement'"
        )
    if not isinstance(envelope["signature"], str):
        raise MalformedStatementError("signature must be base64 text")
    check_statement(envelope["statement"])
    # The input is canonical, so the statement's own JCS bytes are a slice of it.
    prefix = _envelope_prefix(envelope["signature"])
    return SignedStatement(
        envelope["statement"], envelope["signature"], data[len(prefix) : -1]
    )
