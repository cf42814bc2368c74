"""Schemathesis against the app's own OpenAPI schema, on SQLite and PostgreSQL
: no 5xx, and no answer the schema does not document.

Every operation first gets known requests, each with the status it must
answer: its successes (a signed statement, reads of what the world holds, as
a reader who may make them) and every documented refusal the world can show
(a bad token or signature, a duplicate, a stale version, a Member or index
that does not exist...). Then generated requests: valid and invalid ones
anonymously, and valid ones as an integrity officer (the reader every route
answers), anchored where it helps at the seeded data (a Member and year that
exist, an index in the log). Each answer is checked by
schemathesis (no server error; status, content type, headers and body as
documented) and, for a refusal, as the RFC 9457 problem body docs/http.md
promises. The failure message lists every failing operation and check, each
with the shortest request that showed it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.python import asgi

from api.http import create_app
from ledger.tokens import issue_token
from verify.formats.statement import SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World

# The issue's "no 5xx and no schema violations", as schemathesis checks.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]
PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}
# The operations of docs/http.md, which get known-good requests; any other
# operation in the schema is fuzzed all the same.
KNOWN = {
    "POST /statements",
    "GET /checkpoint",
    "GET /tile/{path}",
    "GET /receipts/{index}",
    "GET /proofs/inclusion/{index}",
    "GET /proofs/consistency",
    "GET /scores",
    "GET /history",
    "GET /diff",
    "GET /exports/{kind}.{fmt}",
    "GET /framework",
    "GET /events",
    "GET /access-log",
    "GET /access-log/head",
    "GET /whoami",
    "GET /flags",
}
EXAMPLES = 25  # generated requests per operation and generation mode
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same requests on every run, on both backends
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
    # Each example is a request through the app and its database; and in
    # negative mode most of what is drawn for an operation with little to get
    # wrong (a path-only or parameterless one) is filtered out as valid.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True)
class Finding:
    """One failing check of one operation: the request and what the app answered."""

    operation: str
    reader: str
    check: str
    title: str
    message: str
    request: str
    answer: str

    def __str__(self) -> str:
        head = f"{self.operation} [{self.check}] {self.title} (as {self.reader})"
        lines = [head, self.message, f"request: {self.request}", f"answer: {self.answer}"]
        return "\n".join(line for line in lines if line)


class Findings:
    """Distinct failures of a run, by operation, check, title and status; each
    keeps the shortest request that showed it."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str, str], Finding] = {}

    def add(self, finding: Finding, status: str) -> None:
        key = (finding.operation, finding.check, finding.title, status)
        kept = self.found.get(key)
        if kept is None or len(finding.request) < len(kept.request):
            self.found[key] = finding

    def report(self) -> str:
        found = [finding for _, finding in sorted(self.found.items())]
        listed = "\n\n".join(f"{n}. {f}" for n, f in enumerate(found, start=1))
        return f"{len(found)} failing operation check(s):\n\n{listed}"


def content_type(response: Any) -> str:
    return ", ".join(response.headers.get("content-type", []))


def answer_of(response: Any) -> str:
    body = response.content[:300].decode("utf-8", "replace")
    return f"{response.status_code} {content_type(response) or '(no content type)'} {body}"


def problem_error(response: Any) -> str | None:
    """What makes a refusal not an RFC 9457 problem body (docs/http.md, Errors)."""
    if response.status_code < 400:
        return None
    if content_type(response) != PROBLEM_JSON:
        return f"a refusal is {content_type(response)!r}, not {PROBLEM_JSON}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "the problem body is not JSON"
    if not isinstance(body, dict) or not set(body) >= PROBLEM_FIELDS:
        return f"the problem body is not an object with {sorted(PROBLEM_FIELDS)}"
    if body["status"] != response.status_code:
        return "the problem's status is not the answer's"
    return None


@dataclass(frozen=True)
class Reader:
    """Who sends a request: anonymous, or a principal with a bearer token."""

    name: str
    token: str | None = None

    @property
    def headers(self) -> dict[str, str] | None:
        return None if self.token is None else {"Authorization": f"Bearer {self.token}"}


ANONYMOUS = Reader("anonymous")


