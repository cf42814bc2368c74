"""Admission: may this signed statement be recorded at all?

The checks every write passes before any domain rule runs (issue 2, DESIGN.md
§3): size and canonical form, known type and schema, this ledger's origin, a
registered principal whose current key signed it and which is not revoked, a
valid signature, a role allowed to sign the type, an NCP acting for its own
Member, and an issue time neither in the future (beyond ``CLOCK_SKEW``) nor
older than ``MAX_STATEMENT_AGE``. Each refusal is its own error.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.domain.registry import PrincipalRegistry
from ledger.errors import (
    ClockError,
    ExpiredStatementError,
    MemberScopeError,
    RevokedPrincipalError,
    RoleNotPermittedError,
    SignatureError,
    UnknownKeyError,
    UnknownPrincipalError,
    WrongOriginError,
)
from verify.errors import BadSignatureError, quote
from verify.policy import refusal
from verify.schema import StatementType, statement_type
from verify.statement import (
    MAX_STATEMENT_AGE,
    SignedStatement,
    key_id,
    parse_signed_statement,
    parse_timestamp,
    verify_signature,
)

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Admitted:
    """A statement that passed admission, with its signer's role and Member."""

    signed: SignedStatement
    kind: StatementType
    role: str
    member: str | None


def read_statement(statement: bytes | SignedStatement) -> SignedStatement:
    """Parse wire bytes; an in-process statement passes the very same checks
    (size, no binary floats, shape) through its canonical bytes."""
    if isinstance(statement, bytes | bytearray):
        return parse_signed_statement(bytes(statement))
    return parse_signed_statement(statement.to_bytes())


def admit(
    signed: SignedStatement,
    registry: PrincipalRegistry | None,
    origin: str,
    now: datetime,
) -> Admitted:
    """Check origin, signer, signature, role, Member scope and clock."""
    statement = signed.statement
    if statement["origin"] != origin:
        raise WrongOriginError(
            f"statement is for ledger {quote(statement['origin'])}, this ledger is "
            f"{origin!r}"
        )
    kind = statement_type(signed.type)
    if kind.name == "registry.genesis":
        # The genesis entry is self-signed by the key it names (DESIGN.md §3).
        public_key = signed.body["public_key"]
        if signed.body["principal"] != signed.principal:
            raise SignatureError(
                "the genesis statement must be signed by the admin it names"
            )
        role, member = "admin", None
    else:
        principal = registry.get(signed.principal) if registry else None
        if principal is None:
            raise UnknownPrincipalError(
                f"principal {quote(signed.principal)} is not registered in this ledger"
            )
        if principal.revoked:
            raise RevokedPrincipalError(
                f"principal {principal.id!r} was revoked ({principal.revoked_reason}); "
                "its keys sign nothing any more"
            )
        public_key, role, member = principal.public_key, principal.role, principal.member
    raw_key = base64.b64decode(public_key)
    if statement["key_id"] != key_id(raw_key):
        raise UnknownKeyError(
            f"key {quote(statement['key_id'])} is not the current key of principal "
            f"{signed.principal!r} (current key id {key_id(raw_key)!r}); a rotated "
            "key signs nothing after its rotation"
        )
    try:
        verify_signature(signed, raw_key)
    except BadSignatureError as exc:
        raise SignatureError(str(exc)) from None
    refused = refusal(kind, signed.principal, role, member, signed.stream, signed.body)
    if refused is not None:
        error = MemberScopeError if refused.rule == "member" else RoleNotPermittedError
        raise error(refused.reason)
    issued_at = parse_timestamp(statement["issued_at"])
    if issued_at > now + CLOCK_SKEW:
        raise ClockError(
            f"statement issued at {statement['issued_at']}, in the future of the "
            f"ledger's clock by more than {CLOCK_SKEW}; check the signer's clock"
        )
    age = now - issued_at
    if age > MAX_STATEMENT_AGE:
        raise ExpiredStatementError(
            f"statement issued at {statement['issued_at']}, {_hours(age)} before the "
            f"ledger's clock; a statement is recorded at most {_hours(MAX_STATEMENT_AGE)} "
            "after it is issued: sign it again"
        )
    return Admitted(signed, kind, role, member)


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours == int(hours) else f"{hours:.1f} hours"
