"""The application as a whole, on SQLite and PostgreSQL: anonymous score reads
see public rows only, the ledger opens and closes with the app, OpenAPI loads,
``pmm serve`` is a command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.http import create_app
from ledger.home import init_ledger
from ledger.persistence import Settings
from verify.formats.schema import STATEMENT_TYPES

if TYPE_CHECKING:
    from tests.conftest import World


def test_anonymous_scores_show_public_rows_only(world: World, client: TestClient) -> None:
    world.one_of_each_disclosure()
    size = world.ledger.log_size()
    response = client.get("/scores", params={"member": "KEN", "year": 2022})
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["stream"] == world.KEN and found["audience"] == "public"
    assert found["position"]["size"] == size
    codes = {row["code"] for row in found["rows"]}
    assert world.KPI_HOURS in codes
    assert world.KPI_PERCENT not in codes and world.KPI_RATIO not in codes
    assert {row["disclosure"] for row in found["rows"]} == {"public"}
    assert found["withheld"] >= 2
    earlier = client.get(
        "/scores", params={"member": "KEN", "year": 2022, "at_size": size - 2}
    ).json()
    assert earlier["position"]["size"] == size - 2
    hours = [r for r in earlier["rows"] if r["code"] == world.KPI_HOURS]
    assert hours and hours[0]["score"] is not None


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"member": "KEN", "year": 1999}, 404),
        ({"member": "kenya", "year": 2022}, 400),
        ({"member": "KEN", "year": 2022, "at_size": 10**6}, 400),
        ({"member": "KEN", "year": 2022, "as_of": "yesterday"}, 400),
        ({"member": "KEN", "year": 2022, "as_of": "2026-01-01", "at_size": 1}, 400),
        ({"member": "KEN", "year": 2022, "published": "9"}, 404),
        ({"member": "KEN"}, 422),
        ({"member": "KEN", "year": "T"}, 422),
    ],
)
def test_score_queries_name_what_is_wrong(
    client: TestClient, params: dict[str, Any], status: int
) -> None:
    response = client.get("/scores", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"] and problem["title"]


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/statements", "/checkpoint", "/tile/{path}", "/scores"} <= set(schema["paths"])
    assert "/proofs/consistency" in schema["paths"]
    post = schema["paths"]["/statements"]["post"]
    assert "application/json" in post["requestBody"]["content"]
    assert "application/problem+json" in post["responses"]["409"]["content"]
    assert "swagger" in client.get("/docs").text.lower()


def test_a_wrong_method_is_a_405_problem(client: TestClient) -> None:
    response = client.get("/statements")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "about:blank"


def test_the_app_opens_and_closes_its_own_ledger(settings: Settings) -> None:
    init_ledger(settings, "http.example/ledger").close()
    app = create_app(settings)
    with TestClient(app) as client:
        note = client.get("/checkpoint").text
        assert note.startswith("http.example/ledger\n1\n")
    assert app.state.ledger is None


def test_pmm_serve_is_a_command(settings: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output
    missing = runner.invoke(cli_app, ["serve", "--home", str(settings.home / "none")])
    assert missing.exit_code == 2 and "no ledger" in missing.output


def test_openapi_has_a_schema_for_every_statement_type(client: TestClient) -> None:
    """Derived from verify.formats.schema.STATEMENT_TYPES: a new type appears by itself."""
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    body = schema["paths"]["/statements"]["post"]["requestBody"]["content"]
    choices = body["application/json"]["schema"]["properties"]["statement"]["oneOf"]
    assert len(choices) == len(STATEMENT_TYPES)
    for name, kind in STATEMENT_TYPES.items():
        found = components["Statement_" + name.replace(".", "_")]
        assert found["properties"]["type"] == {"const": name}
        assert set(found["properties"]["body"]["properties"]) == set(kind.fields)
        assert all(role in found["description"] for role in kind.roles)
