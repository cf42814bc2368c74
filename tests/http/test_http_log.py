"""The integrity log over HTTP, on SQLite and PostgreSQL: the checkpoint and
every tile equal the files of a ``pmm export`` at the same path; receipts and
proofs are those of the ledger; paths outside the log are 404 problems."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from ledger.application import Ledger
from ledger.export import export
from ledger.keys import KeyPair
from ledger.tokens import issue_token
from verify.formats.bundle import ACCESS_LOG_FILE
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.formats.trust import TRUST_FILE
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.conftest import Registration

PRINCIPALS = 300  # with the genesis entry: a full entry tile, and a level-1 tile


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger.settings, ledger=ledger)) as test_client:
        yield test_client


def grow(ledger: Ledger, registration: Registration, count: int) -> list[KeyPair]:
    """``count`` integrity officers registered in one batch (one transaction)."""
    version = ledger.stream_version("registry")
    statements, keys = [], []
    for i in range(count):
        key = KeyPair.generate(f"auditor-{i}")
        body = {
            "member": None,
            "name": f"Auditor {i}",
            "principal": key.principal,
            "public_key": key.public_key,
            "role": "integrity_officer",
        }
        statements.append(registration(ledger, body, version + i))
        keys.append(key)
    ledger.record_batch(statements)
    return keys


def bearer(key: KeyPair, origin: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(key, origin)}"}


def test_every_exported_file_is_served_at_its_path(
    ledger: Ledger, registration: Registration, client: TestClient, tmp_path: Path
) -> None:
    officer = bearer(grow(ledger, registration, PRINCIPALS)[0], ledger.origin)
    out = tmp_path / "export"
    summary = export(ledger, out)
    assert summary["size"] == PRINCIPALS + 1
    # The trust file is the auditor's to pin, the access log the officers' to
    # check (GET /access-log): neither is part of the tlog-tiles layout.
    local = (TRUST_FILE, ACCESS_LOG_FILE)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in local)
    paths = {p.relative_to(out).as_posix() for p in files}
    assert {"checkpoint", "tile/0/000", "tile/0/001.p/45", "tile/1/000.p/1"} <= paths
    assert {"tile/entries/000", "tile/entries/001.p/45"} <= paths
    for file in files:
        path = file.relative_to(out).as_posix()
        # Entry bundles hold every value as signed: for full readers only.
        response = client.get(f"/{path}", headers=officer)
        assert response.status_code == 200, (path, response.text)
        assert response.content == file.read_bytes(), path
    assert client.get("/tile/0/000").headers["cache-control"].endswith("immutable")
    assert client.get("/tile/0/001.p/45").headers["cache-control"] == "no-cache"
    # Smaller partial tiles of a tile the log has grown past are its prefixes.
    prefix = client.get("/tile/entries/001.p/3", headers=officer).content
    assert client.get("/tile/entries/001.p/45", headers=officer).content.startswith(prefix)
    note = client.get("/checkpoint")
    assert note.headers["content-type"] == "text/plain; charset=utf-8"
    assert note.text == ledger.sequencer.checkpoint()


def test_a_full_hash_tile_is_served_again_from_memory(
    ledger: Ledger,
    registration: Registration,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    officer = bearer(grow(ledger, registration, PRINCIPALS)[0], ledger.origin)
    first = client.get("/tile/0/000")
    partial = client.get("/tile/0/001.p/45")
    bundle = client.get("/tile/entries/000", headers=officer)

    def no_database(*args: object, **kwargs: object) -> None:
        raise AssertionError("a full hash tile served before reads the database again")

    store = ledger.sequencer.store
    monkeypatch.setattr(store, "node_range", no_database)
    monkeypatch.setattr(store, "checkpoint", no_database)
    again = client.get("/tile/0/000")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["cache-control"].endswith("immutable")
    # Partial tiles and entry bundles are read afresh each time (a bundle's
    # reads go to the access log), so they reach the store and fail here.
    with pytest.raises(AssertionError, match="reads the database again"):
        client.get("/tile/0/001.p/45")
    with pytest.raises(AssertionError, match="reads the database again"):
        client.get("/tile/entries/000", headers=officer)
    assert partial.status_code == bundle.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/tile/0/001",  # beyond the log
        "/tile/0/000.p/9",  # beyond the log (size 2)
        "/tile/entries/000.p/3",
        "/tile/1/000.p/1",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",  # a full tile is never written as partial
        "/tile/0/0",
        "/tile/0/x000/001",  # not canonical
        "/tile/00/000",
        "/tile/0/x001/x002/x003/x004/x005/006",  # beyond any log
        "/tile/9/000",
        "/tile/entries/abc",
        "/tile/",
        "/no/such/path",
    ],
)
def test_paths_outside_the_log_are_404_problems(
    ledger: Ledger, registration: Registration, client: TestClient, path: str
) -> None:
    officer = bearer(grow(ledger, registration, 1)[0], ledger.origin)
    response = client.get(path, headers=officer)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404 and problem["title"] == "Not Found"
    assert problem["instance"] == path


def test_receipts_and_proofs(
    ledger: Ledger, registration: Registration, client: TestClient
) -> None:
    grow(ledger, registration, 6)
    trust = parse_policy(f"log {ledger.log_vkey()}\nquorum none\n")
    entry = ledger.sequencer.store.entries(3, 4)[0][1]
    for url in ("/receipts/3?size=5", "/proofs/inclusion/3?size=5"):
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert response.text == ledger.receipt(3, 5)
        assert verify_receipt(response.text, leaf_hash(entry), trust).receipt.index == 3
    assert client.get("/receipts/3").text == ledger.receipt(3)
    response = client.get("/proofs/consistency", params={"old": 2, "new": 7})
    assert response.status_code == 200
    hashes = [base64.b64decode(line) for line in response.text.splitlines()]
    assert hashes == ledger.sequencer.consistency(2, 7) and hashes


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/receipts/1", 400),  # the log has one entry
        ("/receipts/0?size=2", 400),
        ("/receipts/-1", 422),
        ("/receipts/99999999999999999999999", 422),
        ("/receipts/x", 422),
        ("/proofs/inclusion/0?size=abc", 422),
        ("/proofs/consistency?old=1&new=5", 400),
        ("/proofs/consistency?old=0&new=1", 400),
        ("/proofs/consistency?old=1", 422),
    ],
)
def test_proofs_out_of_range_are_problems(
    client: TestClient, url: str, status: int
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status and response.json()["detail"]
