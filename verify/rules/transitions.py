"""What each statement type does to the replayed state, written once (decision 44).

The rules (``verify/rules/*``) say whether an entry may be recorded; this
module says what a recorded entry changes: one function per statement type,
over the state dataclasses those rules read. The ledger's aggregates apply
their events through ``apply_workflow``, ``apply_framework``... and the
offline verifier's replay and the scoreboard call the very same functions
(docs/design.md "The rules, defined once"), so the domain, the verifier and
the scores cannot disagree about what an entry means.

A transition never refuses: the verifier applies an entry the rules refused
(the log says it happened), so a transition whose body names a value the
stream does not hold leaves the state as it is. Standard library only: the
domain imports this module (tests/test_layering.py).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from verify.rules import Change, Transition, step
from verify.rules.framework import FrameworkState, KpiVersion, Version
from verify.rules.integrity import Handling, IntegrityState
from verify.rules.registry import (
    GENESIS,
    LEDGER_ROLE,
    LOG_KEY_ROTATED,
    LogKeyChange,
    Principal,
    RegistryState,
)
from verify.rules.seals import Seal, SealState
from verify.rules.workflow import REVIEWS, VALUE_TYPES, Publication, ValueRecord, Workflow

# -- an assessment (verify.rules.workflow) ----------------------------------------------


def apply_workflow(workflow: Workflow, change: Change) -> None:
    """Take an assessment entry into ``workflow``."""
    workflow.version = change.version
    step(_WORKFLOW, workflow, change)


def _opened(w: Workflow, c: Change) -> None:
    w.member, w.cycle = c.body["member"], c.body["cycle"]
    w.reference_year = c.body["reference_year"]


def _value(w: Workflow, c: Change) -> None:
    """A value supersedes the current one of its KPI and year."""
    body = c.body
    key = (sys.intern(body["kpi"]), body["reference_year"])
    previous = w.current.get(key)
    if previous is not None:
        w.values[previous].superseded_by = c.version
    w.values[c.version] = ValueRecord(
        c.version,
        key[0],
        body["reference_year"],
        sys.intern(body["status"]),
        body["value"] if w.keep_values else None,
        sys.intern(body["disclosure"]),
        sys.intern(c.principal),
        supersedes=body.get("supersedes"),
        position=c.position,
    )
    w.current[key] = c.version


def _not_used(w: Workflow, c: Change) -> None:
    w.not_used[c.body["kpi"]] = c.body["justification"]
    w.not_used_at[c.body["kpi"]] = c.position


def _disclosure(w: Workflow, c: Change) -> None:
    record = w.values.get(c.body["entry"])
    if record is not None:
        record.disclosure = c.body["disclosure"]


def _completed(w: Workflow, c: Change) -> None:
    w.completed = True


def _review(w: Workflow, c: Change) -> None:
    record = w.values.get(c.body["entry"])
    if record is not None:
        record.review = REVIEWS[c.kind]


def _score_revised(w: Workflow, c: Change) -> None:
    key = (c.body["kpi"], c.body["reference_year"])
    w.revised[key] = (Decimal(c.body["score"]), c.position)


def _published(w: Workflow, c: Change) -> None:
    body = c.body
    scores = body["scores"] if w.keep_values else {}  # the verifier reads them apart
    w.publications.append(
        Publication(c.version, body["cut_at"], body["title"], c.position, scores)
    )
    w.reopened = set()


def _reopened(w: Workflow, c: Change) -> None:
    w.reopened |= set(c.body["kpis"])
    w.completed = False


def _assigned(w: Workflow, c: Change) -> None:
    w.reviewers.add(c.body["principal"])


_WORKFLOW: Mapping[str, Transition[Workflow]] = {
    "assessment.opened": _opened,
    **dict.fromkeys(VALUE_TYPES, _value),
    "kpi.not_used": _not_used,
    "disclosure.set": _disclosure,
    "submission.completed": _completed,
    **dict.fromkeys(REVIEWS, _review),
    "score.revised": _score_revised,
    "assessment.published": _published,
    "assessment.reopened": _reopened,
    "reviewer.assigned": _assigned,
}


# -- the framework (verify.rules.framework) ---------------------------------------------


def apply_framework(state: FrameworkState, change: Change) -> None:
    """Take a framework entry into ``state``."""
    step(_FRAMEWORK, state, change)


def _created(s: FrameworkState, c: Change) -> None:
    s.title = c.body["title"]
    s.aggregation = c.body.get("aggregation", "mean")


def _definition(s: FrameworkState, c: Change) -> None:
    """A definition or a revision adds the next version of its definition."""
    body = c.body
    versions = s.definitions[c.kind.split(".")[0]].setdefault(body["code"], [])
    applies_from = int(body.get("applies_from", 0))
    versions.append(Version(body, c.position, len(versions) + 1, applies_from))


def _dimension(s: FrameworkState, c: Change) -> None:
    _definition(s, c)
    s.dimensions[c.body["code"]] = c.body["name"]


def _outcome(s: FrameworkState, c: Change) -> None:
    _definition(s, c)
    s.outcomes[c.body["code"]] = (c.body["dimension"], c.body["name"])


def _kpi(s: FrameworkState, c: Change) -> None:
    """A KPI's definition or revision adds its next version, read as well."""
    _definition(s, c)
    body = c.body
    versions = s.kpis.setdefault(body["code"], [])
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
            c.version,
        )
    )


