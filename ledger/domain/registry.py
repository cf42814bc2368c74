"""The principal registry: who may sign, with which key, in which role.

One stream (``registry``) rooted in a genesis entry that names the first admin
key (DESIGN.md §3). Principals are registered with a role and, for NCPs, one
Member; keys are rotated (the old key signs nothing after the rotation) and
principals revoked (none of their keys sign anything after the revocation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import BaseAggregate

from ledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    Signed,
    event_kwargs,
    registered,
)
from ledger.errors import ConflictError, DomainRuleError, NotFoundError

REGISTRY_STREAM = "registry"


@dataclass
class Principal:
    """A principal's current state; ``keys`` lists every key it ever had."""

    id: str
    name: str
    role: str
    member: str | None
    public_key: str
    keys: list[str] = field(default_factory=list)
    revoked: bool = False
    revoked_reason: str = ""


class PrincipalRegistry(BaseAggregate[str]):
    TOPIC = "pmm.registry"

    def __init__(self) -> None:
        self.principals: dict[str, Principal] = {}

    # -- queries ---------------------------------------------------------

    def get(self, principal: str) -> Principal | None:
        return self.principals.get(principal)

    def require(self, principal: str) -> Principal:
        found = self.principals.get(principal)
        if found is None:
            raise NotFoundError(f"no principal {principal!r} is registered")
        return found

    def active_admins(self) -> list[str]:
        return [
            p.id for p in self.principals.values() if p.role == "admin" and not p.revoked
        ]

    # -- commands (validation here, never in apply) ------------------------

    @classmethod
    def genesis(cls, signed: Signed) -> PrincipalRegistry:
        event = Genesis(
            originator_id=REGISTRY_STREAM, originator_version=1, **event_kwargs(signed)
        )
        registry = event.mutate(None)
        assert isinstance(registry, PrincipalRegistry)
        registry.pending_events.append(event)
        return registry

    def register(self, signed: Signed) -> None:
        body = signed.body
        if body["principal"] in self.principals:
            raise ConflictError(f"principal {body['principal']!r} is already registered")
        if (body["role"] == "ncp") != (body["member"] is not None):
            raise DomainRuleError(
                "body.member names the Member of an NCP, and only of an NCP: "
                f"role {body['role']!r} with member {body['member']!r} is refused"
            )
        self._refuse_reused_key(body["public_key"])
        self.trigger_event(PrincipalRegistered, **event_kwargs(signed))

    def rotate_key(self, signed: Signed) -> None:
        self._active(signed.body["principal"])
        self._refuse_reused_key(signed.body["public_key"])
        self.trigger_event(KeyRotated, **event_kwargs(signed))

    def revoke(self, signed: Signed) -> None:
        principal = self._active(signed.body["principal"])
        if principal.role == "admin" and self.active_admins() == [principal.id]:
            raise DomainRuleError(
                f"principal {principal.id!r} is the last active admin; register "
                "another admin before revoking it"
            )
        self.trigger_event(PrincipalRevoked, **event_kwargs(signed))

    def _active(self, principal_id: str) -> Principal:
        principal = self.require(principal_id)
        if principal.revoked:
            raise ConflictError(f"principal {principal_id!r} is already revoked")
        return principal

    def _refuse_reused_key(self, public_key: str) -> None:
        for other in self.principals.values():
            if public_key in other.keys:
                raise ConflictError(
                    f"that public key already belongs to principal {other.id!r}; "
                    "every principal signs with its own key"
                )


class Genesis(LedgerCreated):
    TOPIC = "registry.genesis"
    AGGREGATE_TOPIC = PrincipalRegistry.TOPIC

    def apply(self, aggregate: Any) -> None:
        body = self.body
        aggregate.principals[body["principal"]] = Principal(
            body["principal"],
            body["name"],
            "admin",
            None,
            body["public_key"],
            [body["public_key"]],
        )


class PrincipalRegistered(LedgerEvent):
    TOPIC = "principal.registered"

    def apply(self, aggregate: Any) -> None:
        body = self.body
        aggregate.principals[body["principal"]] = Principal(
            body["principal"],
            body["name"],
            body["role"],
            body["member"],
            body["public_key"],
            [body["public_key"]],
        )


class KeyRotated(LedgerEvent):
    TOPIC = "principal.key_rotated"

    def apply(self, aggregate: Any) -> None:
        principal = aggregate.principals[self.body["principal"]]
        principal.public_key = self.body["public_key"]
        principal.keys.append(self.body["public_key"])


class PrincipalRevoked(LedgerEvent):
    TOPIC = "principal.revoked"

    def apply(self, aggregate: Any) -> None:
        principal = aggregate.principals[self.body["principal"]]
        principal.revoked = True
        principal.revoked_reason = self.body["reason"]


registered(Genesis, PrincipalRegistered, KeyRotated, PrincipalRevoked)
