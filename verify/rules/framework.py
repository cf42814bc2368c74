"""The KPI framework's rules: dimensions → expected outcomes → KPIs (docs/design.md).

``FrameworkState`` is what the ``framework`` stream's entries say, replayed in
order (``verify.rules.transitions``); ``refusal`` says why a definition statement may not be
recorded against it. KPI definitions are versioned: ``kpi.revised`` adds a
version that applies from a stated reference year, never earlier than the
last one, and a derived KPI reads only defined KPIs, never itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verify.rules import Refusal, conflict, not_found, rule
from verify.scoring.methods import method_inputs

# Which units a value kind may be measured in (docs/statements.md, value kinds).
UNITS_BY_KIND: Mapping[str, tuple[str, ...] | None] = {
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
    scoring_method: Mapping[str, Any]
    applies_from: int
    illustrative: bool
    entry: int


@dataclass(frozen=True)
class Version:
    """One version of a definition as recorded: its body, where the caller
    counts it (the scoreboard: its log index; the ledger: its stream version),
    its number (1 for the definition, 2 for its first revision...) and the
    reference year it applies from (0 for a dimension or outcome as first
    defined)."""

    body: Mapping[str, Any]
    position: int
    number: int
    applies_from: int


def latest(versions: list[Version], year: int) -> Version | None:
    """The version that applies to reference ``year``: the latest ``applies_from``
    not after it, the later revision of two from the same year."""
    applicable = [v for v in versions if v.applies_from <= year]
    return max(applicable, key=lambda v: (v.applies_from, v.number)) if applicable else None


DEFINITIONS = ("dimension", "outcome", "kpi")


@dataclass
class FrameworkState:
    """The framework as its entries so far define it."""

    title: str = ""
    aggregation: str = "mean"
    dimensions: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    kpis: dict[str, list[KpiVersion]] = field(default_factory=dict)
    # Every version of every definition, body and all, by kind (``DEFINITIONS``)
    # and code: what the scores read, and where a revision's year starts from.
    definitions: dict[str, dict[str, list[Version]]] = field(
        default_factory=lambda: {kind: {} for kind in DEFINITIONS}
    )

    def kpi_for(self, code: str, reference_year: int) -> KpiVersion | Refusal:
        """The version of KPI ``code`` that applies to ``reference_year``."""
        versions = self.kpis.get(code)
        if not versions:
            return not_found(f"KPI {code!r} is not defined in the framework")
        applicable = [v for v in versions if v.applies_from <= reference_year]
        if not applicable:
            return rule(
                f"KPI {code!r} applies only from reference year "
                f"{versions[0].applies_from}, not to {reference_year}"
            )
        return max(applicable, key=lambda v: (v.applies_from, v.version))

    def known_kpi(self, code: str) -> Refusal | None:
        if code not in self.kpis:
            return rule(f"KPI {code!r} is not defined in the framework")
        return None

    # -- rules --------------------------------------------------------------

    def refusal(self, kind: str, body: Mapping[str, Any]) -> Refusal | None:
        """Why the definition statement ``kind`` may not be recorded, or None."""
        check = _RULES.get(kind)
        return check(self, body) if check is not None else None


def _define_dimension(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    if body["code"] in state.dimensions:
        return conflict(f"dimension {body['code']!r} is already defined")
    return None


def _revise_dimension(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    if body["code"] not in state.dimensions:
        return not_found(
            f"dimension {body['code']!r} is not defined; use dimension.defined"
        )
    return _revision_year(state, "dimension", body)


def _define_outcome(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    if body["code"] in state.outcomes:
        return conflict(f"expected outcome {body['code']!r} is already defined")
    return _outcome_dimension(state, body)


def _revise_outcome(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    if body["code"] not in state.outcomes:
        return not_found(
            f"expected outcome {body['code']!r} is not defined; use outcome.defined"
        )
    return _outcome_dimension(state, body) or _revision_year(state, "outcome", body)


def _outcome_dimension(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    if body["dimension"] not in state.dimensions:
        return not_found(
            f"expected outcome {body['code']!r} names dimension "
            f"{body['dimension']!r}, which is not defined"
        )
    return None


def _revision_year(
    state: FrameworkState, what: str, body: Mapping[str, Any]
) -> Refusal | None:
    versions = state.definitions[what].get(body["code"], [])
    last = versions[-1].applies_from if versions else 0
    if body["applies_from"] < last:
        return rule(
            f"a new version of {what} {body['code']!r} must apply from reference "
            f"year {last} or later, not {body['applies_from']}"
        )
    return None


def _define_kpi(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    if body["code"] in state.kpis:
        return conflict(
            f"KPI {body['code']!r} is already defined; use kpi.revised for a new version"
        )
    return _kpi(state, body)


def _revise_kpi(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    versions = state.kpis.get(body["code"])
    if not versions:
        return not_found(f"KPI {body['code']!r} is not defined; use kpi.defined")
    if body["applies_from"] < versions[-1].applies_from:
        return rule(
            f"a new version of KPI {body['code']!r} must apply from reference "
            f"year {versions[-1].applies_from} or later, not {body['applies_from']}"
        )
    return _kpi(state, body)


def _kpi(state: FrameworkState, body: Mapping[str, Any]) -> Refusal | None:
    """A KPI names a defined outcome, a unit its value kind allows, and a scoring
    method that reads defined KPIs, none of which leads back to it."""
    code = body["code"]
    inputs = method_inputs(body["scoring_method"])
    for name in inputs:
        if name not in state.kpis and name != code:
            return rule(
                f"KPI {code!r}: its scoring method reads KPI {name!r}, which is not defined"
            )
    pending = [(name, [code, name]) for name in inputs]
    while pending:
        name, path = pending.pop()
        if name == code:
            return rule(
                f"KPI {code!r}: its scoring method reads itself through "
                f"{' -> '.join(path)}; a derived KPI cannot depend on itself"
            )
        for version in state.kpis.get(name, [])[-1:]:
            pending.extend((n, [*path, n]) for n in method_inputs(version.scoring_method))
    if body["outcome"] not in state.outcomes:
        return not_found(
            f"KPI {code!r} names expected outcome {body['outcome']!r}, which is not defined"
        )
    units = UNITS_BY_KIND[body["value_kind"]]
    if units is not None and body["unit"] not in units:
        return rule(
            f"KPI {code!r}: a {body['value_kind']} value is measured in "
            f"{' or '.join(units)}, not {body['unit']!r}"
        )
    return None


_RULES = {
    "dimension.defined": _define_dimension,
    "dimension.revised": _revise_dimension,
    "outcome.defined": _define_outcome,
    "outcome.revised": _revise_outcome,
    "kpi.defined": _define_kpi,
    "kpi.revised": _revise_kpi,
}
