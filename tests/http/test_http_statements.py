"""``POST /statements`` and receipts over HTTP, on SQLite and PostgreSQL: a
signed statement in, a receipt out that verifies offline; every refusal is a
problem-details body with the status the error names."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from ledger.keys import KeyPair
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.formats.statement import MAX_STATEMENT_BYTES, SignedStatement
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.conftest import World

JSON = {"Content-Type": "application/json"}


def post(client: TestClient, data: bytes | Iterator[bytes], **headers: str) -> Any:
    return client.post("/statements", content=data, headers={**JSON, **headers})


def wire(signed: SignedStatement) -> bytes:
    """What ``pmm sign`` prints: the canonical bytes and a newline."""
    return signed.to_bytes() + b"\n"


def hours(world: World, key: KeyPair, stream: str, amount: str) -> SignedStatement:
    body = world.value_body(world.KPI_HOURS, {"amount": amount}, "hours")
    return world.sign(key, stream, "value.submitted", body)


def refused(response: Any, status: int, kind: str, *phrases: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status and body["type"] == f"urn:pmm:problem:{kind}"
    for phrase in phrases:
        assert phrase in body["detail"], body
    return body


def test_a_signed_statement_gets_a_receipt_that_verifies_offline(
    world: World, client: TestClient
) -> None:
    size = world.ledger.log_size()
    response = post(client, wire(hours(world, world.ncp_ken, world.KEN, "12.5")))
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert recorded["stream"] == world.KEN and recorded["entry_type"] == "value.submitted"
    assert recorded["principal"] == world.ncp_ken.principal
    assert (recorded["log_index"], recorded["tree_size"]) == (size, size + 1)
    entry = world.ledger.sequencer.store.entries(size, size + 1)[0][1]
    # The answer carries the entry's bytes, so the submitter needs nothing else.
    assert base64.b64decode(recorded["entry"]) == entry
    assert hashlib.sha256(entry).hexdigest() == recorded["entry_sha256"]
    trust = parse_policy(f"log {world.ledger.log_vkey()}\nquorum none\n")
    verified = verify_receipt(recorded["receipt"], leaf_hash(entry), trust)
    assert verified.receipt.index == size
    assert response.headers["location"] == f"/receipts/{size}?size={size + 1}"
    again = client.get(response.headers["location"])
    assert again.status_code == 200 and again.text == recorded["receipt"]
    assert again.headers["content-type"] == "text/plain; charset=utf-8"


def test_malformed_and_non_canonical_bytes_are_400(
    world: World, client: TestClient
) -> None:
    size = world.ledger.log_size()
    refused(post(client, b"{not json"), 400, "malformed-statement")
    refused(post(client, b""), 400, "malformed-statement")
    refused(post(client, b"\xff\xfe"), 400, "malformed-statement", "not UTF-8")
    refused(post(client, b"[1,2]"), 400, "malformed-statement", "exactly")
    signed = hours(world, world.ncp_ken, world.KEN, "1")
    spaced = json.dumps(json.loads(signed.to_bytes()), indent=1).encode()
    refused(post(client, spaced), 400, "non-canonical")
    float_value = signed.to_bytes().replace(b'"amount":"1"', b'"amount":1.5')
    refused(post(client, float_value), 400, "float-value")
    assert world.ledger.log_size() == size


def test_oversized_bodies_are_413_before_they_are_read(client: TestClient) -> None:
    big = b"{" + b" " * (MAX_STATEMENT_BYTES + 10) + b"}"
    refused(post(client, big), 413, "request-too-large", "limit")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streaming cap
        for _ in range(100):
            yield b" " * 1000

    refused(post(client, chunks()), 413, "request-too-large")
    # Within the body limit (a statement and its newline), over the statement's.
    refused(post(client, b" " * (MAX_STATEMENT_BYTES + 1)), 413, "statement-too-large")


def test_only_json_is_accepted(world: World, client: TestClient) -> None:
    data = wire(hours(world, world.ncp_ken, world.KEN, "1"))
    refused(
        post(client, data, **{"Content-Type": "text/plain"}), 415, "unsupported-media-type"
    )
    response = client.post("/statements", content=data)
    refused(response, 415, "unsupported-media-type")


def test_unknown_principal_and_bad_signature_are_401(
    world: World, client: TestClient
) -> None:
    stranger = KeyPair.generate("stranger")
    body = world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours")
    unknown = world.sign(stranger, world.KEN, "value.submitted", body)
    refused(post(client, wire(unknown)), 401, "unknown-principal", "stranger")
    signed = hours(world, world.ncp_ken, world.KEN, "1")
    other = hours(world, world.ncp_ken, world.KEN, "2")
    forged = SignedStatement(signed.statement, other.signature)
    refused(post(client, wire(forged)), 401, "signature")


def test_wrong_role_and_other_member_are_403(world: World, client: TestClient) -> None:
    kpi = world.kpi_body("TF.9.9", "hours", "number")
    by_ncp = world.sign(world.ncp_ken, "framework", "kpi.defined", kpi)
    refused(post(client, wire(by_ncp)), 403, "role-not-permitted")
    for_brazil = hours(world, world.ncp_ken, world.BRA, "1")
    refused(post(client, wire(for_brazil)), 403, "member-scope")


def test_stale_version_and_duplicate_are_409(world: World, client: TestClient) -> None:
    first = hours(world, world.ncp_ken, world.KEN, "1")
    assert post(client, wire(first)).status_code == 201
    refused(post(client, wire(first)), 409, "duplicate-statement", "already recorded")
    body = world.value_body(world.KPI_PERCENT, {"amount": "80"}, "percent")
    stale = world.sign(
        world.ncp_ken,
        world.KEN,
        "value.submitted",
        body,
        expected_version=world.ledger.stream_version(world.KEN) - 1,
    )
    refused(post(client, wire(stale)), 409, "stale-version", "sign a new statement")


def test_a_domain_rule_is_422_and_an_unknown_stream_404(
    world: World, client: TestClient
) -> None:
    unknown_kpi = world.sign(
        world.ncp_ken, world.KEN, "kpi.not_used", {"justification": "x", "kpi": "XX.9"}
    )
    refused(post(client, wire(unknown_kpi)), 422, "domain-rule", "'XX.9' is not defined")
    body = world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours")
    nowhere = world.sign(
        world.ncp_ken, "assessment/KEN/7", "value.submitted", body, expected_version=1
    )
    refused(post(client, wire(nowhere)), 404, "not-found")


def test_a_statement_issued_over_24_hours_ago_is_422(
    world: World, client: TestClient
) -> None:
    body = world.value_body(world.KPI_HOURS, {"amount": "12"}, "hours")
    issued = datetime.now(UTC) - timedelta(days=3)
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", body, issued_at=issued
    )
    size = world.ledger.log_size()
    answer = post(client, wire(world.ncp_ken.sign(statement)))
    refused(answer, 422, "expired-statement", "72.0 hours", "at most 24 hours")
    assert world.ledger.log_size() == size
