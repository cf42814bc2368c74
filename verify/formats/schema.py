"""The statement types the ledger knows, their streams and body schemas.

One table (``STATEMENT_TYPES``) says, for every statement type: which stream
kind it is written to, whether it creates that stream, which roles may sign it
(docs/design.md §1 roles table) and which body fields it carries. The ledger admits
statements with it and the offline verifier re-checks entries with it, so the
two can never disagree. Semantic rules (a correction names a current value,
a validator is not the submitter...) live in the ledger's domain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from verify.errors import (
    MalformedStatementError,
    UnknownStatementTypeError,
    quote_all,
    shown,
)
from verify.formats.fields import (
    AGGREGATION,
    APPROVAL,
    ASSESSMENT_STREAM_RE,
    CODE,
    CORRECTION_KINDS,
    DIRECTIONS,
    DISCLOSURES,
    ENTRY,
    FLAG_ACTION,
    FLAG_ID,
    MEMBER,
    MEMBER_RE,
    NAME,
    NAMED_PRINCIPAL,
    NOTE,
    PRINCIPAL,
    ROLES,
    SHA256,
    THRESHOLDS,
    VALUE_KINDS,
    VALUE_STATUSES,
    YEAR,
    _bool,
    _enum,
    _int,
    _list_of,
    _object,
    _public_key,
    _score,
    _score_table,
    _signature,
    _source,
    _weight,
    value_problem,
)
from verify.formats.handover import LOG_KEY_ROTATED, root_problem, vkey_problem
from verify.scoring.methods import method_problem

__all__ = [
    "ASSESSMENT_STREAM_RE",
    "DISCLOSURES",
    "MEMBER_RE",
    "ROLES",
    "STATEMENT_TYPES",
    "VALUE_KINDS",
    "Field",
    "StatementType",
    "assessment_stream",
    "check_body",
    "known_types",
    "statement_type",
    "stream_kind",
    "stream_member",
    "value_problem",
]


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], str | None]
    optional: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class StatementType:
    name: str
    stream: str  # "registry" | "framework" | "assessment" | "access-log" | "integrity"
    roles: tuple[str, ...]
    fields: Mapping[str, Field]
    # True: starts its stream (expected_version 0); False: extends it; None:
    # either, by the version it expects (the access log's seals).
    creates: bool | None = False
    # A rule across fields: why the body is wrong as a whole, or None.
    across: Callable[[dict[str, Any]], str | None] | None = None


_VALUE_FIELDS = {
    "kpi": Field(CODE),
    "reference_year": Field(YEAR),
    "status": Field(_enum(VALUE_STATUSES)),
    "value": Field(_object, nullable=True),
    "unit": Field(NAME),
    "evidence": Field(_list_of(SHA256, 0)),
    "disclosure": Field(_enum(DISCLOSURES)),
    "comment": Field(NOTE, optional=True),
    "source": Field(_source, optional=True),
}
_KPI_FIELDS = {
    "code": Field(CODE),
    "outcome": Field(CODE),
    "name": Field(NAME),
    "unit": Field(NAME),
    "value_kind": Field(_enum(VALUE_KINDS)),
    "direction": Field(_enum(DIRECTIONS)),
    "disclosure": Field(_enum(DISCLOSURES)),
    "scoring_method": Field(_object),
    "applies_from": Field(YEAR),
    "weight": Field(_weight, optional=True),
    "illustrative": Field(_bool, optional=True),
}
_DIMENSION_FIELDS = {
    "code": Field(CODE),
    "name": Field(NAME),
    "aggregation": Field(AGGREGATION, optional=True),
    "weight": Field(_weight, optional=True),
}
_OUTCOME_FIELDS = {
    **_DIMENSION_FIELDS,
    "dimension": Field(CODE),
    "illustrative": Field(_bool, optional=True),
}
_REVISION = {"applies_from": Field(YEAR), "reason": Field(NOTE)}


def _kpi_method(body: dict[str, Any]) -> str | None:
    problem = method_problem(body["scoring_method"], body["value_kind"], body["direction"])
    return f"body.scoring_method {problem}" if problem else None


_APPROVALS = _list_of(APPROVAL, 0)
_SEC = ("secretariat",)
_ADMIN = ("admin",)
_OFFICER = ("integrity_officer",)
_NCP = ("ncp",)


def _t(
    type_name: str,
    stream: str,
    roles: tuple[str, ...],
    # True: starts its stream (expected_version 0); False: extends it; None:
    # either, by the version it expects (the access log's seals).
    creates: bool | None = False,
    /,
    **fields: Field,
) -> StatementType:
    return StatementType(type_name, stream, roles, fields, creates)


def _with_rule(
    kind: StatementType, across: Callable[[dict[str, Any]], str | None]
) -> StatementType:
    return StatementType(
        kind.name, kind.stream, kind.roles, kind.fields, kind.creates, across
    )


STATEMENT_TYPES: Mapping[str, StatementType] = {
    t.name: t
    for t in (
        _t(
            "registry.genesis",
            "registry",
            _ADMIN,
            True,
            admins=Field(_list_of(NAMED_PRINCIPAL, 1)),
            threshold=Field(_int(1, 100)),
            ledger=Field(NAMED_PRINCIPAL),
        ),
        _t(
            "principal.registered",
            "registry",
            _ADMIN,
            principal=Field(PRINCIPAL),
            name=Field(NAME),
            role=Field(_enum(ROLES)),
            member=Field(MEMBER, nullable=True),
            public_key=Field(_public_key),
            approvals=Field(_APPROVALS),
        ),
        _t(
            "principal.key_rotated",
            "registry",
            ROLES,
            principal=Field(PRINCIPAL),
            public_key=Field(_public_key),
            reason=Field(NOTE),
        ),
        _t(
            "principal.key_recovered",
            "registry",
            _ADMIN,
            principal=Field(PRINCIPAL),
            public_key=Field(_public_key),
            reason=Field(NOTE),
            approvals=Field(_APPROVALS),
        ),
        _t(
            "principal.revoked",
            "registry",
            _ADMIN,
            principal=Field(PRINCIPAL),
            reason=Field(NOTE),
            approvals=Field(_APPROVALS),
        ),
        # The log key's hand-over (verify.formats.handover, docs/decisions.md 33): the
        # admins' threshold and the old log key's signature, both.
        _t(
            LOG_KEY_ROTATED,
            "registry",
            _ADMIN,
            old_key=Field(vkey_problem),
            new_key=Field(vkey_problem),
            size=Field(_int(1, 2**53 - 1)),
            root=Field(root_problem),
            handover=Field(_signature),
            reason=Field(NOTE),
            approvals=Field(_APPROVALS),
        ),
        _t(
            "access_log.sealed",
            "access-log",
            ("ledger",),
            None,
            size=Field(_int(0, 2**53 - 1)),
            head=Field(SHA256),
        ),
        # The integrity officers' own records (docs/flags.md): one stream for
        # the ledger, started by whichever comes first.
        _t(
            "integrity.thresholds_set",
            "integrity",
            _OFFICER,
            None,
            version=Field(_int(1, 2**31 - 1)),
            thresholds=Field(THRESHOLDS),
            reason=Field(NOTE),
        ),
        _t(
            "integrity.flag_handled",
            "integrity",
            _OFFICER,
            None,
            flag=Field(FLAG_ID),
            action=Field(FLAG_ACTION),
            reason=Field(NOTE),
            member=Field(MEMBER, optional=True),
        ),
        _t(
            "report.issued",
            "integrity",
            ("integrity_officer", "secretariat"),
            None,
            member=Field(MEMBER),
            reference_year=Field(YEAR),
            cut=Field(_int(1, 2**53 - 1)),
            sha256=Field(SHA256),  # of the PDF
            html_sha256=Field(SHA256),  # of the same report as HTML
            title=Field(NAME),
        ),
        _t(
            "framework.created",
            "framework",
            _SEC,
            True,
            title=Field(NAME),
            aggregation=Field(AGGREGATION, optional=True),
        ),
        _t("dimension.defined", "framework", _SEC, **_DIMENSION_FIELDS),
        _t("dimension.revised", "framework", _SEC, **_DIMENSION_FIELDS, **_REVISION),
        _t("outcome.defined", "framework", _SEC, **_OUTCOME_FIELDS),
        _t("outcome.revised", "framework", _SEC, **_OUTCOME_FIELDS, **_REVISION),
        _with_rule(_t("kpi.defined", "framework", _SEC, **_KPI_FIELDS), _kpi_method),
        _with_rule(
            _t("kpi.revised", "framework", _SEC, **_KPI_FIELDS, reason=Field(NOTE)),
            _kpi_method,
        ),
        _t(
            "assessment.opened",
            "assessment",
            _SEC,
            True,
            member=Field(MEMBER),
            cycle=Field(CODE),
            reference_year=Field(YEAR),
        ),
        _t("value.submitted", "assessment", ("ncp", "secretariat"), **_VALUE_FIELDS),
        _t(
            "value.corrected",
            "assessment",
            ("ncp", "secretariat"),
            **_VALUE_FIELDS,
            supersedes=Field(ENTRY),
            kind=Field(_enum(CORRECTION_KINDS)),
            reason=Field(NOTE),
        ),
        _t("kpi.not_used", "assessment", _NCP, kpi=Field(CODE), justification=Field(NOTE)),
        _t(
            "disclosure.set",
            "assessment",
            _NCP,
            entry=Field(ENTRY),
            disclosure=Field(_enum(DISCLOSURES)),
        ),
        _t("submission.completed", "assessment", _NCP, note=Field(NOTE, optional=True)),
        _t("value.validated", "assessment", _SEC, entry=Field(ENTRY)),
        _t("value.queried", "assessment", _SEC, entry=Field(ENTRY), message=Field(NOTE)),
        _t("value.returned", "assessment", _SEC, entry=Field(ENTRY), message=Field(NOTE)),
        _t(
            "score.revised",
            "assessment",
            _SEC,
            kpi=Field(CODE),
            reference_year=Field(YEAR),
            score=Field(_score),
            justification=Field(NOTE),
        ),
        _t(
            "assessment.published",
            "assessment",
            _SEC,
            cut_at=Field(_int(0, 2**53 - 1)),
            title=Field(NAME),
            scores=Field(_score_table),
        ),
        _t(
            "assessment.reopened",
            "assessment",
            _SEC,
            kpis=Field(_list_of(CODE, 1)),
            reason=Field(NOTE),
        ),
        _t("reviewer.assigned", "assessment", _SEC, principal=Field(PRINCIPAL)),
        _t(
            "review.finding_recorded",
            "assessment",
            ("peer_reviewer",),
            finding=Field(NOTE),
            kpi=Field(CODE, optional=True),
        ),
        _t(
            "integrity.flag_raised",
            "assessment",
            ("integrity_officer",),
            subject=Field(NAME),
            message=Field(NOTE),
            entry=Field(ENTRY, optional=True),
        ),
    )
}


def statement_type(name: Any) -> StatementType:
    """The known type ``name``, or an error listing what is known."""
    if not isinstance(name, str) or name not in STATEMENT_TYPES:
        raise UnknownStatementTypeError(
            f"unknown statement type {shown(name)}; known types: {known_types()}"
        )
    return STATEMENT_TYPES[name]


def known_types() -> str:
    """The known types, grouped by prefix (``principal.{registered, revoked}``)
    so that the list stays short as types are added (docs/decisions.md 17)."""
    groups: dict[str, list[str]] = {}
    for name in sorted(STATEMENT_TYPES):
        prefix, _, rest = name.partition(".")
        groups.setdefault(prefix, []).append(rest)
    return ", ".join(
        f"{prefix}.{rests[0]}" if len(rests) == 1 else f"{prefix}.{{{','.join(rests)}}}"
        for prefix, rests in groups.items()
    )


def check_body(kind: StatementType, body: Any) -> None:
    """Refuse a body with a missing, unknown or ill-typed field."""
    if not isinstance(body, dict):
        raise MalformedStatementError(f"{kind.name}: body must be a JSON object")
    unknown = sorted(set(body) - set(kind.fields))
    if unknown:
        raise MalformedStatementError(
            f"{kind.name}: unknown body field(s) {quote_all(unknown)}; allowed: "
            + ", ".join(sorted(kind.fields))
        )
    for name, field in kind.fields.items():
        if name not in body:
            if not field.optional:
                raise MalformedStatementError(
                    f"{kind.name}: body.{name} is required but missing"
                )
            continue
        value = body[name]
        if value is None and field.nullable:
            continue
        problem = field.check(value)
        if problem:
            raise MalformedStatementError(f"{kind.name}: body.{name} {problem}")
    problem = kind.across(body) if kind.across is not None else None
    if problem:
        raise MalformedStatementError(f"{kind.name}: {problem}")


def stream_kind(stream: str) -> str | None:
    """'registry', 'framework', 'access-log', 'integrity', 'assessment' or None
    for an unknown stream name."""
    if stream in ("registry", "framework", "access-log", "integrity"):
        return stream
    return "assessment" if ASSESSMENT_STREAM_RE.fullmatch(stream) else None


def stream_member(stream: str) -> str | None:
    """The Member an assessment stream belongs to (None for other streams)."""
    match = ASSESSMENT_STREAM_RE.fullmatch(stream)
    return match.group("member") if match else None


def assessment_stream(member: str, cycle: str) -> str:
    return f"assessment/{member}/{cycle}"
