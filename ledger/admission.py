"""Admission: may this signed statement be recorded at all?

The checks every write passes before any domain rule runs (docs/design.md
§3): size and canonical form, known type and schema, this ledger's origin, a
registered principal whose current key signed it and which is not revoked, a
valid signature, the approvals of other admins where the registry's threshold
asks for them, a role allowed to sign the type, an NCP acting for its own
Member, and an issue time neither in the future (beyond ``CLOCK_SKEW``) nor
older than ``MAX_STATEMENT_AGE``. Each refusal is its own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.domain.registry import PrincipalRegistry
from ledger.errors import (
    ApprovalError,
    ClockError,
    ExpiredStatementError,
    LedgerError,
    MemberScopeError,
    RevokedPrincipalError,
    RoleNotPermittedError,
    SignatureError,
    UnknownKeyError,
    UnknownPrincipalError,
    WrongOriginError,
)
from verify.errors import BadSignatureError, quote
from verify.formats.schema import StatementType, statement_type
from verify.formats.statement import (
    CLOCK_SKEW,
    MAX_STATEMENT_AGE,
    SignedStatement,
    parse_signed_statement,
    parse_timestamp,
    verify_signature,
)
from verify.rules import Refusal
from verify.rules.policy import refusal
from verify.rules.signer import approvers_of, signer_of


@dataclass(frozen=True)
class Prechecked:
    """A signature checked before the writer lock (docs/decisions.md 35): against
    ``key``, failing with ``error`` (None: it verified). A stateless fact about
    bytes and a key; whether that key may sign is decided under the lock."""

    key: bytes
    error: str | None


@dataclass(frozen=True)
class Admitted:
    """A statement that passed admission, with its signer's role and Member."""

    signed: SignedStatement
    kind: StatementType
    role: str
    member: str | None
    approvers: tuple[str, ...] = ()


# What a write takes: a statement's wire bytes, or one parsed in this process.
Statement = bytes | SignedStatement


def read_statement(statement: Statement) -> SignedStatement:
    """Parse wire bytes; an in-process statement passes the very same checks
    (size, no binary floats, shape) through its canonical bytes."""
    if isinstance(statement, bytes | bytearray):
        return parse_signed_statement(bytes(statement))
    return parse_signed_statement(statement.to_bytes())


def precheck(
    signed: SignedStatement, registry: PrincipalRegistry | None
) -> Prechecked | None:
    """Verify the signature against the key ``registry`` (as last read, maybe
    stale) gives its signer; None when it names none (admission will say why)."""
    signer = signer_of(registry.state if registry is not None else None, signed)
    if isinstance(signer, Refusal):
        return None
    return Prechecked(signer.key, _signature_error(signed, signer.key))


def _signature_error(signed: SignedStatement, key: bytes) -> str | None:
    try:
        verify_signature(signed, key)
    except BadSignatureError as exc:
        return str(exc)
    return None


def admit(
    signed: SignedStatement,
    registry: PrincipalRegistry | None,
    origin: str,
    now: datetime,
    prechecked: Prechecked | None = None,
) -> Admitted:
    """Check origin, signer, signature, approvals, role, Member scope and clock.

    Who may sign at all, and whose approvals count, is ``verify.rules.signer``:
    the very functions the offline verifier replays (docs/decisions.md, 15).
    A signature ``prechecked`` against the very key the registry now gives the
    signer is not verified again; against any other key, it is."""
    statement = signed.statement
    if statement["origin"] != origin:
        raise WrongOriginError(
            f"statement is for ledger {quote(statement['origin'])}, this ledger is "
            f"{origin!r}"
        )
    kind = statement_type(signed.type)
    state = registry.state if registry is not None else None
    signer = signer_of(state, signed)
    if isinstance(signer, Refusal):
        raise _SIGNER_ERRORS[signer.kind](signer.reason)
    if prechecked is not None and prechecked.key == signer.key:
        bad = prechecked.error
    else:
        bad = _signature_error(signed, signer.key)
    if bad is not None:
        raise SignatureError(bad)
    approvers = approvers_of(state, signed)
    if isinstance(approvers, Refusal):
        raise ApprovalError(approvers.reason)
    refused = refusal(
        kind, signed.principal, signer.role, signer.member, signed.stream, signed.body
    )
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
    return Admitted(signed, kind, signer.role, signer.member, tuple(approvers))


_SIGNER_ERRORS: dict[str, type[LedgerError]] = {
    "genesis": SignatureError,
    "unknown_principal": UnknownPrincipalError,
    "revoked": RevokedPrincipalError,
    "key": UnknownKeyError,
}


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours == int(hours) else f"{hours:.1f} hours"
