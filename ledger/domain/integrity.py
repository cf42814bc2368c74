"""The integrity officers' records: stream ``integrity`` (docs/flags.md).

Red-flag thresholds, the handling of each flag, and the digests of issued
audit reports. The rules are ``verify.rules.integrity``, asked here and by the
offline verifier alike. Any of the three types may start the stream, so each
has a creating twin that the mapper rebuilds version 1 as
(``ledger/persistence.py``), as the access log's seals do.
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
from verify.rules.integrity import IntegrityState, MemberOf
from verify.rules.transitions import apply_integrity

INTEGRITY_STREAM = "integrity"


class IntegrityRecords(BaseAggregate[str]):
    TOPIC = "pmm.integrity"

    def __init__(self) -> None:
        self.state = IntegrityState()

    @classmethod
    def first(cls, signed: Signed, log_size: int, member_of: MemberOf) -> IntegrityRecords:
        refuse(IntegrityState().refusal(signed.type, signed.body, log_size, member_of))
        event = EVENTS[signed.type].FIRST(
            originator_id=INTEGRITY_STREAM, originator_version=1, **event_kwargs(signed)
        )
        records = event.mutate(None)
        assert isinstance(records, IntegrityRecords)
        records.pending_events.append(event)
        return records

    def record(self, signed: Signed, log_size: int, member_of: MemberOf) -> None:
        refuse(self.state.refusal(signed.type, signed.body, log_size, member_of))
        self.trigger_event(EVENTS[signed.type], **event_kwargs(signed))


class IntegrityEvent(LedgerEvent):
    FIRST: ClassVar[type[LedgerCreated]]

    def apply(self, aggregate: Any) -> None:
        apply_integrity(aggregate.state, self.change())


class ThresholdsSet(IntegrityEvent):
    TOPIC = "integrity.thresholds_set"


class FlagHandled(IntegrityEvent):
    TOPIC = "integrity.flag_handled"


class ReportIssued(IntegrityEvent):
    TOPIC = "report.issued"


class FirstThresholds(LedgerCreated, ThresholdsSet):
    AGGREGATE_TOPIC = IntegrityRecords.TOPIC


class FirstFlagHandled(LedgerCreated, FlagHandled):
    AGGREGATE_TOPIC = IntegrityRecords.TOPIC


class FirstReport(LedgerCreated, ReportIssued):
    AGGREGATE_TOPIC = IntegrityRecords.TOPIC


ThresholdsSet.FIRST = FirstThresholds
FlagHandled.FIRST = FirstFlagHandled
ReportIssued.FIRST = FirstReport
EVENTS: dict[str, type[IntegrityEvent]] = {
    cls.TOPIC: cls for cls in (ThresholdsSet, FlagHandled, ReportIssued)
}
registered(*EVENTS.values())
