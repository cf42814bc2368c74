"""The principal registry's rules: nobody signs for another (docs/decisions.md, 15).

One stream, ``registry``, rooted in the genesis entry. The genesis names the
admins, the threshold of them that must agree to change who may read or sign
(m-of-n), and the ledger's own principal (which signs access-log seals):

* ``principal.registered``, ``principal.revoked`` and ``principal.key_recovered``
  (a new key for a principal that lost its own) need the threshold: the admin
  who signs, plus ``approvals`` by other active admins, each over the same
  statement (``verify.formats.statement.approval_input``), m distinct admins in all;
* ``principal.key_rotated`` is signed by the principal itself, with its
  current key: consent; nobody else can move a principal to a key it holds;
* every principal signs with its own key: a key is never registered twice;
* the admins never fall below the threshold, and role ``ledger`` exists only
  by the genesis;
* ``log.key_rotated`` hands the log's checkpoint key over (docs/decisions.md
  33): the threshold here, a key never used before; the old log key's own
  signature over the hand-over is ``verify.formats.handover``'s to check.

``RegistryState`` is what the entries say, replayed in order
(``verify.rules.transitions``). Approval
signatures are checked outside (``verify.rules.signer``, which needs
``cryptography``): the rules here take the principals whose approvals
verified, and count them. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify.rules import Refusal, conflict, not_found, rule

GENESIS = "registry.genesis"
LOG_KEY_ROTATED = "log.key_rotated"
THRESHOLD_TYPES = (
    "principal.registered",
    "principal.revoked",
    "principal.key_recovered",
    LOG_KEY_ROTATED,
)
LEDGER_ROLE = "ledger"


@dataclass
class Principal:
    """A principal as of the current position; ``keys`` lists every key it had."""

    id: str
    name: str
    role: str
    member: str | None
    public_key: str  # base64 of the raw Ed25519 key, as statements carry it
    keys: list[str] = field(default_factory=list)
    registered_at: int = 0
    retired: dict[str, int] = field(default_factory=dict)  # old key -> position
    revoked_at: int | None = None
    revoked_reason: str = ""
    recovered_at: list[int] = field(default_factory=list)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class LogKeyChange:
    """A recorded hand-over of the log key, at ``position``, with its body."""

    position: int
    old_key: str
    new_key: str
    body: Mapping[str, Any]


@dataclass
class RegistryState:
    """Principals, keys and the admins' threshold, replayed entry by entry.

    Positions (``registered_at``, ``revoked_at``...) are whatever the caller
    counts in: the ledger's registry stream versions, the verifier's log indexes.
    """

    principals: dict[str, Principal] = field(default_factory=dict)
    threshold: int = 1
    # How messages name a position: "registry version" (the ledger), "entry"
    # (the verifier, whose positions are log indexes).
    position: str = "registry version"
    owners: dict[str, str] = field(default_factory=dict)  # every key ever -> principal
    log_keys: list[LogKeyChange] = field(default_factory=list)  # the hand-overs

    def get(self, principal: str) -> Principal | None:
        return self.principals.get(principal)

    def active_admins(self) -> list[str]:
        return [
            p.id for p in self.principals.values() if p.role == "admin" and not p.revoked
        ]

    # -- rules ---------------------------------------------------------------

    def refusal(
        self, kind: str, signer: str, body: Mapping[str, Any], approvers: Sequence[str]
    ) -> Refusal | None:
        """Why ``signer``, with the verified approvals of ``approvers``, may not
        record the registry statement ``kind``, or None."""
        if kind == GENESIS:
            return genesis_refusal(signer, body)
        if kind in THRESHOLD_TYPES:
            found = self.threshold_refusal(kind, signer, approvers)
            if found:
                return found
        if kind == "principal.registered":
            return self._register(body)
        if kind == LOG_KEY_ROTATED:
            return self._new_log_key(body)
        target = self.principals.get(body["principal"])
        if target is None:
            return not_found(f"no principal {body['principal']!r} is registered")
        if target.revoked:
            return conflict(f"principal {target.id!r} is already revoked")
        if kind == "principal.key_rotated" and signer != target.id:
            return Refusal(
                "consent",
                f"principal {signer!r} may not rotate the key of {target.id!r}: a "
                "principal rotates its own key, signing with its current key; a lost "
                "key is replaced by principal.key_recovered, with the admins' threshold",
            )
        if kind == "principal.revoked":
            return self._revoke(target)
        return self._fresh_key(body["public_key"])

    def threshold_refusal(
        self, kind: str, signer: str, approvers: Sequence[str]
    ) -> Refusal | None:
        """m distinct active admins: the signer and the approvers."""
        admins = set(self.active_admins())
        if len(set(approvers)) != len(approvers):
            return Refusal("approval", f"{kind}: an admin approves a statement only once")
        if signer in approvers:
            return Refusal(
                "approval", f"{kind}: {signer!r} signs it and may not approve it as well"
            )
        outsiders = [a for a in approvers if a not in admins]
        if outsiders:
            return Refusal(
                "approval",
                f"{kind}: {outsiders[0]!r} is not an active admin and cannot approve it",
            )
        count = 1 + len(approvers)
        if count < self.threshold:
            return Refusal(
                "approval",
                f"{kind} needs {self.threshold} of the {len(admins)} active admins "
                f"(the signer and {self.threshold - 1} approval(s)); it has {count}",
            )
        return None

    def _register(self, body: Mapping[str, Any]) -> Refusal | None:
        if body["principal"] in self.principals:
            return conflict(f"principal {body['principal']!r} is already registered")
        if body["role"] == LEDGER_ROLE:
            return rule("role 'ledger' is the ledger's own principal, named by the genesis")
        if (body["role"] == "ncp") != (body["member"] is not None):
            return rule(
                "body.member names the Member of an NCP, and only of an NCP: "
                f"role {body['role']!r} with member {body['member']!r} is refused"
            )
        return self._fresh_key(body["public_key"])

    def _revoke(self, target: Principal) -> Refusal | None:
        if target.role == "admin":
            left = len(self.active_admins()) - 1
            if left < self.threshold:
                return rule(
                    f"principal {target.id!r} is the last active admin; register another "
                    "admin before revoking it"
                    if left == 0
                    else f"revoking admin {target.id!r} would leave {left} active "
                    f"admin(s), fewer than the threshold of {self.threshold}; register "
                    "another admin first"
                )
        if target.role == LEDGER_ROLE:
            return rule("the ledger's own principal is replaced by a recovery, not revoked")
        return None

    def _new_log_key(self, body: Mapping[str, Any]) -> Refusal | None:
        """A log key hands over to a key the log never had: an old key, maybe
        the leaked one, never comes back (docs/decisions.md 33)."""
        used = {c.old_key for c in self.log_keys} | {c.new_key for c in self.log_keys}
        if body["new_key"] in used:
            return conflict("the new log key was a key of this log before; make a new one")
        return None

    def _fresh_key(self, public_key: str) -> Refusal | None:
        owner = self.owners.get(public_key)
        if owner is not None:
            return conflict(
                f"that public key already belongs to principal {owner!r}; "
                "every principal signs with its own key"
            )
        return None


def genesis_refusal(signer: str, body: Mapping[str, Any]) -> Refusal | None:
    """The genesis names distinct admins and keys, a threshold they can reach,
    and is signed by one of its admins."""
    admins = body["admins"]
    names = [a["principal"] for a in admins] + [body["ledger"]["principal"]]
    keys = [a["public_key"] for a in admins] + [body["ledger"]["public_key"]]
    if len(set(names)) != len(names) or len(set(keys)) != len(keys):
        return rule("the genesis names each principal and each key once")
    if not 1 <= body["threshold"] <= len(admins):
        return rule(
            f"the threshold {body['threshold']} must be between 1 and the "
            f"{len(admins)} admin(s) the genesis names"
        )
    if signer not in names[:-1]:
        return rule("the genesis entry must be signed by an admin it names")
    return None
