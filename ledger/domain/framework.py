"""The KPI framework: dimensions → expected outcomes → KPIs (DESIGN.md §1).

One stream (``framework``). KPI definitions are versioned: ``kpi.revised``
adds a version that applies from a stated reference year, and earlier
versions stay in the stream so old scores remain reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
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

FRAMEWORK_STREAM = "framework"

# Which units a value kind may be measured in (DESIGN.md §1 value kinds).
UNITS_BY_KIND = {
    "number": None,  # any unit: hours, days, count, a currency code...
    "ratio": ("ratio",),
    "percentage": ("percent",),
    "yes_no": ("yes_no",),
    "grade": ("grade",),
    "text": ("text",),
}


@dataclass(frozen=True)
class KpiVersion:
    """One version of a KPI definition, as recorded at ``entry`` (stream version)."""

    code: str
    version: int
    outcome: str
    name: str
    unit: str
    value_kind: str
    direction: str
    disclosure: str
    scoring_method: dict[str, Any]
    applies_from: int
    illustrative: bool
    entry: int


class Framework(BaseAggregate[str]):
    TOPIC = "pmm.framework"

    def __init__(self) -> None:
        self.title = ""
        self.aggregation = "mean"
        self.dimensions: dict[str, str] = {}
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.kpis: dict[str, list[KpiVersion]] = {}
        # The reference year the latest revision of a dimension or outcome
        # applies from (0: as first defined).
        self.revised_from: dict[str, int] = {}

    def kpi_for(self, code: str, reference_year: int) -> KpiVersion:
        """The version of KPI ``code`` that applies to ``reference_year``."""
        versions = self.kpis.get(code)
        if not versions:
            raise NotFoundError(f"KPI {code!r} is not defined in the framework")
        applicable = [v for v in versions if v.applies_from <= reference_year]
        if not applicable:
            raise DomainRuleError(
                f"KPI {code!r} applies only from reference year "
                f"{versions[0].applies_from}, not to {reference_year}"
            )
        return max(applicable, key=lambda v: (v.applies_from, v.version))

    @classmethod
    def create(cls, signed: Signed) -> Framework:
        event = FrameworkCreated(
            originator_id=FRAMEWORK_STREAM, originator_version=1, **event_kwargs(signed)
        )
        framework = event.mutate(None)
        assert isinstance(framework, Framework)
        framework.pending_events.append(event)
        return framework

    def define_dimension(self, signed: Signed) -> None:
        if signed.body["code"] in self.dimensions:
            raise ConflictError(f"dimension {signed.body['code']!r} is already defined")
        self.trigger_event(DimensionDefined, **event_kwargs(signed))

    def define_outcome(self, signed: Signed) -> None:
        body = signed.body
        if body["code"] in self.outcomes:
            raise ConflictError(f"expected outcome {body['code']!r} is already defined")
        if body["dimension"] not in self.dimensions:
            raise NotFoundError(
                f"expected outcome {body['code']!r} names dimension "
                f"{body['dimension']!r}, which is not defined"
            )
        self.trigger_event(OutcomeDefined, **event_kwargs(signed))

    def revise_dimension(self, signed: Signed) -> None:
        code = signed.body["code"]
        if code not in self.dimensions:
            raise NotFoundError(f"dimension {code!r} is not defined; use dimension.defined")
        self._check_revision_year("dimension", signed.body)
        self.trigger_event(DimensionRevised, **event_kwargs(signed))

    def revise_outcome(self, signed: Signed) -> None:
        body = signed.body
        if body["code"] not in self.outcomes:
            raise NotFoundError(
                f"expected outcome {body['code']!r} is not defined; use outcome.defined"
            )
        if body["dimension"] not in self.dimensions:
            raise NotFoundError(
                f"expected outcome {body['code']!r} names dimension "
                f"{body['dimension']!r}, which is not defined"
            )
        self._check_revision_year("outcome", body)
        self.trigger_event(OutcomeRevised, **event_kwargs(signed))

    def _check_revision_year(self, what: str, body: dict[str, Any]) -> None:
        last = self.revised_from.get(f"{what}:{body['code']}", 0)
        if body["applies_from"] < last:
            raise DomainRuleError(
                f"a new version of {what} {body['code']!r} must apply from reference "
                f"year {last} or later, not {body['applies_from']}"
            )

    def define_kpi(self, signed: Signed) -> None:
        code = signed.body["code"]
        if code in self.kpis:
            raise ConflictError(
                f"KPI {code!r} is already defined; use kpi.revised for a new version"
            )
        self._check_kpi(signed.body)
        self.trigger_event(KpiDefined, **event_kwargs(signed))

    def revise_kpi(self, signed: Signed) -> None:
        body = signed.body
        versions = self.kpis.get(body["code"])
        if not versions:
            raise NotFoundError(f"KPI {body['code']!r} is not defined; use kpi.defined")
        if body["applies_from"] < versions[-1].applies_from:
            raise DomainRuleError(
                f"a new version of KPI {body['code']!r} must apply from reference "
                f"year {versions[-1].applies_from} or later, not {body['applies_from']}"
            )
        self._check_kpi(body)
        self.trigger_event(KpiRevised, **event_kwargs(signed))

    def _check_kpi(self, body: dict[str, Any]) -> None:
        if body["outcome"] not in self.outcomes:
            raise NotFoundError(
                f"KPI {body['code']!r} names expected outcome {body['outcome']!r}, "
                "which is not defined"
            )
        units = UNITS_BY_KIND[body["value_kind"]]
        if units is not None and body["unit"] not in units:
            raise DomainRuleError(
                f"KPI {body['code']!r}: a {body['value_kind']} value is measured in "
                f"{' or '.join(units)}, not {body['unit']!r}"
            )


class FrameworkCreated(LedgerCreated):
    TOPIC = "framework.created"
    AGGREGATE_TOPIC = Framework.TOPIC

    def apply(self, aggregate: Any) -> None:
        aggregate.title = self.body["title"]
        aggregate.aggregation = self.body.get("aggregation", "mean")


class DimensionDefined(LedgerEvent):
    TOPIC = "dimension.defined"

    def apply(self, aggregate: Any) -> None:
        aggregate.dimensions[self.body["code"]] = self.body["name"]


class OutcomeDefined(LedgerEvent):
    TOPIC = "outcome.defined"

    def apply(self, aggregate: Any) -> None:
        aggregate.outcomes[self.body["code"]] = (self.body["dimension"], self.body["name"])


class DimensionRevised(DimensionDefined):
    TOPIC = "dimension.revised"

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        aggregate.revised_from[f"dimension:{self.body['code']}"] = self.body["applies_from"]


class OutcomeRevised(OutcomeDefined):
    TOPIC = "outcome.revised"

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        aggregate.revised_from[f"outcome:{self.body['code']}"] = self.body["applies_from"]


class KpiDefined(LedgerEvent):
    TOPIC = "kpi.defined"

    def apply(self, aggregate: Any) -> None:
        versions = aggregate.kpis.setdefault(self.body["code"], [])
        body = self.body
        versions.append(
            KpiVersion(
                body["code"],
                len(versions) + 1,
                body["outcome"],
                body["name"],
                body["unit"],
                body["value_kind"],
                body["direction"],
                body["disclosure"],
                body["scoring_method"],
                body["applies_from"],
                bool(body.get("illustrative", False)),
                self.originator_version,
            )
        )


class KpiRevised(KpiDefined):
    TOPIC = "kpi.revised"


registered(
    FrameworkCreated,
    DimensionDefined,
    DimensionRevised,
    OutcomeDefined,
    OutcomeRevised,
    KpiDefined,
    KpiRevised,
)
