"""``GET /reports/{sha256}``: a copy's digest answered with its entry and receipt."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from api.flag_defaults import packaged
from api.report import issue, render_html
from projections.access import Reader
from projections.report import build_report
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

if TYPE_CHECKING:
    from tests.conftest import World


def test_a_reports_digest_is_answered_with_a_receipt(
    world: World, client: TestClient, tmp_path: Path
) -> None:
    world.hours(world.ncp_ken, world.KEN, "12")
    officer = Reader(world.officer.principal, "integrity_officer", None, "test")
    report = build_report(world.ledger, officer, "KEN", 2022, packaged=packaged())
    issued = issue(world.ledger, world.officer, report, tmp_path, render_html(report, "o"))
    for digest in (issued.pdf_sha256, issued.html_sha256):
        response = client.get(f"/reports/{digest}")
        assert response.status_code == 200, response.text
        found = response.json()
        assert (found["log_index"], found["member"], found["cut"]) == (
            issued.recorded.log_index,
            "KEN",
            report.cut,
        )
        raw = world.ledger.sequencer.store.entry(found["log_index"])
        trust = parse_policy(f"log {world.ledger.log_vkey()}\nquorum none\n")
        assert (
            verify_receipt(found["receipt"], leaf_hash(raw), trust).receipt.index
            == (found["log_index"])
        )
    other = hashlib.sha256(b"a forged report").hexdigest()
    missing = client.get(f"/reports/{other}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"no issued report has SHA-256 {other}"
    assert client.get("/reports/NOT-A-DIGEST").status_code == 422
