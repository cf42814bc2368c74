"""The access log's seals: stream ``access-log`` (docs/decisions.md, decision 16).

The ledger's own principal records ``access_log.sealed`` — the access log's
size and head hash — so the access log's history is anchored in the witnessed
Merkle log. The rule (a seal never goes back) is ``verify.rules.seals``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eventsourcing.domain import BaseAggregate

from ledger.domain.events import (
    LedgerCreated,
    LedgerEvent,
    Signed,
    event_kwargs,
    registered,
)
from ledger.domain.refusals import refuse
from verify.rules.seals import SealState
from verify.rules.transitions import apply_seal

SEALS_STREAM = "access-log"


class AccessLogSeals(BaseAggregate[str]):
    TOPIC = "pmm.access-log"

    def __init__(self) -> None:
        self.state = SealState()

    @classmethod
    def first(cls, signed: Signed) -> AccessLogSeals:
        refuse(SealState().refusal(signed.body))
        event = FirstSeal(
            originator_id=SEALS_STREAM, originator_version=1, **event_kwargs(signed)
        )
        seals = event.mutate(None)
        assert isinstance(seals, AccessLogSeals)
        seals.pending_events.append(event)
        return seals

    def seal(self, signed: Signed) -> None:
        refuse(self.state.refusal(signed.body))
        self.trigger_event(Sealed, **event_kwargs(signed))


class Sealed(LedgerEvent):
    TOPIC = "access_log.sealed"
    FIRST: ClassVar[type[LedgerCreated]]

    def apply(self, aggregate: Any) -> None:
        apply_seal(aggregate.state, self.change())


class FirstSeal(LedgerCreated, Sealed):
    """The first seal starts the stream; it is the same statement type."""

    AGGREGATE_TOPIC = AccessLogSeals.TOPIC


# The mapper rebuilds version 1 of the stream as the creating event
# (ledger/persistence.py): one statement type, two roles.
Sealed.FIRST = FirstSeal
registered(Sealed)