def exercise(
    case: Any, findings: Findings, reader: Reader = ANONYMOUS, expect: int | None = None
) -> None:
    """Send ``case`` as ``reader``, check the answer (and its status, if
    ``expect``ed), and record every check that fails."""
    label, headers = case.operation.label, reader.headers

    def finding(check: str, title: str, message: str, answer: str) -> Finding:
        request = case.as_curl_command(headers=headers)
        return Finding(label, reader.name, check, title, message, request, answer)

    try:
        response = case.call(headers=headers)
    except Exception as exc:  # Starlette answers a 500, then re-raises to the client
        raised = f"the app raised {type(exc).__name__}: {exc}"
        findings.add(finding("not_a_server_error", "Server error", raised, "500"), "500")
        return
    status, answer = str(response.status_code), answer_of(response)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            check = ", ".join(failure.checks) or type(failure).__name__
            findings.add(finding(check, failure.title, failure.message, answer), status)
    error = problem_error(response)
    if error is not None:
        findings.add(finding("problem_details", error, "", answer), status)
    if expect is not None and response.status_code != expect:
        title = f"A known request answers {status}, not {expect}"
        findings.add(finding("expected_status", title, "", answer), status)


def fuzz(
    operation: Any,
    findings: Findings,
    mode: GenerationMode,
    reader: Reader = ANONYMOUS,
    **fixed: Any,
) -> None:
    """``EXAMPLES`` generated requests to ``operation``, ``fixed`` values kept."""

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def send(case: Any) -> None:
        exercise(case, findings, reader)

    try:
        send()
    except Unsatisfiable:
        # Nothing of the operation can be made invalid (no input, or only an
        # unconstrained string): there is no request to send in negative mode.
        if mode is not GenerationMode.NEGATIVE:
            raise


@pytest.fixture
def app(world: World) -> Iterator[FastAPI]:
    """The app over the world's ledger, with a public value so reads find rows."""
    world.hours(world.ncp_ken, world.KEN, "12")
    yield create_app(world.ledger.settings, ledger=world.ledger)
    # schemathesis keeps an ASGI app's lifespan running: end it with the test,
    # before the world's ledger is closed.
    asgi.shutdown_lifespans()


