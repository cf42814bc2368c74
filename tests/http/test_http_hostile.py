"""Hostile bodies sent anonymously to ``POST /statements`` are cheap to refuse
(docs/decisions.md 17), on SQLite and PostgreSQL: each gets its status and a
short problem body, and nothing is recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from verify.formats.statement import MAX_STATEMENT_BYTES, SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World

SHORT = 2048  # bytes: the most a refusal's whole body may take

HOSTILE = {
    "huge exponent": b'{"a":1e99999999}',
    "huger exponent": b'{"a":1e999999999999999999}',
    "huge digit count": b'{"a":1.' + b"0" * 50_000 + b"}",
    "long integer": b'{"a":' + b"9" * 4_000 + b"}",
    "longer integer than Python converts": b'{"a":' + b"1" * 5_000 + b"}",
    "deep arrays": b"[" * 29_000 + b"]" * 29_000,
    "deep objects": b'{"a":' * 9_000 + b"1" + b"}" * 9_000,
    "long duplicate key": b'{"' + b"k" * 20_000 + b'":1,"' + b"k" * 20_000 + b'":1}',
}


def post(client: TestClient, data: bytes) -> Any:
    return client.post(
        "/statements", content=data, headers={"Content-Type": "application/json"}
    )


def short_refusal(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:SHORT]
    assert len(response.content) < SHORT, response.text[:SHORT]
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_json_is_a_short_400(world: World, client: TestClient, name: str) -> None:
    assert len(HOSTILE[name]) <= MAX_STATEMENT_BYTES
    size = world.ledger.log_size()
    body = short_refusal(post(client, HOSTILE[name]), 400)
    assert body["type"].startswith("urn:pmm:problem:")
    assert world.ledger.log_size() == size


def test_a_decimal_of_more_than_40_digits_is_a_short_422(
    world: World, client: TestClient
) -> None:
    size = world.ledger.log_size()
    for amount in ("1" * 41, "1" + "0" * 50_000):
        value = world.value_body(world.KPI_HOURS, {"amount": amount}, "hours")
        signed = world.sign(world.ncp_ken, world.KEN, "value.submitted", value)
        body = short_refusal(post(client, signed.to_bytes()), 422)
        assert body["type"] == "urn:pmm:problem:domain-rule"
        assert "value.amount must have at most 40 digits" in body["detail"]
    assert world.ledger.log_size() == size


def test_long_names_before_the_signature_check_are_quoted_in_short(
    world: World, client: TestClient
) -> None:
    """Origin, principal and key id are read before the signature is checked,
    so anyone can send them: the refusal quotes a short prefix of each."""
    size = world.ledger.log_size()
    value = world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours")
    for field, status, kind in [
        ("origin", 422, "wrong-origin"),
        ("principal", 401, "unknown-principal"),
        ("key_id", 401, "unknown-key"),
    ]:
        statement = world.statement(world.ncp_ken, world.KEN, "value.submitted", value)
        statement[field] = "x" * 50_000
        signed = SignedStatement(statement, "A" * 86 + "==")
        assert len(signed.to_bytes()) <= MAX_STATEMENT_BYTES
        body = short_refusal(post(client, signed.to_bytes()), status)
        assert body["type"] == f"urn:pmm:problem:{kind}", body
        assert "(50000 characters)" in body["detail"]
    assert world.ledger.log_size() == size
