"""The assessment workflow's checks, one per statement type (docs/design.md).

``refusal(workflow, kind, principal, body, context)`` says why ``principal`` may
not record a statement of type ``kind`` against the replayed ``Workflow`` of
its stream (``verify.rules.workflow``), or None. The ledger's command methods
and the offline verifier's replay call it alike (docs/decisions.md, 14).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from verify.formats.fields import value_problem
from verify.rules import Refusal, conflict, not_found, rule
from verify.rules.workflow import REVIEWS, Context, Workflow

Rule = Callable[[Workflow, str, Mapping[str, Any], Context], Refusal | None]


def opening_refusal(stream: str, body: Mapping[str, Any]) -> Refusal | None:
    """``assessment.opened`` belongs in the stream its Member and cycle name."""
    expected = f"assessment/{body['member']}/{body['cycle']}"
    if stream != expected:
        return rule(
            f"assessment.opened for {body['member']} cycle {body['cycle']} "
            f"belongs in stream {expected}, not {stream!r}"
        )
    return None


def _fits_kpi(body: Mapping[str, Any], context: Context) -> Refusal | None:
    """A value fits the KPI version that applies to its reference year."""
    if context.framework is None:
        return not_found("stream 'framework' does not exist yet")
    kpi = context.framework.kpi_for(body["kpi"], body["reference_year"])
    if isinstance(kpi, Refusal):
        return kpi
    problem = value_problem(kpi.value_kind, body["status"], body["value"])
    if problem:
        return rule(f"KPI {kpi.code!r} (version {kpi.version}): {problem}")
    if body["unit"] != kpi.unit:
        return rule(
            f"KPI {kpi.code!r} (version {kpi.version}) is measured in {kpi.unit!r}, "
            f"not {body['unit']!r}"
        )
    return None


def _known(code: str, context: Context) -> Refusal | None:
    if context.framework is None:
        return not_found("stream 'framework' does not exist yet")
    return context.framework.known_kpi(code)


def _submit(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    found = _fits_kpi(body, c)
    found = found or w.year_refusal(body["reference_year"]) or w.lock_refusal(body["kpi"])
    if found:
        return found
    if body["kpi"] in w.not_used:
        return conflict(f"KPI {body['kpi']!r} was declared not used; it takes no value")
    existing = w.current.get((body["kpi"], body["reference_year"]))
    if existing is not None:
        return conflict(
            f"KPI {body['kpi']!r} already has a value for {body['reference_year']} "
            f"(entry {existing}); record a value.corrected naming entry {existing}"
        )
    return None


def _correct(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    found = _fits_kpi(body, c)
    if found:
        return found
    old = w.current_value(body["supersedes"])
    if isinstance(old, Refusal):
        return old
    if (old.kpi, old.reference_year) != (body["kpi"], body["reference_year"]):
        return rule(
            f"entry {old.entry} is KPI {old.kpi!r} for {old.reference_year}; a "
            f"correction of it must name the same KPI and reference year"
        )
    return w.year_refusal(body["reference_year"]) or w.lock_refusal(body["kpi"])


def _not_used(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    kpi = body["kpi"]
    found = _known(kpi, c)
    if found:
        return found
    if kpi in w.not_used:
        return conflict(f"KPI {kpi!r} is already declared not used")
    found = w.lock_refusal(kpi)
    if found:
        return found
    values = [e for (k, _), e in w.current.items() if k == kpi]
    if values:
        return conflict(
            f"KPI {kpi!r} has recorded values (entries {values}); it cannot be "
            "declared not used"
        )
    return None


def _disclosure(
    w: Workflow, who: str, body: Mapping[str, Any], c: Context
) -> Refusal | None:
    found = w.current_value(body["entry"])
    return found if isinstance(found, Refusal) else None


def _complete(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    if w.completed:
        return conflict(f"the submission of {w.stream} is already complete")
    return None


def _review(kind: str) -> Rule:
    def check(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
        record = w.current_value(body["entry"])
        if isinstance(record, Refusal):
            return record
        if record.recorded_by == who:
            return Refusal(
                "self_review",
                f"principal {who!r} recorded entry {record.entry} and "
                "may not validate, query or return it; another principal must",
            )
        if kind == "value.validated" and record.review == "validated":
            return conflict(f"entry {record.entry} is already validated")
        return None

    return check


def _revise(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    return _known(body["kpi"], c) or w.year_refusal(body["reference_year"])


def _publish(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    cut_at = body["cut_at"]
    if not w.completed:
        return rule(
            f"the submission of {w.stream} is not complete; the NCP marks it "
            "complete (submission.completed) before it can be published"
        )
    if cut_at > c.log_size:
        return rule(f"cut_at {cut_at} is beyond the log, which holds {c.log_size} entries")
    if w.publications and cut_at < w.publications[-1].cut_at:
        return rule(
            f"cut_at {cut_at} is before the previous publication's "
            f"{w.publications[-1].cut_at}"
        )
    return None


def _reopen(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    for code in body["kpis"]:
        found = _known(code, c)
        if found:
            return found
    if not w.publications:
        return rule(f"{w.stream} is not published; nothing to reopen")
    return None


def _assign(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    reviewer = body["principal"]
    role = c.role_of(reviewer)
    if role is None:
        return not_found(f"no principal {reviewer!r} is registered")
    if role != "peer_reviewer":
        return rule(
            f"principal {reviewer!r} has role {role!r}; only a peer_reviewer can be "
            "assigned"
        )
    if reviewer in w.reviewers:
        return conflict(f"{reviewer!r} is already assigned")
    return None


def _finding(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    if who not in w.reviewers:
        return rule(f"peer reviewer {who!r} is not assigned to {w.stream}")
    return None


def _flag(w: Workflow, who: str, body: Mapping[str, Any], c: Context) -> Refusal | None:
    entry = body.get("entry")
    if entry is not None and not 1 <= entry <= w.version:
        return not_found(f"{w.stream} has no entry {entry}")
    return None


def refusal(
    workflow: Workflow, kind: str, principal: str, body: Mapping[str, Any], context: Context
) -> Refusal | None:
    """Why ``principal`` may not record statement ``kind`` here, or None."""
    check = _RULES.get(kind)
    return check(workflow, principal, body, context) if check is not None else None


_RULES: dict[str, Rule] = {
    "value.submitted": _submit,
    "value.corrected": _correct,
    "kpi.not_used": _not_used,
    "disclosure.set": _disclosure,
    "submission.completed": _complete,
    **{kind: _review(kind) for kind in REVIEWS},
    "score.revised": _revise,
    "assessment.published": _publish,
    "assessment.reopened": _reopen,
    "reviewer.assigned": _assign,
    "review.finding_recorded": _finding,
    "integrity.flag_raised": _flag,
}
