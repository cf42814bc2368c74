"""Who signed a statement, and who approved it (docs/decisions.md, 15).

The one definition of "this statement is signed by a principal that may sign
at this position": the ledger's admission and the offline verifier's replay
both call ``signer_of`` and ``approvers_of``. A statement is signed by the key
its principal has at that position — registered, not revoked, the current key
by key id — or, for the genesis, by an admin key the genesis itself names.
Approvals (registry statements that need the admins' threshold) are each an
Ed25519 signature by another active admin's current key over the statement's
``approval_input`` (``verify.formats.statement``).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verify.errors import quote
from verify.formats.statement import SignedStatement, approval_input, key_id
from verify.rules import Refusal
from verify.rules.registry import GENESIS, RegistryState


@dataclass(frozen=True)
class Signer:
    """The key that must have signed, and the signer's role and Member."""

    key: bytes
    role: str
    member: str | None


def signer_of(registry: RegistryState | None, signed: SignedStatement) -> Signer | Refusal:
    """The signer's key, role and Member, or why it may not sign at all.

    Refusal kinds: ``genesis``, ``unknown_principal``, ``revoked``, ``key``."""
    if signed.type == GENESIS:
        named = {a["principal"]: a["public_key"] for a in signed.body["admins"]}
        if signed.principal not in named:
            return Refusal(
                "genesis", "the genesis entry must be signed by an admin it names"
            )
        key, role, member, retired = _raw(named[signed.principal]), "admin", None, {}
    else:
        principal = registry.get(signed.principal) if registry is not None else None
        if registry is None or principal is None:
            return Refusal(
                "unknown_principal",
                f"principal {quote(signed.principal)} is not registered in this ledger",
            )
        if principal.revoked_at is not None:
            return Refusal(
                "revoked",
                f"principal {principal.id!r} was revoked at {registry.position} "
                f"{principal.revoked_at} ({principal.revoked_reason}); its keys sign "
                "nothing after that",
            )
        key, role, member = _raw(principal.public_key), principal.role, principal.member
        retired = principal.retired
        where = registry.position
    claimed, current = signed.statement["key_id"], key_id(key)
    if claimed != current:
        rotated = [at for old, at in retired.items() if key_id(_raw(old)) == claimed]
        return Refusal(
            "key",
            f"key {quote(claimed)} is not the current key of principal "
            f"{signed.principal!r} (current key id {current!r})"
            + (
                f"; it was rotated out at {where} {rotated[0]}, and a rotated key signs "
                "nothing after its rotation"
                if rotated
                else ""
            ),
        )
    return Signer(key, role, member)


def approvers_of(
    registry: RegistryState | None, signed: SignedStatement
) -> list[str] | Refusal:
    """The admins whose approvals of ``signed`` verify, or why one does not.

    Each approval names an active admin and its current key id, and is that
    key's signature over ``approval_input``; the threshold itself is counted
    by ``RegistryState.threshold_refusal``."""
    found: list[str] = []
    approvals = signed.body.get("approvals", [])
    if not approvals:
        return found
    message = approval_input(signed.statement)
    for n, approval in enumerate(approvals):
        who = approval["principal"]
        admin = registry.get(who) if registry else None
        if admin is None or admin.role != "admin" or admin.revoked:
            return Refusal(
                "approval", f"approval {n} is by {quote(who)}, which is not an active admin"
            )
        key = _raw(admin.public_key)
        if approval["key_id"] != key_id(key):
            return Refusal(
                "approval",
                f"approval {n} by {who!r} names key {approval['key_id']!r}, not its "
                f"current key {key_id(key)!r}",
            )
        try:
            signature = base64.b64decode(approval["signature"], validate=True)
            Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return Refusal(
                "approval",
                f"approval {n} by {who!r} does not verify: it approves another "
                "statement, or was altered",
            )
        found.append(who)
    return found


@functools.lru_cache(maxsize=4096)
def _raw(public_key: str) -> bytes:
    """The raw bytes of a registered key (decoded once per key, not per entry)."""
    return base64.b64decode(public_key, validate=True)
