"""The statement types the ledger knows, their streams and body schemas.

One table (``STATEMENT_TYPES``) says, for every statement type: which stream
kind it is written to, whether it creates that stream, which roles may sign it
(DESIGN.md §1 roles table) and which body fields it carries. The ledger admits
statements with it and the offline verifier re-checks entries with it, so the
two can never disagree. Semantic rules (a correction names a current value,
a validator is not the submitter...) live in the ledger's domain.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from verify.errors import MalformedStatementError, UnknownStatementTypeError
from verify.scoring import AGGREGATIONS, DECIMAL_RE, decimal_of, method_problem

ROLES = ("admin", "secretariat", "ncp", "peer_reviewer", "integrity_officer")
DISCLOSURES = ("public", "wco", "restricted")
VALUE_KINDS = ("number", "ratio", "percentage", "yes_no", "grade", "text")
VALUE_STATUSES = ("value", "not_applicable", "insufficient_information")
DIRECTIONS = ("higher_is_better", "lower_is_better", "none")
CORRECTION_KINDS = ("correction", "revision")

CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")
MEMBER_RE = re.compile(r"[A-Z]{3}")
PRINCIPAL_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
ASSESSMENT_STREAM_RE = re.compile(
    r"assessment/(?P<member>[A-Z]{3})/(?P<cycle>[0-9A-Za-z-]{1,16})"
)


def _text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "must be non-empty text"
        if len(value) > limit:
            return f"must be at most {limit} characters (got {len(value)})"
        return None

    return check


def _pattern(regex: re.Pattern[str], hint: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            return f"must be {hint}"
        return None

    return check


def _enum(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(choices)}"
        return None

    return check


def _int(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return check


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _public_key(value: Any) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    return None if len(raw) == 32 else "must be a base64 Ed25519 public key (32 bytes)"


def _list_of(
    item: Callable[[Any], str | None], min_len: int
) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be a list"
        if len(value) < min_len:
            return f"must list at least {min_len} item(s)"
        if len(value) > 1000:
            return "must list at most 1000 items"
        for index, element in enumerate(value):
            problem = item(element)
            if problem:
                return f"item {index} {problem}"
        if len(set(map(str, value))) != len(value):
            return "must not repeat an item"
        return None

    return check


def _object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be a JSON object"


def _source(value: Any) -> str | None:
    if not isinstance(value, dict) or set(value) != {"name", "sha256"}:
        return "must be an object with exactly 'name' and 'sha256'"
    return _text(200)(value["name"]) or _pattern(SHA256_RE, "a SHA-256 hex digest")(
        value["sha256"]
    )


NAME = _text(200)
NOTE = _text(4000)
CODE = _pattern(CODE_RE, "a code of letters, digits, '.', '_' or '-' (max 48)")
MEMBER = _pattern(MEMBER_RE, "an ISO 3166-1 alpha-3 Member code, e.g. KEN")
PRINCIPAL = _pattern(
    PRINCIPAL_RE, "a principal id: lowercase letters, digits, '.', '_', '-'"
)
YEAR = _int(1900, 2200)
ENTRY = _int(1, 2**53 - 1)
DECIMAL = _pattern(DECIMAL_RE, 'a decimal string such as "12.5"')
SHA256 = _pattern(SHA256_RE, "a lowercase SHA-256 hex digest")


def _score(value: Any) -> str | None:
    number = decimal_of(value) if DECIMAL(value) is None else None
    if number is None or not 0 <= number <= 100:
        return 'must be a decimal string from "0" to "100"'
    return None


def _weight(value: Any) -> str | None:
    number = decimal_of(value) if DECIMAL(value) is None else None
    if number is None or number <= 0:
        return 'must be a positive decimal string such as "1"'
    return None


def _score_table(value: Any) -> str | None:
    """A published score table (docs/scoring.md, ``verify.scoreboard``)."""
    keys = {"format", "reference_year", "kpis", "outcomes", "dimensions", "overall"}
    if not isinstance(value, dict) or set(value) != keys:
        return f"must be an object with exactly: {', '.join(sorted(keys))}"
    if value["format"] != "pmm-scores/v1":
        return 'format must be "pmm-scores/v1"'
    problem = YEAR(value["reference_year"])
    if problem:
        return f"reference_year {problem}"
    for level in ("kpis", "outcomes", "dimensions"):
        table = value[level]
        if not isinstance(table, dict) or len(table) > 1000:
            return f"{level} must be an object of at most 1000 codes"
        for code, score in table.items():
            problem = CODE(code) or (None if score is None else _score(score))
            if problem:
                return f"{level}.{code} {problem}"
    if value["overall"] is not None and _score(value["overall"]):
        return f"overall {_score(value['overall'])}"
    return None


AGGREGATION = _enum(AGGREGATIONS)


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], str | None]
    optional: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class StatementType:
    name: str
    stream: str  # "registry" | "framework" | "assessment"
    roles: tuple[str, ...]
    fields: Mapping[str, Field]
    creates: bool = False
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


_SEC = ("secretariat",)
_ADMIN = ("admin",)
_NCP = ("ncp",)


def _t(
    type_name: str,
    stream: str,
    roles: tuple[str, ...],
    creates: bool = False,
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
            principal=Field(PRINCIPAL),
            name=Field(NAME),
            public_key=Field(_public_key),
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
        ),
        _t(
            "principal.key_rotated",
            "registry",
            _ADMIN,
            principal=Field(PRINCIPAL),
            public_key=Field(_public_key),
            reason=Field(NOTE),
        ),
        _t(
            "principal.revoked",
            "registry",
            _ADMIN,
            principal=Field(PRINCIPAL),
            reason=Field(NOTE),
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
            f"unknown statement type {name!r}; known types: "
            + ", ".join(sorted(STATEMENT_TYPES))
        )
    return STATEMENT_TYPES[name]


def check_body(kind: StatementType, body: Any) -> None:
    """Refuse a body with a missing, unknown or ill-typed field."""
    if not isinstance(body, dict):
        raise MalformedStatementError(f"{kind.name}: body must be a JSON object")
    unknown = sorted(set(body) - set(kind.fields))
    if unknown:
        raise MalformedStatementError(
            f"{kind.name}: unknown body field(s) {', '.join(unknown)}; allowed: "
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
    """'registry', 'framework', 'assessment' or None for an unknown stream name."""
    if stream in ("registry", "framework"):
        return stream
    return "assessment" if ASSESSMENT_STREAM_RE.fullmatch(stream) else None


def stream_member(stream: str) -> str | None:
    """The Member an assessment stream belongs to (None for other streams)."""
    match = ASSESSMENT_STREAM_RE.fullmatch(stream)
    return match.group("member") if match else None


def assessment_stream(member: str, cycle: str) -> str:
    return f"assessment/{member}/{cycle}"


_VALUE_SHAPES: Mapping[str, Mapping[str, Callable[[Any], str | None]]] = {
    "number": {"amount": DECIMAL},
    "percentage": {"amount": DECIMAL},
    "ratio": {"numerator": DECIMAL, "denominator": DECIMAL},
    "yes_no": {"answer": _bool},
    "grade": {"grade": _text(16)},
    "text": {"text": NOTE},
}


def value_problem(value_kind: str, status: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``value_kind`` value with ``status``, or None.

    A value of 0 is a value; "not applicable" and "insufficient information"
    are statuses with no value; "not used" is its own statement (DESIGN.md §1).
    """
    if status != "value":
        return None if value is None else f"status {status!r} carries no value (null)"
    shape = _VALUE_SHAPES[value_kind]
    if not isinstance(value, dict) or set(value) != set(shape):
        return f"a {value_kind} value is an object with exactly: {', '.join(shape)}"
    for name, check in shape.items():
        problem = check(value[name])
        if problem:
            return f"value.{name} {problem}"
    if value_kind == "ratio" and Decimal(value["denominator"]) == 0:
        return "value.denominator must not be zero"
    return None
