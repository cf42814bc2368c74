"""The principal registry: who may sign, with which key, in which role.

One stream (``registry``) rooted in a genesis entry that names the admins, the
threshold of them a change needs, and the ledger's own principal (docs/design.md
§3). The rules — m-of-n admins to register, revoke or recover; a principal
rotates only its own key; every key belongs to one principal — are
``verify.rules.registry``, defined once and replayed by the verifier
(docs/decisions.md, decision 15). Approval signatures are checked at
admission (``ledger/admission.py``); the command receives the approvers.
Positions in the state are this stream's versions.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import BaseAggregate

from ledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    Signed,
    event_kwargs,
    registered,
)
from ledger.domain.refusals import refuse
from ledger.errors import NotFoundError
from verify.rules.registry import Principal, RegistryState, genesis_refusal
from verify.rules.transitions import apply_registry

REGISTRY_STREAM = "registry"

__all__ = ["REGISTRY_STREAM", "Principal", "PrincipalRegistry"]


class PrincipalRegistry(BaseAggregate[str]):
    TOPIC = "pmm.registry"

    def __init__(self) -> None:
        self.state = RegistryState()

    # -- queries ---------------------------------------------------------

    @property
    def principals(self) -> dict[str, Principal]:
        return self.state.principals

    @property
    def threshold(self) -> int:
        return self.state.threshold

    def get(self, principal: str) -> Principal | None:
        return self.state.get(principal)

    def require(self, principal: str) -> Principal:
        found = self.state.get(principal)
        if found is None:
            raise NotFoundError(f"no principal {principal!r} is registered")
        return found

    def active_admins(self) -> list[str]:
        return self.state.active_admins()

    # -- commands (validation here, never in apply) ------------------------

    @classmethod
    def genesis(cls, signed: Signed) -> PrincipalRegistry:
        refuse(genesis_refusal(signed.principal, signed.body))
        event = Genesis(
            originator_id=REGISTRY_STREAM, originator_version=1, **event_kwargs(signed)
        )
        registry = event.mutate(None)
        assert isinstance(registry, PrincipalRegistry)
        registry.pending_events.append(event)
        return registry

    def record(self, signed: Signed) -> None:
        """Check a registry statement against the rules, then record it."""
        found = self.state.refusal(
            signed.type, signed.principal, signed.body, signed.approvers
        )
        refuse(found)
        self.trigger_event(EVENTS[signed.type], **event_kwargs(signed))


class RegistryEvent(LedgerEvent):
    """A registry entry: it applies itself to the aggregate's ``RegistryState``."""

    def apply(self, aggregate: Any) -> None:
        apply_registry(aggregate.state, self.change())


class Genesis(LedgerCreated, RegistryEvent):
    TOPIC = "registry.genesis"
    AGGREGATE_TOPIC = PrincipalRegistry.TOPIC


class PrincipalRegistered(RegistryEvent):
    TOPIC = "principal.registered"


class KeyRotated(RegistryEvent):
    TOPIC = "principal.key_rotated"


class KeyRecovered(RegistryEvent):
    TOPIC = "principal.key_recovered"


class PrincipalRevoked(RegistryEvent):
    TOPIC = "principal.revoked"


class LogKeyRotated(RegistryEvent):
    """The log key's hand-over (docs/decisions.md 33); its old-key signature is
    checked before the command runs (``ledger/log_keys.py``)."""

    TOPIC = "log.key_rotated"


EVENTS: dict[str, type[RegistryEvent]] = {
    cls.TOPIC: cls
    for cls in (
        PrincipalRegistered,
        KeyRotated,
        KeyRecovered,
        PrincipalRevoked,
        LogKeyRotated,
    )
}
registered(Genesis, *EVENTS.values())
