"""A rule's refusal (``verify.rules``) as the ledger error it raises.

The rules are defined once, in ``verify/rules/``, and return a ``Refusal``; the
domain's command methods raise the matching ``LedgerError`` (which carries its
HTTP status), so a refusal reads the same from the ledger and the verifier.
"""

from __future__ import annotations

from ledger.errors import (
    ApprovalError,
    ConflictError,
    ConsentError,
    DomainRuleError,
    LedgerError,
    NotFoundError,
    SelfValidationError,
)
from verify.rules import Refusal

ERRORS: dict[str, type[LedgerError]] = {
    "rule": DomainRuleError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "self_review": SelfValidationError,
    "approval": ApprovalError,
    "consent": ConsentError,
}


def refuse(found: Refusal | None) -> None:
    """Raise the error of ``found``, if a rule refused."""
    if found is not None:
        raise ERRORS[found.kind](found.reason)
