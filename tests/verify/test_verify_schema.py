"""Statement body schemas, value shapes and signing rules (verify.formats.schema,
verify.rules.policy).

docs/design.md §1 (roles, values as decimal strings, 0 is a value, statuses carry no
value) and §3 (statement types and their streams).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from verify.errors import MalformedStatementError, UnknownStatementTypeError
from verify.formats.schema import (
    ROLES,
    STATEMENT_TYPES,
    VALUE_KINDS,
    assessment_stream,
    check_body,
    known_types,
    statement_type,
    stream_kind,
    stream_member,
    value_problem,
)
from verify.rules.policy import Refusal, refusal

SHA = "ee8250fb76e094b34b471f13a73dbbe51d1ae142e9df59d7c0d31ec20f0a0a8e"
PUBLIC_KEY = base64.b64encode(bytes(32)).decode("ascii")
ADMIN = {"name": "Admin", "principal": "admin", "public_key": PUBLIC_KEY}
LEDGER = {"name": "The ledger", "principal": "ledger", "public_key": PUBLIC_KEY}
APPROVAL = {
    "key_id": "0123456789abcdef",
    "principal": "admin-2",
    "signature": base64.b64encode(bytes(64)).decode("ascii"),
}


def _refused(type_name: str, body: Any) -> str:
    with pytest.raises(MalformedStatementError) as info:
        check_body(STATEMENT_TYPES[type_name], body)
    assert type(info.value) is MalformedStatementError
    return str(info.value)


def value_body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kpi": "K1.1",
        "reference_year": 2025,
        "status": "value",
        "value": {"amount": "12.5"},
        "unit": "days",
        "evidence": [SHA],
        "disclosure": "public",
    }
    body.update(change)
    return body


def kpi_body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "K1.1",
        "outcome": "O1",
        "name": "Median release time",
        "unit": "days",
        "value_kind": "number",
        "direction": "lower_is_better",
        "disclosure": "public",
        "scoring_method": {"method": "linear", "best": "1", "worst": "30"},
        "applies_from": 2025,
    }
    body.update(change)
    return body


# -- the table ------------------------------------------------------------------------


def test_every_type_is_well_formed() -> None:
    for name, kind in STATEMENT_TYPES.items():
        assert kind.name == name
        streams = ("registry", "framework", "assessment", "access-log", "integrity")
        assert kind.stream in streams
        assert kind.roles
        assert set(kind.roles) <= set(ROLES), name
    creating = sorted(name for name, kind in STATEMENT_TYPES.items() if kind.creates)
    assert creating == ["assessment.opened", "framework.created", "registry.genesis"]
    # A seal starts the access-log stream or extends it (creates None: either);
    # so does each of the integrity officers' records (decision 27).
    either = [name for name, kind in STATEMENT_TYPES.items() if kind.creates is None]
    assert sorted(either) == [
        "access_log.sealed",
        "integrity.flag_handled",
        "integrity.thresholds_set",
        "report.issued",
    ]


def test_statement_type() -> None:
    assert statement_type("value.submitted") is STATEMENT_TYPES["value.submitted"]
    for name in ("value.deleted", None, 3, ["value.submitted"]):
        with pytest.raises(UnknownStatementTypeError) as info:
            statement_type(name)
        message = str(info.value)
        assert message.startswith(f"unknown statement type {name!r}; known types: ")
        # Grouped by prefix, so that the list stays short (decision 17).
        assert message.endswith(known_types())
        assert expand(known_types()) == sorted(STATEMENT_TYPES)


@pytest.mark.parametrize(
    ("stream", "kind", "member"),
    [
        ("registry", "registry", None),
        ("framework", "framework", None),
        ("assessment/KEN/2026", "assessment", "KEN"),
        ("assessment/BRA/1", "assessment", "BRA"),
        ("assessment/KEN/2026-b", "assessment", "KEN"),
        ("assessment/ken/2026", None, None),
        ("assessment/KENY/2026", None, None),
        ("assessment/KEN/", None, None),
        ("assessment/KEN/2026/x", None, None),
        ("assessment/KEN/" + "1" * 17, None, None),
        ("Registry", None, None),
        ("", None, None),
    ],
)
def test_streams(stream: str, kind: str | None, member: str | None) -> None:
    assert stream_kind(stream) == kind
    assert stream_member(stream) == member


def test_assessment_stream() -> None:
    assert assessment_stream("KEN", "2026") == "assessment/KEN/2026"
    assert stream_member(assessment_stream("BRA", "1")) == "BRA"


# -- check_body ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "body"),
    [
        ("value.submitted", value_body()),
        ("value.submitted", value_body(value=None, status="not_applicable")),
        ("value.submitted", value_body(evidence=[], comment="see annex")),
        ("value.submitted", value_body(source={"name": "WCO survey", "sha256": SHA})),
        (
            "value.corrected",
            value_body(supersedes=7, kind="correction", reason="typo in the amount"),
        ),
        ("assessment.opened", {"member": "KEN", "cycle": "2026", "reference_year": 2025}),
        (
            "principal.registered",
            {
                "principal": "ncp.ken",
                "name": "NCP Kenya",
                "role": "ncp",
                "member": "KEN",
                "public_key": PUBLIC_KEY,
                "approvals": [],
            },
        ),
        (
            "principal.registered",
            {
                "principal": "sec-1",
                "name": "Secretariat",
                "role": "secretariat",
                "member": None,
                "public_key": PUBLIC_KEY,
                "approvals": [APPROVAL],
            },
        ),
        (
            "registry.genesis",
            {"admins": [ADMIN], "ledger": LEDGER, "threshold": 1},
        ),
        (
            "principal.key_recovered",
            {
                "principal": "ncp.ken",
                "public_key": PUBLIC_KEY,
                "reason": "lost laptop",
                "approvals": [APPROVAL, {**APPROVAL, "principal": "admin-3"}],
            },
        ),
        ("access_log.sealed", {"size": 0, "head": "0" * 64}),
        (
            "score.revised",
            {"kpi": "K1", "reference_year": 2025, "score": "0", "justification": "x"},
        ),
        ("kpi.defined", kpi_body()),
        ("kpi.defined", kpi_body(illustrative=True)),
        ("submission.completed", {}),
        ("assessment.reopened", {"kpis": ["K1", "K2"], "reason": "new data"}),
        ("framework.created", {"title": "PMM"}),
    ],
)
def test_check_body_accepts(type_name: str, body: dict[str, Any]) -> None:
    check_body(STATEMENT_TYPES[type_name], body)


@pytest.mark.parametrize("field", ["kpi", "reference_year", "status", "value", "evidence"])
def test_missing_required_field_is_named(field: str) -> None:
    body = value_body()
    del body[field]
    message = _refused("value.submitted", body)
    assert message == f"value.submitted: body.{field} is required but missing"


def test_missing_field_of_other_types_is_named() -> None:
    message = _refused("assessment.opened", {"member": "KEN", "cycle": "2026"})
    assert message == "assessment.opened: body.reference_year is required but missing"
    message = _refused("kpi.revised", kpi_body())
    assert message == "kpi.revised: body.reason is required but missing"


def test_unknown_field_is_named() -> None:
    message = _refused("value.submitted", value_body(colour="red", amount="3"))
    assert message.startswith("value.submitted: unknown body field(s) amount, colour; ")
    allowed = sorted([*value_body(), "comment", "source"])
    assert message.endswith("allowed: " + ", ".join(allowed))
    message = _refused("framework.created", {"title": "PMM", "member": "KEN"})
    assert message == (
        "framework.created: unknown body field(s) member; allowed: aggregation, title"
    )


@pytest.mark.parametrize("body", [None, [], "x", 1])
def test_body_not_an_object(body: Any) -> None:
    assert _refused("submission.completed", body) == (
        "submission.completed: body must be a JSON object"
    )


@pytest.mark.parametrize(
    "score",
    ["1,5", "1.5.0", "1e3", ".5", "5.", "01", "+1", " 1", 1, None, "-3.25", "100.01"],
)
def test_bad_score_string(score: Any) -> None:
    body = {"kpi": "K1", "reference_year": 2025, "score": score, "justification": "x"}
    message = _refused("score.revised", body)
    assert message == 'score.revised: body.score must be a decimal string from "0" to "100"'


@pytest.mark.parametrize("score", ["0", "-0", "12.5", "100", "0.000", "99.99"])
def test_good_decimal_string(score: str) -> None:
    body = {"kpi": "K1", "reference_year": 2025, "score": score, "justification": "x"}
    check_body(STATEMENT_TYPES["score.revised"], body)


@pytest.mark.parametrize("member", ["kenya", "ken", "KE", "KENY", "K3N", "", None, 404])
def test_bad_member_code(member: Any) -> None:
    body = {"member": member, "cycle": "2026", "reference_year": 2025}
    message = _refused("assessment.opened", body)
    assert message == (
        "assessment.opened: body.member must be an ISO 3166-1 alpha-3 Member code, e.g. KEN"
    )


def test_bad_member_code_in_registration() -> None:
    body = {
        "principal": "ncp.ken",
        "name": "NCP Kenya",
        "role": "ncp",
        "member": "kenya",
        "public_key": PUBLIC_KEY,
    }
    message = _refused("principal.registered", body)
    assert message.startswith("principal.registered: body.member must be an ISO 3166-1")


@pytest.mark.parametrize(
    ("evidence", "problem"),
    [
        (["not-a-digest"], "item 0 must be a lowercase SHA-256 hex digest"),
        ([SHA.upper()], "item 0 must be a lowercase SHA-256 hex digest"),
        ([SHA[:-1]], "item 0 must be a lowercase SHA-256 hex digest"),
        ([SHA + "0"], "item 0 must be a lowercase SHA-256 hex digest"),
        ([SHA, "g" * 64], "item 1 must be a lowercase SHA-256 hex digest"),
        ([SHA, SHA], "must not repeat an item"),
        (SHA, "must be a list"),
        ([SHA] * 1001, "must list at most 1000 items"),
    ],
)
def test_evidence_must_be_sha256_hex(evidence: Any, problem: str) -> None:
    message = _refused("value.submitted", value_body(evidence=evidence))
    assert message == f"value.submitted: body.evidence {problem}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reference_year": True}, "body.reference_year must be an integer"),
        ({"reference_year": "2025"}, "body.reference_year must be an integer"),
        ({"reference_year": 1899}, "body.reference_year must be between 1900 and 2200"),
        ({"status": "missing"}, "body.status must be one of value, not_applicable, "),
        (
            {"disclosure": "secret"},
            "body.disclosure must be one of public, wco, restricted",
        ),
        ({"value": [1]}, "body.value must be a JSON object"),
        ({"unit": "   "}, "body.unit must be non-empty text"),
        (
            {"comment": "x" * 4001},
            "body.comment must be at most 4000 characters (got 4001)",
        ),
        ({"kpi": "K 1"}, "body.kpi must be a code of letters, digits"),
        ({"kpi": "-K1"}, "body.kpi must be a code of letters, digits"),
        (
            {"source": {"name": "WCO"}},
            "body.source must be an object with exactly 'name' and",
        ),
        ({"source": {"name": "WCO", "sha256": "x"}}, "body.source must be a SHA-256 hex"),
        ({"source": {"name": "", "sha256": SHA}}, "body.source must be non-empty text"),
    ],
)
def test_ill_typed_value_fields(change: dict[str, Any], message: str) -> None:
    assert _refused("value.submitted", value_body(**change)).startswith(
        f"value.submitted: {message}"
    )


@pytest.mark.parametrize(
    ("type_name", "body", "message"),
    [
        (
            "registry.genesis",
            {
                "admins": [{**ADMIN, "public_key": base64.b64encode(bytes(31)).decode()}],
                "ledger": LEDGER,
                "threshold": 1,
            },
            "registry.genesis: body.admins item 0 public_key must be a base64 Ed25519",
        ),
        (
            "registry.genesis",
            {"admins": [ADMIN], "ledger": {**LEDGER, "public_key": "!!!"}, "threshold": 1},
            "registry.genesis: body.ledger public_key must be a base64 Ed25519 public key",
        ),
        (
            "registry.genesis",
            {"admins": [{**ADMIN, "principal": "Admin"}], "ledger": LEDGER, "threshold": 1},
            "registry.genesis: body.admins item 0 principal must be a principal id",
        ),
        (
            "registry.genesis",
            {"admins": [], "ledger": LEDGER, "threshold": 1},
            "registry.genesis: body.admins must list at least 1 item(s)",
        ),
        (
            "registry.genesis",
            {"admins": [ADMIN], "ledger": LEDGER, "threshold": 0},
            "registry.genesis: body.threshold must be between 1 and 100",
        ),
        (
            "principal.revoked",
            {"principal": "sec-1", "reason": "left", "approvals": [{"principal": "a"}]},
            "principal.revoked: body.approvals item 0 must be an object with exactly: "
            "key_id, principal, signature",
        ),
        (
            "principal.revoked",
            {
                "principal": "sec-1",
                "reason": "left",
                "approvals": [{**APPROVAL, "signature": "AAAA"}],
            },
            "principal.revoked: body.approvals item 0 signature must be base64 of a "
            "64-byte Ed25519 signature",
        ),
        (
            "principal.registered",
            {
                "principal": "sec-1",
                "name": "Secretariat",
                "role": "secretariat",
                "member": None,
                "public_key": PUBLIC_KEY,
            },
            "principal.registered: body.approvals is required but missing",
        ),
        (
            "access_log.sealed",
            {"size": -1, "head": "0" * 64},
            "access_log.sealed: body.size must be between 0 and",
        ),
        (
            "assessment.reopened",
            {"kpis": [], "reason": "x"},
            "assessment.reopened: body.kpis must list at least 1 item(s)",
        ),
        (
            "value.validated",
            {"entry": 0},
            "value.validated: body.entry must be between 1 and 9007199254740991",
        ),
        (
            "kpi.defined",
            kpi_body(illustrative="yes"),
            "kpi.defined: body.illustrative must be true or false",
        ),
        (
            "kpi.defined",
            kpi_body(value_kind="float"),
            "kpi.defined: body.value_kind must be one of number, ratio, percentage, ",
        ),
        (
            "value.corrected",
            value_body(supersedes=7, kind="undo", reason="x"),
            "value.corrected: body.kind must be one of correction, revision",
        ),
    ],
)
def test_other_body_refusals(type_name: str, body: dict[str, Any], message: str) -> None:
    assert _refused(type_name, body).startswith(message)


def test_null_only_where_nullable() -> None:
    message = _refused("value.submitted", value_body(unit=None))
    assert message == "value.submitted: body.unit must be non-empty text"
    message = _refused("value.submitted", value_body(comment=None))
    assert message == "value.submitted: body.comment must be non-empty text"


# -- value_problem ------------------------------------------------------------------------

GOOD_VALUES: list[tuple[str, dict[str, Any]]] = [
    ("number", {"amount": "12.5"}),
    ("number", {"amount": "0"}),
    ("number", {"amount": "-3"}),
    ("percentage", {"amount": "87.25"}),
    ("percentage", {"amount": "0"}),
    ("ratio", {"numerator": "3", "denominator": "4"}),
    ("ratio", {"numerator": "0", "denominator": "4"}),
    ("ratio", {"numerator": "1.5", "denominator": "-0.5"}),
    ("yes_no", {"answer": True}),
    ("yes_no", {"answer": False}),
    ("grade", {"grade": "A"}),
    ("grade", {"grade": "x" * 16}),
    ("text", {"text": "Single window live since 2024."}),
]


def test_every_value_kind_is_covered() -> None:
    assert {kind for kind, _ in GOOD_VALUES} == set(VALUE_KINDS)


@pytest.mark.parametrize(("kind", "value"), GOOD_VALUES)
def test_valid_values(kind: str, value: dict[str, Any]) -> None:
    assert value_problem(kind, "value", value) is None


@pytest.mark.parametrize("kind", VALUE_KINDS)
@pytest.mark.parametrize("status", ["not_applicable", "insufficient_information"])
def test_statuses_without_value(kind: str, status: str) -> None:
    assert value_problem(kind, status, None) is None


@pytest.mark.parametrize(("kind", "value"), GOOD_VALUES)
@pytest.mark.parametrize("status", ["not_applicable", "insufficient_information"])
def test_non_null_value_with_status_is_refused(
    kind: str, value: dict[str, Any], status: str
) -> None:
    assert (
        value_problem(kind, status, value) == f"status {status!r} carries no value (null)"
    )


def test_zero_is_a_value() -> None:
    assert value_problem("number", "value", {"amount": "0"}) is None
    assert value_problem("percentage", "value", {"amount": "0.0"}) is None
    assert value_problem("number", "value", None) == (
        "a number value is an object with exactly: amount"
    )


@pytest.mark.parametrize("denominator", ["0", "0.0", "-0", "0.000", "-0.00"])
def test_zero_denominator_is_refused(denominator: str) -> None:
    value = {"numerator": "3", "denominator": denominator}
    assert value_problem("ratio", "value", value) == "value.denominator must not be zero"


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (
            "number",
            {"amount": "1,5"},
            'value.amount must be a decimal string such as "12.5"',
        ),
        ("number", {"amount": 12}, 'value.amount must be a decimal string such as "12.5"'),
        (
            "number",
            {"amount": "1e3"},
            'value.amount must be a decimal string such as "12.5"',
        ),
        (
            "number",
            {"amount": "NaN"},
            'value.amount must be a decimal string such as "12.5"',
        ),
        ("number", {"amount": ""}, 'value.amount must be a decimal string such as "12.5"'),
        ("number", {}, "a number value is an object with exactly: amount"),
        (
            "number",
            {"amount": "1", "unit": "d"},
            "a number value is an object with exactly: amount",
        ),
        ("number", {"value": "1"}, "a number value is an object with exactly: amount"),
        (
            "percentage",
            {"amount": "50%"},
            'value.amount must be a decimal string such as "12.5"',
        ),
        (
            "ratio",
            {"numerator": "3"},
            "a ratio value is an object with exactly: numerator, denominator",
        ),
        (
            "ratio",
            {"numerator": "3", "denominator": "1/4"},
            'value.denominator must be a decimal string such as "12.5"',
        ),
        (
            "ratio",
            {"numerator": "three", "denominator": "4"},
            'value.numerator must be a decimal string such as "12.5"',
        ),
        ("yes_no", {"answer": "yes"}, "value.answer must be true or false"),
        ("yes_no", {"answer": 1}, "value.answer must be true or false"),
        ("yes_no", {"answer": None}, "value.answer must be true or false"),
        ("grade", {"grade": ""}, "value.grade must be non-empty text"),
        (
            "grade",
            {"grade": "x" * 17},
            "value.grade must be at most 16 characters (got 17)",
        ),
        ("text", {"text": " \n "}, "value.text must be non-empty text"),
        (
            "text",
            {"text": "x" * 4001},
            "value.text must be at most 4000 characters (got 4001)",
        ),
        ("text", ["x"], "a text value is an object with exactly: text"),
        ("yes_no", None, "a yes_no value is an object with exactly: answer"),
    ],
)
def test_invalid_values(kind: str, value: Any, problem: str) -> None:
    assert value_problem(kind, "value", value) == problem


# -- policy.refusal -----------------------------------------------------------------------


def _refusal(
    type_name: str,
    role: str,
    member: str | None,
    stream: str,
    body: dict[str, Any] | None = None,
    principal: str = "p.one",
) -> Refusal | None:
    return refusal(
        STATEMENT_TYPES[type_name],
        principal,
        role,
        member,
        stream,
        value_body() if body is None else body,
    )


@pytest.mark.parametrize(
    ("type_name", "role", "member", "stream", "allowed"),
    [
        ("value.validated", "ncp", "KEN", "assessment/KEN/2026", "secretariat"),
        (
            "value.submitted",
            "peer_reviewer",
            None,
            "assessment/KEN/2026",
            "ncp, secretariat",
        ),
        ("value.submitted", "admin", None, "assessment/KEN/2026", "ncp, secretariat"),
        ("principal.registered", "secretariat", None, "registry", "admin"),
        ("kpi.defined", "admin", None, "framework", "secretariat"),
        ("submission.completed", "secretariat", None, "assessment/KEN/2026", "ncp"),
        (
            "integrity.flag_raised",
            "secretariat",
            None,
            "assessment/KEN/2026",
            "integrity_officer",
        ),
        ("review.finding_recorded", "ncp", "KEN", "assessment/KEN/2026", "peer_reviewer"),
        ("value.submitted", "auditor", None, "assessment/KEN/2026", "ncp, secretariat"),
    ],
)
def test_role_not_allowed(
    type_name: str, role: str, member: str | None, stream: str, allowed: str
) -> None:
    refused = _refusal(type_name, role, member, stream, principal="who")
    assert refused is not None
    assert refused.rule == "role"
    assert refused.reason == (
        f"principal 'who' has role {role!r}, which may not sign {type_name}; "
        f"allowed role(s): {allowed}"
    )


@pytest.mark.parametrize(
    ("type_name", "member", "stream"),
    [
        ("value.submitted", "KEN", "assessment/BRA/1"),
        ("kpi.not_used", "KEN", "assessment/BRA/2026"),
        ("submission.completed", "KEN", "assessment/KEN2/2026"),
        ("value.submitted", None, "assessment/KEN/2026"),
    ],
)
def test_ncp_acts_only_for_its_member(
    type_name: str, member: str | None, stream: str
) -> None:
    body = value_body() if type_name == "value.submitted" else {}
    refused = _refusal(type_name, "ncp", member, stream, body, principal="ncp.ken")
    assert refused is not None
    assert refused.rule == "member"
    assert "ncp.ken" in refused.reason
    assert repr(stream) in refused.reason


def test_ncp_of_ken_writing_to_bra() -> None:
    refused = _refusal(
        "value.submitted", "ncp", "KEN", "assessment/BRA/1", principal="ncp.ken"
    )
    assert refused == Refusal(
        "member",
        "principal 'ncp.ken' is the NCP for KEN, and may act only for its own Member, "
        "not in stream 'assessment/BRA/1'",
    )


@pytest.mark.parametrize("type_name", ["value.submitted", "value.corrected"])
def test_secretariat_value_needs_a_source(type_name: str) -> None:
    refused = _refusal(type_name, "secretariat", None, "assessment/KEN/2026")
    assert refused is not None
    assert refused.rule == "source"
    assert "body.source {name, sha256} is required" in refused.reason
    sourced = value_body(source={"name": "WCO survey 2025", "sha256": SHA})
    assert _refusal(type_name, "secretariat", None, "assessment/KEN/2026", sourced) is None


@pytest.mark.parametrize("type_name", ["value.submitted", "value.corrected"])
def test_ncp_value_must_not_carry_a_source(type_name: str) -> None:
    sourced = value_body(source={"name": "WCO survey 2025", "sha256": SHA})
    refused = _refusal(type_name, "ncp", "KEN", "assessment/KEN/2026", sourced)
    assert refused == Refusal(
        "source", "body.source is for Secretariat imports; an NCP submits its own data"
    )


@pytest.mark.parametrize(
    ("type_name", "role", "member", "stream", "body"),
    [
        ("value.submitted", "ncp", "KEN", "assessment/KEN/2026", value_body()),
        ("value.corrected", "ncp", "KEN", "assessment/KEN/2026-b", value_body()),
        ("kpi.not_used", "ncp", "BRA", "assessment/BRA/1", {}),
        ("value.validated", "secretariat", None, "assessment/BRA/1", {"entry": 3}),
        # The Secretariat is not bound to a Member: it may act in any stream.
        ("value.returned", "secretariat", "KEN", "assessment/BRA/1", {}),
        ("principal.registered", "admin", None, "registry", {}),
        ("kpi.defined", "secretariat", None, "framework", {}),
        ("review.finding_recorded", "peer_reviewer", None, "assessment/KEN/2026", {}),
        ("integrity.flag_raised", "integrity_officer", None, "assessment/KEN/2026", {}),
        # "source" rules apply to values only.
        ("score.revised", "secretariat", None, "assessment/KEN/2026", {}),
    ],
)
def test_allowed(
    type_name: str, role: str, member: str | None, stream: str, body: dict[str, Any]
) -> None:
    assert _refusal(type_name, role, member, stream, body) is None


def expand(text: str) -> list[str]:
    """The type names of ``known_types()``: ``prefix.{a,b}`` is two names."""
    names = []
    for part in re.findall(r"[a-z_]+\.(?:\{[^}]*\}|[a-z_]+)", text):
        prefix, rest = part.split(".", 1)
        names += [f"{prefix}.{r}" for r in rest.strip("{}").split(",")]
    return names
