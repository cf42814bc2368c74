"""The KPI framework: dimensions → expected outcomes → KPIs (docs/design.md §1).

One stream (``framework``). KPI definitions are versioned: ``kpi.revised``
adds a version that applies from a stated reference year, and earlier
versions stay in the stream so old scores remain reproducible. The rules are
``verify.rules.framework`` (defined once, replayed by the verifier); the
aggregate's state is its ``FrameworkState``.
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
from ledger.errors import DomainRuleError, NotFoundError
from verify.rules import Refusal
from verify.rules.framework import UNITS_BY_KIND, FrameworkState, KpiVersion
from verify.rules.transitions import apply_framework

__all__ = ["FRAMEWORK_STREAM", "UNITS_BY_KIND", "Framework", "KpiVersion"]

FRAMEWORK_STREAM = "framework"


class Framework(BaseAggregate[str]):
    TOPIC = "pmm.framework"

    def __init__(self) -> None:
        self.state = FrameworkState()

    @classmethod
    def create(cls, signed: Signed) -> Framework:
        event = FrameworkCreated(
            originator_id=FRAMEWORK_STREAM, originator_version=1, **event_kwargs(signed)
        )
        framework = event.mutate(None)
        assert isinstance(framework, Framework)
        framework.pending_events.append(event)
        return framework

    def record(self, signed: Signed) -> None:
        """Check a definition statement against the framework rules, then record it."""
        refuse(self.state.refusal(signed.type, signed.body))
        self.trigger_event(EVENTS[signed.type], **event_kwargs(signed))

    # -- the state, read -----------------------------------------------------

    def kpi_for(self, code: str, reference_year: int) -> KpiVersion:
        """The version of KPI ``code`` that applies to ``reference_year``."""
        found = self.state.kpi_for(code, reference_year)
        if isinstance(found, Refusal):
            error = NotFoundError if found.kind == "not_found" else DomainRuleError
            raise error(found.reason)
        return found

    @property
    def title(self) -> str:
        return self.state.title

    @property
    def aggregation(self) -> str:
        return self.state.aggregation

    @property
    def dimensions(self) -> dict[str, str]:
        return self.state.dimensions

    @property
    def outcomes(self) -> dict[str, tuple[str, str]]:
        return self.state.outcomes

    @property
    def kpis(self) -> dict[str, list[KpiVersion]]:
        return self.state.kpis


class FrameworkEvent(LedgerEvent):
    """A framework entry: it applies itself to the aggregate's ``FrameworkState``."""

    def apply(self, aggregate: Any) -> None:
        apply_framework(aggregate.state, self.change())


class FrameworkCreated(LedgerCreated, FrameworkEvent):
    TOPIC = "framework.created"
    AGGREGATE_TOPIC = Framework.TOPIC


class DimensionDefined(FrameworkEvent):
    TOPIC = "dimension.defined"


class DimensionRevised(FrameworkEvent):
    TOPIC = "dimension.revised"


class OutcomeDefined(FrameworkEvent):
    TOPIC = "outcome.defined"


class OutcomeRevised(FrameworkEvent):
    TOPIC = "outcome.revised"


class KpiDefined(FrameworkEvent):
    TOPIC = "kpi.defined"


class KpiRevised(FrameworkEvent):
    TOPIC = "kpi.revised"


EVENTS: dict[str, type[FrameworkEvent]] = {
    cls.TOPIC: cls
    for cls in (
        DimensionDefined,
        DimensionRevised,
        OutcomeDefined,
        OutcomeRevised,
        KpiDefined,
        KpiRevised,
    )
}
registered(FrameworkCreated, *EVENTS.values())
