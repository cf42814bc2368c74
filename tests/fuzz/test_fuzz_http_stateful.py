"""A stateful schemathesis run against the HTTP API, in-process.

The state machine follows the OpenAPI links of ``POST /statements``
(api/http/routes_statements.py): from what a 201 recorded to its receipt,
its inclusion and consistency proofs, the events from its index, the
checkpoint. Generated statement bodies are never signed, so one
``POST /statements`` in three (the first of a scenario) carries a freshly
signed flag by the integrity officer (a write that is recorded) and one in
three the same bytes with one byte changed (a near miss, refused). Every
request carries the integrity officer's bearer token, the reader every route
answers (schemathesis leaves it out of some, which get their 401).

Checks on every answer: no server error, status, content type, headers and
body as documented; and no partial write: after a refused request the log
size, the stored events and the access log are what they were before.
Scenarios: ``FUZZ_SCENARIOS`` (more under ``PMM_FUZZ=long``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.python import asgi

from api.http import create_app
from ledger.tokens import issue_token
from tests.fuzz.strategies import LONG

if TYPE_CHECKING:
    from tests.conftest import World

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]
FUZZ_SCENARIOS = 100 if LONG else 12
STEPS = 12


def ledger_state(world: World) -> tuple[int, int | None, tuple[int, str]]:
    """What a refused request must leave as it was: the Merkle log's size,
    the last stored event's notification id, the access log's head."""
    ledger = world.ledger
    return (
        ledger.log_size(),
        ledger.recorder.max_notification_id(),
        ledger.access_log.head(),
    )


class Writes:
    """The bodies the machine's ``POST /statements`` send instead of what
    schemathesis generated: one signed flag, one damaged copy, one left as drawn."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.posts = 0  # in this scenario: what a POST sends depends on it alone

    def body(self, generated: Any) -> Any:
        self.posts += 1
        mode = self.posts % 3  # 1: signed, 2: as generated, 0: damaged
        if mode == 2:
            return generated
        stream = (self.world.KEN, self.world.BRA)[self.posts % 2]
        flag = {"message": f"Please confirm value {self.posts}.", "subject": "TF.1.1"}
        data = self.world.sign(self.world.officer, stream, "integrity.flag_raised", flag)
        raw = bytearray(data.to_bytes())
        if mode == 0:  # one byte changed, somewhere past the envelope's first key
            at = 13 + (self.posts * 7919) % (len(raw) - 13)
            raw[at] = (raw[at] + 1 + self.posts % 200) % 256
        return bytes(raw)


@pytest.fixture
def app(world: World) -> Iterator[FastAPI]:
    yield create_app(world.ledger.settings, ledger=world.ledger)
    asgi.shutdown_lifespans()  # before the world's ledger closes


def test_the_api_as_a_state_machine(app: FastAPI, world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    writes = Writes(world)
    token = issue_token(world.officer, world.ledger.origin)
    seen: dict[str, int] = {}
    refused_writes: list[str] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            writes.posts = 0

        def before_call(self, case: Any) -> None:
            if case.operation.label == "POST /statements":
                case.body = writes.body(case.body)
                case.media_type = "application/json"
            self.before = ledger_state(world)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def after_call(self, response: Any, case: Any) -> None:
            label = f"{case.operation.label} {response.status_code}"
            seen[label] = seen.get(label, 0) + 1
            if response.status_code >= 400 and ledger_state(world) != self.before:
                body = case.body if isinstance(case.body, bytes) else repr(case.body)
                shown = base64.b64encode(body[:200] if isinstance(body, bytes) else b"")
                refused_writes.append(f"{label} changed the ledger: {shown!r}")

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Machine.run(
        settings=settings(
            max_examples=FUZZ_SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=not LONG,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    print(
        f"\nstateful run: {sum(seen.values())} requests; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items()))
    )
    assert not refused_writes, "\n".join(refused_writes)
    recorded = seen.get("POST /statements 201", 0)
    assert recorded, f"no statement was recorded, so no link was followed: {seen}"
    followed = {k for k in seen if not k.startswith("POST ")}
    assert any(k.startswith("GET /receipts/{index}") for k in followed), seen