_FRAMEWORK: Mapping[str, Transition[FrameworkState]] = {
    "framework.created": _created,
    **dict.fromkeys(("dimension.defined", "dimension.revised"), _dimension),
    **dict.fromkeys(("outcome.defined", "outcome.revised"), _outcome),
    **dict.fromkeys(("kpi.defined", "kpi.revised"), _kpi),
}


# -- the principal registry (verify.rules.registry) -------------------------------------


def apply_registry(state: RegistryState, change: Change) -> None:
    """Take a registry entry into ``state``; positions are ``change.position``."""
    step(_REGISTRY, state, change)


def _add(
    s: RegistryState, body: Mapping[str, Any], role: str, member: str | None, at: int
) -> None:
    key, name = body["public_key"], body["principal"]
    s.principals[name] = Principal(name, body["name"], role, member, key, [key], at)
    s.owners[key] = name


def _genesis(s: RegistryState, c: Change) -> None:
    s.threshold = c.body["threshold"]
    for admin in c.body["admins"]:
        _add(s, admin, "admin", None, c.position)
    _add(s, c.body["ledger"], LEDGER_ROLE, None, c.position)


def _registered(s: RegistryState, c: Change) -> None:
    _add(s, c.body, c.body["role"], c.body["member"], c.position)


def _new_key(s: RegistryState, c: Change) -> None:
    """A rotation or a recovery: the principal's key is retired for the new one."""
    principal = s.principals[c.body["principal"]]
    principal.retired[principal.public_key] = c.position
    principal.public_key = c.body["public_key"]
    principal.keys.append(c.body["public_key"])
    s.owners[c.body["public_key"]] = principal.id
    if c.kind == "principal.key_recovered":
        principal.recovered_at.append(c.position)


def _log_key(s: RegistryState, c: Change) -> None:
    body = c.body
    s.log_keys.append(
        LogKeyChange(c.position, body["old_key"], body["new_key"], dict(body))
    )


def _revoked(s: RegistryState, c: Change) -> None:
    principal = s.principals[c.body["principal"]]
    principal.revoked_at = c.position
    principal.revoked_reason = c.body["reason"]


_REGISTRY: Mapping[str, Transition[RegistryState]] = {
    GENESIS: _genesis,
    "principal.registered": _registered,
    **dict.fromkeys(("principal.key_rotated", "principal.key_recovered"), _new_key),
    LOG_KEY_ROTATED: _log_key,
    "principal.revoked": _revoked,
}


# -- the access log's seals and the integrity officers' records ------------------------


def apply_seal(state: SealState, change: Change) -> None:
    """An ``access_log.sealed`` entry adds its seal."""
    state.seals.append(Seal(change.body["size"], change.body["head"], change.position))


def apply_integrity(state: IntegrityState, change: Change) -> None:
    """Take an ``integrity`` stream entry into ``state``."""
    step(_INTEGRITY, state, change)


def _thresholds(s: IntegrityState, c: Change) -> None:
    s.thresholds_version = max(s.thresholds_version, c.body["version"])


def _handled(s: IntegrityState, c: Change) -> None:
    body = c.body
    s.handled[body["flag"]] = Handling(
        body["action"], c.principal, body["reason"], c.position
    )


def _report(s: IntegrityState, c: Change) -> None:
    for digest in (c.body["sha256"], c.body["html_sha256"]):
        s.reports.setdefault(digest, c.position)


_INTEGRITY: Mapping[str, Transition[IntegrityState]] = {
    "integrity.thresholds_set": _thresholds,
    "integrity.flag_handled": _handled,
    "report.issued": _report,
}
