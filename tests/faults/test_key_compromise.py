"""A principal's key leaks: the drill of docs/key-compromise.md, on both backends.

Kenya's NCP key is stolen. Before anyone notices, the thief holds the key and
has signed statements it keeps for later, a bearer token and a browser
session. The admins then act by the threshold (docs/decisions.md, 15): either
``principal.revoked`` or ``principal.key_recovered`` to a key the NCP makes
afresh. From that entry on, everything the leaked key signed is refused with
an error that says why — a fresh statement, one back-dated to before the
revocation, one signed earlier and held back, the token, the session — and
nothing recorded before is any less valid: the offline verifier passes on an
export and the receipts handed out before still verify.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from ledger.errors import InvalidTokenError, RevokedPrincipalError, UnknownKeyError
from ledger.export import export
from ledger.keys import KeyPair
from ledger.tokens import check_token, issue_token
from verify.check.verifier import verify_export
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.conftest import World

WEB = "http://testserver"


def sign_in(client: TestClient, key: KeyPair) -> None:
    """Open a browser session the way signin.js does (decision 30)."""
    found = client.post("/auth/challenge").json()
    signature = key.private_key.sign(base64.b64decode(found["message"]))
    answer = client.post(
        "/auth/session",
        json={
            "principal": key.principal,
            "key_id": key.key_id,
            "challenge": found["challenge"],
            "signature": base64.b64encode(signature).decode(),
        },
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("response", ["revoked", "recovered"])
def test_a_leaked_key_signs_nothing_after_the_threshold_acts(
    world: World, tmp_path: Path, response: str
) -> None:
    with TestClient(create_app(world.ledger.settings, ledger=world.ledger)) as client:
        drill(world, tmp_path, response, client)


def drill(
    world: World,
    tmp_path: Path,
    response: str,
    client: TestClient,
) -> None:
    leaked = world.ncp_ken
    before = world.hours(leaked, world.KEN, "12")  # honest, recorded before the leak
    # What the thief prepares while the key is still good: a statement signed
    # now and held back (a replay of something never submitted), a bearer
    # token and a browser session.
    held_back = world.sign(
        leaked,
        world.KEN,
        "value.submitted",
        world.value_body(world.KPI_PERCENT, {"amount": "99"}, "percent"),
    )
    token = issue_token(leaked, world.ledger.origin)
    sign_in(client, leaked)
    assert client.get("/whoami").json()["principal"] == "ncp-ken"
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/whoami", headers=bearer).json()["principal"] == "ncp-ken"

    # The drill: the threshold acts (admin + admin-2's approval, decision 15).
    fresh = KeyPair.generate("ncp-ken")
    if response == "revoked":
        world.record(
            world.admin,
            "registry",
            "principal.revoked",
            {"principal": "ncp-ken", "reason": "key leaked (drill)"},
        )
        error: type[Exception] = RevokedPrincipalError
        phrase = "principal 'ncp-ken' was revoked at registry version"
    else:
        world.record(
            world.admin,
            "registry",
            "principal.key_recovered",
            {
                "principal": "ncp-ken",
                "public_key": fresh.public_key,
                "reason": "key leaked (drill)",
            },
        )
        error, phrase = UnknownKeyError, "is not the current key of principal 'ncp-ken'"
    revoked_at = world.ledger.log_size()

    # 1. A fresh statement signed with the leaked key.
    world.refused(
        world.sign(
            leaked,
            world.KEN,
            "value.submitted",
            world.value_body(world.KPI_HOURS, {"amount": "1"}, "hours"),
        ),
        error,
        phrase,
    )
    # 2. Back-dated to an hour before the revocation: the signer's key is
    #    judged at the position the entry would take, never at issued_at.
    back = world.statement(
        leaked,
        world.KEN,
        "value.submitted",
        world.value_body(world.KPI_HOURS, {"amount": "2"}, "hours"),
        issued_at=datetime.now(UTC) - timedelta(hours=1),
    )
    world.refused(leaked.sign(back), error, phrase)
    # 3. The statement signed before and held back until now, directly and
    #    over HTTP (POST /statements answers the error's status and message).
    world.refused(held_back, error, phrase)
    posted = client.post(
        "/statements",
        content=held_back.to_bytes() + b"\n",
        headers={"Content-Type": "application/json"},
    )
    assert posted.status_code == 401 and phrase in posted.text, posted.text
    # 4. The bearer token and the browser session made with the leaked key.
    with pytest.raises(InvalidTokenError, match=r"revoked|current key"):
        check_token(world.ledger.registry(), world.ledger.origin, token)
    answer = client.get("/whoami", headers=bearer)
    assert answer.status_code == 401, answer.text
    assert "ncp-ken" in answer.json()["detail"]
    assert client.get("/whoami").json()["principal"] is None  # the session ended
    if response == "recovered":  # the NCP carries on with its new key
        world.submit(fresh, world.KEN, world.KPI_YES_NO, {"answer": True}, "yes_no")
    else:
        assert client.post("/auth/challenge").status_code == 200

    # Everything recorded before stays valid: the offline verifier passes on
    # an export, and the receipt handed out before the leak still verifies.
    out = tmp_path / "export"
    export(world.ledger, out)
    result = verify_export(out, out / "trust.json", tmp_path / "state.json")
    assert result.verified, result.findings
    assert result.size >= revoked_at
    [raw] = [
        e
        for i, e in world.ledger.sequencer.store.entries(
            before.log_index, before.log_index + 1
        )
    ]
    policy = parse_policy(f"log {world.ledger.log_vkey()}\nquorum none\n".encode())
    assert before.receipt is not None
    verified = verify_receipt(before.receipt, leaf_hash(raw), policy)
    assert verified.checkpoint.checkpoint.size == before.tree_size