def test_every_operation_answers_as_its_openapi_schema_says(
    app: FastAPI, world: World
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations: dict[str, Any] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read
            raise result.err()
        operations[result.ok().label] = result.ok()
    assert set(operations) >= KNOWN, f"not in the schema: {sorted(KNOWN - set(operations))}"
    origin = world.ledger.origin
    officer = Reader("integrity officer", issue_token(world.officer, origin))
    ncp = Reader("NCP of Kenya", issue_token(world.ncp_ken, origin))
    bad_token = Reader("a bad token", "not.a.token")
    size = world.ledger.log_size()
    assessment = {"member": "KEN", "year": world.REFERENCE_YEAR}
    scores = {"query": assessment}
    since = {"query": {**assessment, "from": "size:1"}}
    entry = {"path_parameters": {"index": 1}}
    bundle = {"path_parameters": {"path": "entries/000.p/2"}}
    flag = {"subject": "TF.1.1 release time", "message": "Please confirm the source."}
    signed = world.sign(world.officer, world.BRA, "integrity.flag_raised", flag)
    value = world.value_body(world.KPI_HOURS, {"amount": "9"}, "hours")
    no_kpi = world.value_body("ZZ.9.9", {"amount": "9"}, "hours")
    too_early = world.value_body(world.KPI_HOURS, {"amount": "9"}, "hours", year=2000)

    def post(statement: SignedStatement | bytes) -> dict[str, Any]:
        body = statement if isinstance(statement, bytes) else statement.to_bytes()
        return {"body": body, "media_type": "application/json"}

    export, anon = "GET /exports/{kind}.{fmt}", ANONYMOUS
    bad_signature = post(SignedStatement(signed.statement, "A" * 88))
    not_permitted = post(world.sign(world.reviewer, world.KEN, "value.submitted", value))
    stale = post(
        world.sign(world.ncp_ken, world.KEN, "value.submitted", value, expected_version=1)
    )
    unknown_kpi = post(world.sign(world.ncp_ken, world.KEN, "value.submitted", no_kpi))
    domain_rule = post(world.sign(world.ncp_ken, world.KEN, "value.submitted", too_early))
    as_text = {"body": signed.to_bytes(), "media_type": "text/plain"}
    tile = {"path_parameters": {"path": f"0/000.p/{size}"}}
    proof = {**entry, "query": {"size": size}}
    csv = {"path_parameters": {"kind": "scores", "fmt": "csv"}, **scores}
    parquet = {"path_parameters": {"kind": "diff", "fmt": "parquet"}, **since}
    no_kind = {**csv, "path_parameters": {"kind": "tables", "fmt": "csv"}}
    # (operation, request, reader, status): every success, and every
    # documented refusal the world can show, whatever hypothesis draws.
    known: list[tuple[str, dict[str, Any], Reader, int]] = [
        ("POST /statements", post(signed), anon, 201),
        ("POST /statements", post(signed), anon, 409),  # the same again
        ("POST /statements", post(b'{"signature": "x"}'), anon, 400),
        ("POST /statements", bad_signature, anon, 401),
        ("POST /statements", not_permitted, anon, 403),
        ("POST /statements", unknown_kpi, anon, 404),
        ("POST /statements", stale, anon, 409),
        ("POST /statements", post(b" " * 70_000), anon, 413),
        ("POST /statements", as_text, anon, 415),
        ("POST /statements", domain_rule, anon, 422),
        ("GET /checkpoint", {}, anon, 200),
        ("GET /tile/{path}", tile, anon, 200),
        ("GET /tile/{path}", bundle, officer, 200),
        ("GET /tile/{path}", bundle, anon, 401),
        ("GET /tile/{path}", bundle, ncp, 403),
        ("GET /tile/{path}", {"path_parameters": {"path": "0/999"}}, anon, 404),
        ("GET /receipts/{index}", entry, anon, 200),
        ("GET /receipts/{index}", {"path_parameters": {"index": 10**6}}, anon, 400),
        ("GET /receipts/{index}", {"path_parameters": {"index": -1}}, anon, 422),
        ("GET /proofs/inclusion/{index}", proof, anon, 200),
        ("GET /proofs/inclusion/{index}", {**entry, "query": {"size": 1}}, anon, 400),
        ("GET /proofs/consistency", {"query": {"old": 1, "new": size}}, anon, 200),
        ("GET /proofs/consistency", {"query": {"old": 2, "new": 1}}, anon, 400),
        ("GET /proofs/consistency", {"query": {"old": 1}}, anon, 422),
        ("GET /scores", scores, anon, 200),
        ("GET /scores", scores, officer, 200),
        ("GET /scores", {"query": {**assessment, "member": "kenya"}}, anon, 400),
        ("GET /scores", {"query": {**assessment, "year": 1999}}, anon, 404),
        ("GET /scores", {"query": {"member": "KEN"}}, anon, 422),
        ("GET /history", scores, officer, 200),
        ("GET /history", {"query": {**assessment, "year": 1999}}, anon, 404),
        ("GET /diff", since, officer, 200),
        ("GET /diff", {"query": {**assessment, "from": "yesterday"}}, anon, 400),
        (export, csv, officer, 200),
        (export, parquet, officer, 200),
        (export, no_kind, anon, 422),
        ("GET /framework", {}, anon, 200),
        ("GET /framework", {"query": {"at_size": size + 1000}}, anon, 400),
        ("GET /events", {"query": {"limit": 5}}, officer, 200),
        ("GET /events", {}, anon, 401),
        ("GET /events", {"query": {"limit": 0}}, officer, 422),
        ("GET /access-log", {}, officer, 200),
        ("GET /access-log", {}, ncp, 403),
        ("GET /access-log", {"query": {"since": "yesterday"}}, officer, 400),
        ("GET /access-log", {"query": {"limit": 0}}, officer, 422),
        ("GET /access-log/head", {}, officer, 200),
        ("GET /access-log/head", {}, anon, 401),
        ("GET /whoami", {}, anon, 200),
        ("GET /whoami", {}, officer, 200),
        ("GET /flags", {}, officer, 200),
        ("GET /flags", {"query": {"member": "KEN", "status": "open"}}, officer, 200),
        ("GET /flags", {}, anon, 401),
        ("GET /flags", {}, ncp, 403),
        ("GET /flags", {"query": {"rule": "nonsense"}}, officer, 400),
        ("GET /flags", {"query": {"at_size": size + 1000}}, officer, 400),
    ]
    # A bearer token that is present but not valid is refused on every route.
    good = {label: values for label, values, _, status in known if status < 300}
    known += [(label, values, bad_token, 401) for label, values in good.items()]
    anchors: dict[str, dict[str, Any]] = {
        "GET /receipts/{index}": entry,
        "GET /proofs/inclusion/{index}": entry,
        "GET /proofs/consistency": {"query": {"old": 1}},
        "GET /scores": scores,
        "GET /history": scores,
        "GET /diff": scores,
        export: scores,
        "GET /events": {"query": {"member": "KEN"}},
    }
    findings = Findings()
    for label, values, reader, status in known:
        exercise(operations[label].Case(**values), findings, reader, status)
    for label, operation in operations.items():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, findings, mode)
        anchor = anchors.get(label, {})
        fuzz(operation, findings, GenerationMode.POSITIVE, officer, **anchor)
    if findings.found:
        pytest.fail(findings.report(), pytrace=False)
