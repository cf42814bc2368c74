"""Reads as a principal, on SQLite and PostgreSQL: what each audience
sees, that every restricted read lands in the access log before it is served
(and public reads do not), audit event filters with a cursor that stays stable
while the log grows, exports that honour disclosure, and the framework at a
past record time."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ledger.keys import KeyPair
from projections import audit

if TYPE_CHECKING:
    from tests.conftest import World

Q: dict[str, Any] = {"member": "KEN", "year": 2022}


def auth(world: World, key: KeyPair) -> dict[str, str]:
    return world.bearer(key)


def seed(world: World) -> dict[str, int]:
    """Kenya: a public hours value, a wco percentage, a restricted ratio."""
    return {k: r.log_index for k, r in world.one_of_each_disclosure().items()}


def access_records(client: TestClient, world: World, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/access-log", params=params, headers=auth(world, world.officer))
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def test_restricted_reads_are_logged_and_public_reads_are_not(
    world: World, client: TestClient
) -> None:
    seed(world)
    assert client.get("/scores", params=Q).status_code == 200  # anonymous
    bra = client.get("/scores", params=Q, headers=auth(world, world.ncp_bra)).json()
    assert bra["audience"] == "wco" and world.KPI_RATIO not in {
        r["code"] for r in bra["rows"]
    }
    assert access_records(client, world) == []  # nothing restricted was shown
    ken_token = auth(world, world.ncp_ken)
    ken = client.get("/scores", params=Q, headers=ken_token).json()
    assert ken["audience"] == "restricted" and ken["withheld"] == 0
    records = access_records(client, world)
    assert len(records) == 1
    record = records[0]
    assert record["principal"] == "ncp-ken" and record["role"] == "ncp"
    assert record["member"] == "KEN" and record["request"].startswith("GET /scores?")
    assert f"score kpi {world.KPI_RATIO}" in record["shown"]
    assert record["token"] and record["seq"] == 0
    head = client.get("/access-log/head", headers=auth(world, world.officer)).json()
    assert head == {
        "size": 1,
        "head": record["hash"],
        "verified": True,
        "broken_at": None,
        "problem": None,
        "seals": 0,  # no write since the read: nothing sealed yet
    }


def test_history_and_diff_withhold_by_audience(world: World, client: TestClient) -> None:
    indexes = seed(world)
    anonymous = client.get("/history", params=Q).json()
    assert [r["log_index"] for r in anonymous["rows"]] == [indexes["public"]]
    assert anonymous["withheld"] == 2
    reviewer = client.get("/history", params=Q, headers=auth(world, world.reviewer)).json()
    assert [r["log_index"] for r in reviewer["rows"]] == [indexes["public"], indexes["wco"]]
    officer = client.get("/history", params=Q, headers=auth(world, world.officer)).json()
    assert len(officer["rows"]) == 3 and officer["withheld"] == 0
    logged = access_records(client, world, principal="integrity")
    assert logged[-1]["shown"] == [f"entry {indexes['restricted']}"]
    diff = client.get("/diff", params={**Q, "from": f"size:{indexes['public']}"}).json()
    assert [c["log_index"] for c in diff["changes"]] == [indexes["public"]]
    assert diff["withheld"] >= 2 and all(
        s["disclosure"] == "public" for s in diff["score_changes"]
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_exports_honour_disclosure(world: World, client: TestClient, fmt: str) -> None:
    seed(world)
    for key, audience in ((None, "public"), (world.sec, "restricted")):
        headers = auth(world, key) if key else {}
        response = client.get(f"/exports/scores.{fmt}", params=Q, headers=headers)
        assert response.status_code == 200, response.text
        assert (
            f'filename="scores-KEN-2022.{fmt}"' in response.headers["content-disposition"]
        )
        data = io.BytesIO(response.content)
        frame = pd.read_csv(data) if fmt == "csv" else pd.read_parquet(data)
        json_rows = client.get("/scores", params=Q, headers=headers).json()["rows"]
        assert list(frame["code"]) == [r["code"] for r in json_rows]
        assert (world.KPI_RATIO in set(frame["code"])) == (audience == "restricted")
    history = client.get(f"/exports/history.{fmt}", params=Q)
    assert history.status_code == 200
    missing = client.get(f"/exports/diff.{fmt}", params=Q)
    assert missing.status_code == 400 and "from=R1" in missing.json()["detail"]


def test_events_filters_and_withheld_values(world: World, client: TestClient) -> None:
    indexes = seed(world)
    bra = auth(world, world.ncp_bra)
    found = client.get(
        "/events", params={"member": "KEN", "type": "value.submitted"}, headers=bra
    ).json()
    events = {e["log_index"]: e for e in found["events"]}
    assert set(events) == set(indexes.values()) and found["complete"]
    assert events[indexes["wco"]]["body"]["value"] == {"amount": "80"}
    hidden = events[indexes["restricted"]]
    # Only which KPI and year it is about: no number, status, unit, evidence.
    assert hidden["withheld"] and hidden["entry"] is None
    assert hidden["body"] == {"kpi": world.KPI_RATIO, "reference_year": 2022}
    assert access_records(client, world) == []
    officer = auth(world, world.officer)
    by_kpi = client.get("/events", params={"kpi": world.KPI_RATIO}, headers=officer).json()
    types = [e["type"] for e in by_kpi["events"]]
    assert types == ["kpi.defined", "value.submitted"]
    assert by_kpi["events"][1]["entry"] is not None  # the signed bytes, to verify
    assert access_records(client, world)[-1]["shown"] == [f"entry {indexes['restricted']}"]
    cases: list[tuple[dict[str, Any], int]] = [
        ({"principal": "ncp-ken"}, 3),
        ({"principal": "ncp-ken", "year": 2021}, 0),
        ({"type": "assessment.opened", "year": 2022}, 2),
        ({"member": "BRA"}, 2),  # the NCP's registration and the assessment
        ({"since": "2000-01-01", "until": "2000-12-31"}, 0),
    ]
    for params, count in cases:
        answer = client.get("/events", params=params, headers=officer).json()
        assert len(answer["events"]) == count, (params, answer["events"])
    bad = client.get("/events", params={"since": "last week"}, headers=officer)
    assert bad.status_code == 400 and "not a time" in bad.json()["detail"]


def test_the_events_cursor_is_stable_while_the_log_grows(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = auth(world, world.officer)

    def pages(params: dict[str, Any]) -> list[list[int]]:
        found, cursor = [], 0
        while True:
            answer = client.get(
                "/events", params={**params, "cursor": cursor, "limit": 3}, headers=officer
            ).json()
            found.append([e["log_index"] for e in answer["events"]])
            if answer["complete"]:
                return found
            cursor = answer["next_cursor"]

    first = client.get("/events", params={"limit": 3}, headers=officer).json()
    world.hours(world.ncp_ken, world.KEN, "1")
    world.submit(world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "5"}, "percent")
    world.record(
        world.sec, "framework", "dimension.defined", {"code": "RC", "name": "Revenue"}
    )
    again = client.get("/events", params={"limit": 3}, headers=officer).json()
    assert (
        again["events"] == first["events"] and again["next_cursor"] == first["next_cursor"]
    )
    everything = [i for page in pages({}) for i in page]
    assert everything == list(range(world.ledger.log_size()))
    # A page scans a bounded number of entries: a rare match still answers,
    # with a cursor to go on from, and no entry is skipped or repeated.
    expected = [
        e["log_index"]
        for e in client.get(
            "/events", params={"principal": "ncp-ken", "limit": 500}, headers=officer
        ).json()["events"]
    ]
    assert len(expected) == 2
    monkeypatch.setattr(audit, "SCAN_LIMIT", 4)
    short = client.get("/events", params={"principal": "ncp-ken"}, headers=officer).json()
    assert short["complete"] is False and short["next_cursor"] == 4
    assert [i for page in pages({"principal": "ncp-ken"}) for i in page] == expected


def test_the_framework_at_a_past_record_time(world: World, client: TestClient) -> None:
    size = world.ledger.log_size()
    world.record(
        world.sec,
        "framework",
        "kpi.revised",
        world.kpi_body(
            world.KPI_HOURS,
            "hours",
            "number",
            applies_from=2023,
            reason="new method from 2023",
        ),
    )
    now = client.get("/framework").json()
    assert [v["version"] for v in now["kpis"][world.KPI_HOURS]] == [1, 2]
    assert now["kpis"][world.KPI_HOURS][1]["applies_from"] == 2023
    before = client.get("/framework", params={"at_size": size}).json()
    assert [v["version"] for v in before["kpis"][world.KPI_HOURS]] == [1]
    assert before["position"]["size"] == size
    empty = client.get("/framework", params={"at_size": 1})
    assert empty.status_code == 404


def test_whoami_names_the_principal(world: World, client: TestClient) -> None:
    assert client.get("/whoami").json()["principal"] is None
    me = client.get("/whoami", headers=auth(world, world.ncp_ken)).json()
    assert me == {
        "principal": "ncp-ken",
        "role": "ncp",
        "member": "KEN",
        "audience": "restricted",
        "audience_elsewhere": "wco",
    }


def test_access_log_time_filters(world: World, client: TestClient) -> None:
    seed(world)
    client.get("/scores", params=Q, headers=auth(world, world.sec))
    officer = auth(world, world.officer)
    today = client.get("/access-log", params={"since": "2000-01-01"}, headers=officer)
    assert len(today.json()["records"]) == 1
    for params in ({"until": "2000-01-01"}, {"since": "2999-01-01T00:00:00Z"}):
        answer = client.get("/access-log", params=params, headers=officer)
        assert answer.json()["records"] == [], params
    bad = client.get("/access-log", params={"since": "yesterday"}, headers=officer)
    assert bad.status_code == 400 and "not a time" in bad.json()["detail"]
