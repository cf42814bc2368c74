"""``GET /flags`` and ``/ui/flags``: who reads the red flags, filters, links to
entries, the access log, and handling through ``POST /statements`` (both backends)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from tests.conftest import World

JSON = {"Content-Type": "application/json"}


def plant(world: World) -> None:
    """A restricted jump for KEN, and a value validated by its own organisation in BRA."""
    world.hours(world.ncp_ken, world.KEN, "10", year=2021, disclosure="restricted")
    world.hours(world.ncp_ken, world.KEN, "100")
    source = {"name": "ASYCUDA export", "sha256": "ab" * 32}
    value = world.hours(world.sec, world.BRA, "30", source=source)
    world.record(world.sec2, world.BRA, "value.validated", {"entry": value.stream_version})


def flags(client: TestClient, world: World, **params: Any) -> dict[str, Any]:
    response = client.get("/flags", params=params, headers=world.bearer(world.officer))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_only_integrity_officers_and_the_secretariat(
    world: World, client: TestClient
) -> None:
    plant(world)
    assert client.get("/flags").status_code == 401
    for key in (world.ncp_ken, world.ncp_bra, world.reviewer, world.admin):
        response = client.get("/flags", headers=world.bearer(key))
        assert response.status_code == 403, key.principal
        assert response.json()["type"] == "urn:pmm:problem:read-not-permitted"
    assert not world.ledger.access_log.query().records  # nothing shown, nothing logged
    for key in (world.officer, world.sec):
        body = client.get("/flags", headers=world.bearer(key)).json()
        assert {f["rule"] for f in body["flags"]} == {"jump_history", "same_party"}
        assert body["thresholds"]["label"] == (
            "thresholds: packaged v1, not recorded in the ledger"
        )
    # Every flag is restricted (decision 26): each read is logged under the
    # Member of each flag it shows, KEN's and BRA's.
    records = world.ledger.access_log.query().records
    assert [(r["member"], r["request"]) for r in records] == [
        ("BRA", "GET /flags"),
        ("KEN", "GET /flags"),
    ] * 2
    assert records[1]["shown"][0].startswith("flag jump_history:")


def test_filters_and_links(world: World, client: TestClient) -> None:
    plant(world)
    [jump] = flags(client, world, member="KEN")["flags"]
    assert jump["rule"] == "jump_history" and jump["disclosure"] == "restricted"
    first = jump["entries"][0]
    assert first == {
        "log_index": first["log_index"],
        "receipt": f"/receipts/{first['log_index']}",
        "event": f"/events?cursor={first['log_index']}&limit=1",
    }
    assert client.get(first["receipt"]).status_code == 200
    event = client.get(first["event"], headers=world.bearer(world.officer)).json()
    assert event["events"][0]["log_index"] == first["log_index"]
    assert [f["rule"] for f in flags(client, world, rule="same_party")["flags"]] == [
        "same_party"
    ]
    assert flags(client, world, status="acknowledged")["flags"] == []
    assert len(flags(client, world, severity="medium")["flags"]) == 1
    for params in ({"rule": "nonsense"}, {"status": "closed"}, {"severity": "dire"}):
        response = client.get("/flags", params=params, headers=world.bearer(world.sec))
        assert response.status_code == 400, params


def test_handling_through_post_statements(world: World, client: TestClient) -> None:
    plant(world)
    [jump] = flags(client, world, rule="jump_history")["flags"]
    body = {"flag": jump["id"], "action": "acknowledged", "reason": "Unit confirmed.",
            "member": "KEN"}  # fmt: skip
    signed = world.sign(world.officer, "integrity", "integrity.flag_handled", body)
    created = client.post("/statements", content=signed.to_bytes(), headers=JSON)
    assert created.status_code == 201, created.text
    [shown] = flags(client, world, status="acknowledged")["flags"]
    assert shown["id"] == jump["id"]
    assert shown["handling"]["by"] == "integrity"
    assert shown["handling"]["entry"]["log_index"] == created.json()["log_index"]
    again = world.sign(world.officer, "integrity", "integrity.flag_handled", body)
    refused = client.post("/statements", content=again.to_bytes(), headers=JSON)
    assert refused.status_code == 409, refused.text
    assert "already acknowledged" in refused.json()["detail"]


def test_the_page(world: World, client: TestClient) -> None:
    plant(world)
    anonymous = client.get("/ui/flags")
    assert anonymous.status_code == 401 and "sign in" in anonymous.text
    assert "text/html" in anonymous.headers["content-type"]
    other = client.get("/ui/flags", headers=world.bearer(world.ncp_bra))
    assert other.status_code == 403 and "integrity_officer or secretariat" in other.text
    page = client.get("/ui/flags", headers=world.bearer(world.officer))
    assert page.status_code == 200
    report = flags(client, world)
    for flag in report["flags"]:
        assert f"<code>{flag['id']}</code>" in page.text
        for entry in flag["entries"]:
            assert f'href="/receipts/{entry["log_index"]}"' in page.text
    assert "thresholds: packaged v1, not recorded in the ledger" in page.text
    filtered = client.get(
        "/ui/flags", params={"member": "BRA", "rule": "", "status": "", "severity": ""},
        headers=world.bearer(world.officer),
    )  # fmt: skip
    assert "same_party:" in filtered.text and "jump_history:" not in filtered.text
    bad = client.get("/ui/flags?rule=nonsense", headers=world.bearer(world.officer))
    assert bad.status_code == 400 and "is not a rule" in bad.text
    requests = [r["request"] for r in world.ledger.access_log.query().records]
    assert "GET /ui/flags" in requests
