"""Every role against every endpoint, on SQLite and PostgreSQL.

The matrix below is the access policy of docs/http.md written as data: for each
endpoint, the status each kind of reader gets. Reads of public things (scores,
history, diff, exports, the framework, the checkpoint, hash tiles, receipts,
proofs) are open to everyone, with what is shown narrowed by the reader's
audience; ``/events`` needs a principal; the access log is for integrity
officers; entry bundles are for the principals who may read everything. A
token that is present but not valid is refused everywhere, never downgraded to
anonymous. Writes are authenticated by the statement's signature: the same
value statement signed by each role is accepted only from the Member's NCP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from ledger.keys import KeyPair

if TYPE_CHECKING:
    from tests.conftest import World

ROLES = (
    "anonymous",
    "ncp_ken",
    "ncp_bra",
    "reviewer",
    "sec",
    "officer",
    "admin",
    "bad_token",
    "revoked",
)
ALL_200 = dict.fromkeys(ROLES, 200) | {"bad_token": 401, "revoked": 401}
PRINCIPALS_200 = ALL_200 | {"anonymous": 401}
OFFICER_ONLY = dict.fromkeys(ROLES, 403) | {
    "anonymous": 401,
    "officer": 200,
    "bad_token": 401,
    "revoked": 401,
}
FULL_READERS = OFFICER_ONLY | {"sec": 200}
Q = "member=KEN&year=2022"
MATRIX: dict[str, dict[str, int]] = {
    f"/scores?{Q}": ALL_200,
    f"/scores?{Q}&at_size=20": ALL_200,
    f"/history?{Q}": ALL_200,
    f"/diff?{Q}&from=size:20": ALL_200,
    f"/exports/scores.csv?{Q}": ALL_200,
    f"/exports/history.parquet?{Q}": ALL_200,
    f"/exports/diff.csv?{Q}&from=size:20": ALL_200,
    "/framework": ALL_200,
    "/whoami": ALL_200,
    "/checkpoint": ALL_200,
    "/tile/0/000.p/8": ALL_200,
    "/receipts/3": ALL_200,
    "/proofs/inclusion/3": ALL_200,
    "/proofs/consistency?old=2&new=8": ALL_200,
    "/events?limit=5": PRINCIPALS_200,
    "/events?member=KEN&kpi=TF.1.1": PRINCIPALS_200,
    "/access-log": OFFICER_ONLY,
    "/access-log/head": OFFICER_ONLY,
    "/tile/entries/000.p/8": FULL_READERS,
    "/flags": FULL_READERS,
    "/flags?member=KEN&status=open": FULL_READERS,
}
# The audience each reader gets for Kenya's assessment (docs/design.md §1).
AUDIENCE = {
    "anonymous": "public",
    "ncp_ken": "restricted",
    "ncp_bra": "wco",
    "reviewer": "wco",
    "sec": "restricted",
    "officer": "restricted",
    "admin": "public",
}


@pytest.fixture
def headers(world: World) -> dict[str, dict[str, str]]:
    """Request headers per role; ``revoked`` is a principal revoked after its
    token was issued, ``bad_token`` a token signed by a stranger's key."""
    world.hours(world.ncp_ken, world.KEN, "12")
    world.submit(
        world.ncp_ken,
        world.KEN,
        world.KPI_PERCENT,
        {"amount": "80"},
        "percent",
        disclosure="restricted",
    )
    leaving = KeyPair.generate("leaving")
    world.record(
        world.admin,
        "registry",
        "principal.registered",
        {
            "member": None,
            "name": "Leaving officer",
            "principal": leaving.principal,
            "public_key": leaving.public_key,
            "role": "integrity_officer",
        },
    )
    found: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES[1:7]:
        key = getattr(world, role)
        found[role] = world.bearer(key)
    stranger = KeyPair.generate("integrity")  # names the officer, wrong key
    found["bad_token"] = world.bearer(stranger)
    found["revoked"] = world.bearer(leaving)
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "leaving", "reason": "left the organisation"},
    )
    return found


def test_every_role_against_every_endpoint(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    wrong: list[str] = []
    for url, expected in MATRIX.items():
        for role in ROLES:
            response = client.get(url, headers=headers[role])
            if response.status_code != expected[role]:
                wrong.append(
                    f"{role} GET {url}: {response.status_code} not {expected[role]}"
                )
            elif response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
                if response.status_code == 401:
                    assert response.headers["www-authenticate"].startswith("Bearer")
    assert not wrong, "\n".join(wrong)


def test_each_role_sees_its_audience(
    client: TestClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    for role, audience in AUDIENCE.items():
        found = client.get(f"/scores?{Q}", headers=headers[role]).json()
        assert found["audience"] == audience, role
        codes = {row["code"] for row in found["rows"]}
        assert world.KPI_HOURS in codes, role
        assert (world.KPI_PERCENT in codes) == (audience == "restricted"), role


def _value_by(world: World, key: KeyPair) -> bytes:
    body = world.value_body(world.KPI_YES_NO, {"answer": True}, "yes_no")
    return world.sign(key, world.KEN, "value.submitted", body).to_bytes()


@pytest.mark.parametrize(
    ("role", "status", "kind"),
    [
        ("ncp_ken", 201, None),
        ("ncp_bra", 403, "member-scope"),
        ("reviewer", 403, "role-not-permitted"),
        ("officer", 403, "role-not-permitted"),
        ("admin", 403, "role-not-permitted"),
    ],
)
def test_every_role_writing_a_value(
    client: TestClient, world: World, role: str, status: int, kind: str | None
) -> None:
    before = world.ledger.log_size()
    response = client.post(
        "/statements",
        content=_value_by(world, getattr(world, role)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert world.ledger.log_size() == before + (1 if status == 201 else 0)
    if kind is not None:
        problem: dict[str, Any] = response.json()
        assert problem["type"] == f"urn:pmm:problem:{kind}"
