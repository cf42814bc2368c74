"""What each statement type does once admitted: cross-stream checks, then the
domain command. ``HANDLERS`` maps every statement type to its handler.

Cross-stream rules live here because an aggregate sees only its own stream:
a value must fit the KPI definition that applies to its reference year (value
kind, unit), a KPI named anywhere must exist, an assigned reviewer must be a
registered peer reviewer, a publication's cut-off must lie within the log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ledger.domain.assessment import (
    Assessment,
    ValueQueried,
    ValueReturned,
    ValueValidated,
)
from ledger.domain.framework import FRAMEWORK_STREAM, Framework
from ledger.domain.registry import REGISTRY_STREAM, PrincipalRegistry
from ledger.errors import DomainRuleError
from ledger.scores import replay_table, table_difference
from verify.schema import value_problem
from verify.scoring import method_inputs

if TYPE_CHECKING:
    from ledger.application import Ledger, UnitOfWork
    from ledger.domain.events import Signed

Handler = Callable[["Ledger", "UnitOfWork", "Signed"], None]


def wrong_use_case(actual: str, expected: str) -> DomainRuleError:
    return DomainRuleError(f"this use case records {expected} statements, not {actual}")


def _stream(signed: Signed) -> str:
    return str(signed.statement["stream"])


def _framework(work: UnitOfWork) -> Framework:
    framework: Framework = work.require(FRAMEWORK_STREAM)
    return framework


def _assessment(work: UnitOfWork, signed: Signed) -> Assessment:
    assessment: Assessment = work.require(_stream(signed))
    return assessment


def _registry(work: UnitOfWork) -> PrincipalRegistry:
    registry: PrincipalRegistry = work.require(REGISTRY_STREAM)
    return registry


def genesis(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    work.put(REGISTRY_STREAM, PrincipalRegistry.genesis(signed))


def create_framework(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    work.put(FRAMEWORK_STREAM, Framework.create(signed))


def open_assessment(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    work.put(_stream(signed), Assessment.open(signed, _stream(signed)))


def submit_or_correct(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    body = signed.body
    kpi = _framework(work).kpi_for(body["kpi"], body["reference_year"])
    problem = value_problem(kpi.value_kind, body["status"], body["value"])
    if problem:
        raise DomainRuleError(f"KPI {kpi.code!r} (version {kpi.version}): {problem}")
    if body["unit"] != kpi.unit:
        raise DomainRuleError(
            f"KPI {kpi.code!r} (version {kpi.version}) is measured in {kpi.unit!r}, "
            f"not {body['unit']!r}"
        )
    assessment = _assessment(work, signed)
    if signed.type == "value.corrected":
        assessment.correct_value(signed)
    else:
        assessment.submit_value(signed)


def _known_kpi(work: UnitOfWork, code: str) -> None:
    framework = _framework(work)
    if code not in framework.kpis:
        raise DomainRuleError(f"KPI {code!r} is not defined in the framework")


def define_or_revise_kpi(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    """A derived KPI reads defined KPIs, and no chain of them leads back to it."""
    framework = _framework(work)
    code = signed.body["code"]
    inputs = method_inputs(signed.body["scoring_method"])
    for name in inputs:
        if name not in framework.kpis and name != code:
            raise DomainRuleError(
                f"KPI {code!r}: its scoring method reads KPI {name!r}, which is not defined"
            )
    pending = [(name, [code, name]) for name in inputs]
    while pending:
        name, path = pending.pop()
        if name == code:
            raise DomainRuleError(
                f"KPI {code!r}: its scoring method reads itself through "
                f"{' -> '.join(path)}; a derived KPI cannot depend on itself"
            )
        for version in framework.kpis.get(name, [])[-1:]:
            pending.extend((n, [*path, n]) for n in method_inputs(version.scoring_method))
    if signed.type == "kpi.defined":
        framework.define_kpi(signed)
    else:
        framework.revise_kpi(signed)


def declare_not_used(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    _known_kpi(work, signed.body["kpi"])
    _assessment(work, signed).declare_not_used(signed)


def revise_score(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    _known_kpi(work, signed.body["kpi"])
    _assessment(work, signed).revise_score(signed)


def reopen(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    for code in signed.body["kpis"]:
        _known_kpi(work, code)
    _assessment(work, signed).reopen(signed)


def publish(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    """The signed score table must be what the entries up to ``cut_at`` give."""
    _assessment(work, signed).publish(signed, ledger.log_size())
    stream, cut_at = _stream(signed), signed.body["cut_at"]
    claimed = signed.body["scores"]
    table = replay_table(ledger.sequencer.store, stream, cut_at, claimed["reference_year"])
    problem = table_difference(claimed, table.published())
    if problem:
        raise DomainRuleError(
            f"the published scores are not what the log gives at cut_at {cut_at}: "
            f"{problem}; compute the table with `pmm scores --at-size {cut_at}`"
        )


def assign_reviewer(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
    reviewer = _registry(work).require(signed.body["principal"])
    _assessment(work, signed).assign_reviewer(signed, reviewer.role)


def _review(event_class: type[ValueValidated]) -> Handler:
    def handler(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
        _assessment(work, signed).review_value(signed, event_class)

    return handler


def _on_assessment(method: Callable[[Assessment, Signed], None]) -> Handler:
    def handler(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
        method(_assessment(work, signed), signed)

    return handler


def _on_registry(method: Callable[[PrincipalRegistry, Signed], None]) -> Handler:
    def handler(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
        method(_registry(work), signed)

    return handler


def _on_framework(method: Callable[[Framework, Signed], None]) -> Handler:
    def handler(ledger: Ledger, work: UnitOfWork, signed: Signed) -> None:
        method(_framework(work), signed)

    return handler


HANDLERS: dict[str, Handler] = {
    "registry.genesis": genesis,
    "principal.registered": _on_registry(PrincipalRegistry.register),
    "principal.key_rotated": _on_registry(PrincipalRegistry.rotate_key),
    "principal.revoked": _on_registry(PrincipalRegistry.revoke),
    "framework.created": create_framework,
    "dimension.defined": _on_framework(Framework.define_dimension),
    "dimension.revised": _on_framework(Framework.revise_dimension),
    "outcome.defined": _on_framework(Framework.define_outcome),
    "outcome.revised": _on_framework(Framework.revise_outcome),
    "kpi.defined": define_or_revise_kpi,
    "kpi.revised": define_or_revise_kpi,
    "assessment.opened": open_assessment,
    "value.submitted": submit_or_correct,
    "value.corrected": submit_or_correct,
    "kpi.not_used": declare_not_used,
    "disclosure.set": _on_assessment(Assessment.set_disclosure),
    "submission.completed": _on_assessment(Assessment.complete),
    "value.validated": _review(ValueValidated),
    "value.queried": _review(ValueQueried),
    "value.returned": _review(ValueReturned),
    "score.revised": revise_score,
    "assessment.published": publish,
    "assessment.reopened": reopen,
    "reviewer.assigned": assign_reviewer,
    "review.finding_recorded": _on_assessment(Assessment.record_finding),
    "integrity.flag_raised": _on_assessment(Assessment.raise_flag),
}
