"""The ``pmm`` command line and ``pmm demo``, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.demo import run_demo
from ledger.domain.assessment import Assessment
from ledger.home import open_ledger
from ledger.persistence import Settings
from verify.formats.policy_text import parse_policy
from verify.formats.receipt import verify_receipt
from verify.merkle.tree import leaf_hash

runner = CliRunner()


def pmm(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def test_demo_records_a_realistic_cycle(settings: Settings) -> None:
    summary = run_demo(settings)
    assert summary["origin"] == "pmm.wcoomd.example/ledger"  # fixed, as in the README
    entries = summary["entries"]
    assert (summary["dimensions"], summary["expected_outcomes"], summary["kpis"]) == (
        4,
        23,
        51,
    )
    assert summary["members"] == 20 and summary["principals"] >= 24
    assert entries["value.submitted"] > 1900 and entries["kpi.not_used"] > 0
    assert entries["value.corrected"] > 0 and entries["value.queried"] == 1
    assert entries["assessment.published"] >= 20
    # The officer's restricted read is sealed; a lost key is recovered by 2 admins.
    assert entries["access_log.sealed"] == 1 and entries["principal.key_recovered"] == 1
    assert summary["log_size"] == sum(entries.values())
    assert [r.split(":")[0] for r in summary["refused"]] == [
        "ApprovalError",
        "ConsentError",
        "SelfValidationError",
        "MemberScopeError",
    ]
    ledger = open_ledger(settings)
    try:
        ken: Assessment = ledger.aggregate("assessment/KEN/1")
        queried = [v for v in ken.values.values() if v.review == "queried"]
        assert len(queried) == 1 and queried[0].superseded_by is not None
        answer = ken.values[queried[0].superseded_by]
        assert answer.review == "validated" and answer.supersedes == queried[0].entry
        assert ken.publications and ken.publications[0].cut_at <= ledger.log_size()
    finally:
        ledger.close()


def test_cli_demo_and_rerun(settings: Settings) -> None:
    code, output = pmm(settings, "demo", "--json")
    assert code == 0, output
    assert json.loads(output)["log_size"] > 3000
    if settings.database_url is None:
        code, output = pmm(settings, "demo")  # a demo home is replaced
        assert code == 0 and "refused, as it must be" in output


def test_cli_principals_sign_and_submit(settings: Settings, tmp_path: Path) -> None:
    code, output = pmm(settings, "init", "--origin", "cli.example/ledger")
    assert code == 0, output
    key = tmp_path / "sec.key"
    assert runner.invoke(app, ["keygen", "sec", "--out", str(key)]).exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600
    code, output = pmm(
        settings,
        "principal",
        "add",
        "sec",
        "--role",
        "secretariat",
        "--public-key",
        str(key),
        "--as",
        "admin",
        "--approve",
        "admin-2",
    )
    assert code == 0 and "principal.registered" in output, output
    draft = tmp_path / "draft.json"
    draft.write_text(
        json.dumps(
            {
                "type": "framework.created",
                "stream": "framework",
                "body": {"title": "PMM framework"},
            }
        )
    )
    code, signed = pmm(settings, "sign", str(draft), "--as", str(key))
    assert code == 0, signed
    statement = tmp_path / "signed.json"
    statement.write_text(signed)
    code, output = pmm(settings, "submit", str(statement), "--json")
    assert code == 0 and json.loads(output)["stream_version"] == 1, output
    code, output = pmm(settings, "submit", str(statement))
    assert code == 1 and "DuplicateStatementError" in output
    statement.write_text(json.dumps(json.loads(signed), indent=2))
    code, output = pmm(settings, "submit", str(statement))
    assert code == 1 and "NonCanonicalError" in output
    draft.write_text(
        json.dumps(
            {
                "type": "dimension.defined",
                "stream": "framework",
                "body": {"code": "D1", "name": "Revenue"},
            }
        )
    )
    code, output = pmm(settings, "submit", str(draft), "--as", "admin")
    assert code == 1 and "RoleNotPermittedError" in output
    revoke = ("principal", "revoke", "sec", "--reason", "left", "--as", "admin")
    code, output = pmm(settings, *revoke)
    assert code == 1 and "ApprovalError" in output and "needs 2 of the 3" in output
    code, output = pmm(settings, *revoke, "--approve", "admin-3")
    assert code == 0, output
    code, output = pmm(settings, "principal", "list", "--json")
    listed = json.loads(output)
    assert listed["threshold"] == 2
    assert {p["id"]: p["revoked"] for p in listed["principals"]} == {
        "admin": False,
        "admin-2": False,
        "admin-3": False,
        "ledger": False,
        "sec": True,
    }


@pytest.mark.parametrize("backend", ["sqlite"])
def test_cli_input_errors(settings: Settings, tmp_path: Path) -> None:
    code, output = pmm(settings, "principal", "list")
    assert code == 2 and "run `pmm init`" in output
    assert pmm(settings, "init")[0] == 0
    code, output = pmm(settings, "init")
    assert code == 2 and "already holds a ledger" in output
    code, output = pmm(settings, "submit", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in output
    code, output = pmm(settings, "sign", str(tmp_path / "missing.json"), "--as", "nobody")
    assert code == 2


def test_cli_receipts_checkpoint_and_proofs(settings: Settings, tmp_path: Path) -> None:
    assert pmm(settings, "init", "--origin", "cli.example/ledger")[0] == 0
    key = tmp_path / "sec.key"
    assert runner.invoke(app, ["keygen", "sec", "--out", str(key)]).exit_code == 0
    code, receipt = pmm(
        settings,
        "principal",
        "add",
        "sec",
        "--role",
        "secretariat",
        "--public-key",
        str(key),
        "--as",
        "admin",
        "--approve",
        "admin-2",
    )
    assert code == 0 and "c2sp.org/tlog-proof@v1\nindex 1\n" in receipt, receipt
    ledger = open_ledger(settings)
    try:
        trust = parse_policy(f"log {ledger.log_vkey()}\nquorum none\n")
        entry = ledger.sequencer.store.entries(1, 2)[0][1]
    finally:
        ledger.close()
    receipt_text = receipt[receipt.index("c2sp.org") :]
    assert verify_receipt(receipt_text, leaf_hash(entry), trust).receipt.index == 1
    code, note = pmm(settings, "checkpoint")
    assert code == 0 and note.startswith("cli.example/ledger\n2\n"), note
    code, proof = pmm(settings, "prove", "inclusion", "0", "--size", "2")
    assert code == 0 and proof.startswith("c2sp.org/tlog-proof@v1\nindex 0\n")
    code, lines = pmm(settings, "prove", "consistency", "1", "2")
    assert code == 0 and len(lines.split()) == 1 and len(base64.b64decode(lines)) == 32
    code, output = pmm(settings, "prove", "inclusion", "5")
    assert code == 2 and "outside a tree of size 2" in output
    code, output = pmm(settings, "prove", "consistency", "3", "2")
    assert code == 2 and "0 < old <= new" in output


def test_cli_export(settings: Settings, tmp_path: Path) -> None:
    assert pmm(settings, "init")[0] == 0
    code, output = pmm(settings, "export", "--out", str(tmp_path / "log"), "--json")
    assert code == 0 and json.loads(output)["size"] == 1, output
    assert (tmp_path / "log" / "tile" / "entries" / "000.p" / "1").exists()
    code, output = pmm(settings, "export", "--out", str(tmp_path / "log"))
    assert code == 2 and "not empty" in output


def test_cli_verify_catches_a_row_edited_behind_the_ledger(
    settings: Settings, tmp_path: Path
) -> None:
    assert pmm(settings, "init")[0] == 0
    key = tmp_path / "sec.key"
    assert runner.invoke(app, ["keygen", "sec", "--out", str(key)]).exit_code == 0
    assert (
        pmm(
            settings,
            "principal",
            "add",
            "sec",
            "--role",
            "secretariat",
            "--name",
            "Secretariat",
            "--public-key",
            str(key),
            "--as",
            "admin",
            "--approve",
            "admin-2",
        )[0]
        == 0
    )
    code, output = pmm(settings, "verify")
    assert code == 0 and output.startswith("verified "), output
    ledger = open_ledger(settings)
    try:
        store = ledger.sequencer.store
        entry = store.entries(1, 2)[0][1]
        edited = entry.replace(b'"name":"Secretariat"', b'"name":"Secretariaz"')
        assert edited != entry
        with store.transaction(commit=True) as cur:
            cur.execute(
                f"UPDATE {store.events_table} SET state = %s "
                "WHERE originator_id = %s AND originator_version = %s",
                (edited, "registry", 2),
            )
    finally:
        ledger.close()
    code, output = pmm(settings, "verify", "--json")
    assert code == 1, output
    result = json.loads(output)
    assert result["verified"] is False and result["first_failure"]["index"] == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_init_without_origin_gives_each_ledger_its_own(
    settings: Settings, tmp_path: Path
) -> None:
    """Decision 18: a new pmm-ledger.invalid/<16 hex> origin per ledger, usable
    as a C2SP origin line and note key name (no spaces, no '+')."""
    origins = []
    for name in ("one", "two"):
        home = Settings(tmp_path / name)
        code, output = pmm(home, "init", "--json")
        assert code == 0, output
        origin = json.loads(output)["origin"]
        assert re.fullmatch(r"pmm-ledger\.invalid/[0-9a-f]{16}", origin), origin
        ledger = open_ledger(home)
        try:
            assert ledger.origin == origin
            assert ledger.sequencer.checkpoint().startswith(origin + "\n")
        finally:
            ledger.close()
        origins.append(origin)
    assert origins[0] != origins[1]


def test_cli_admins_on_two_machines_approve_by_file(
    settings: Settings, tmp_path: Path
) -> None:
    """admin prints a draft, admin-2 approves it elsewhere, admin records it with
    the approval file; the NCP rotates its own key; the admins recover a lost one."""
    assert pmm(settings, "init", "--origin", "cli.example/two")[0] == 0
    key = tmp_path / "ncp.key"
    assert runner.invoke(app, ["keygen", "ncp-ken", "--out", str(key)]).exit_code == 0
    add = ["principal", "add", "ncp-ken", "--role", "ncp", "--member", "KEN"]
    add += ["--public-key", str(key), "--as", "admin"]
    code, draft = pmm(settings, *add, "--draft")
    assert code == 0 and json.loads(draft)["expected_version"] == 1, draft
    (tmp_path / "draft.json").write_text(draft)
    code, approval = pmm(
        settings, "approve", str(tmp_path / "draft.json"), "--as", "admin-2"
    )
    assert code == 0 and json.loads(approval)["principal"] == "admin-2", approval
    (tmp_path / "approval.json").write_text(approval)
    code, output = pmm(settings, "principal", "list", "--json")
    assert "ncp-ken" not in output  # a draft records nothing
    code, output = pmm(settings, *add, "--approval", str(tmp_path / "approval.json"))
    assert code == 0 and "principal.registered" in output, output
    # The same approval is good at that registry version only.
    code, output = pmm(settings, *add, "--approval", str(tmp_path / "approval.json"))
    assert code == 1 and "ApprovalError" in output and "does not verify" in output
    fresh = tmp_path / "fresh.key"
    assert runner.invoke(app, ["keygen", "ncp-ken", "--out", str(fresh)]).exit_code == 0
    rotate = ["principal", "rotate", "ncp-ken", "--public-key", str(fresh)]
    rotate += ["--reason", "new laptop"]
    code, output = pmm(settings, *rotate, "--as", "admin")
    assert code == 1 and "ConsentError" in output
    code, output = pmm(settings, *rotate, "--as", str(key))
    assert code == 0, output
    lost = tmp_path / "lost.key"
    assert runner.invoke(app, ["keygen", "ncp-ken", "--out", str(lost)]).exit_code == 0
    recover = ["principal", "recover", "ncp-ken", "--public-key", str(lost)]
    recover += ["--reason", "laptop stolen", "--as", "admin"]
    code, output = pmm(settings, *recover)
    assert code == 1 and "needs 2 of the 3" in output
    code, output = pmm(settings, *recover, "--approve", "admin-3")
    assert code == 0 and "principal.key_recovered" in output, output
    code, output = pmm(settings, "principal", "list")
    assert "recovered 1x" in output
    code, output = pmm(settings, "verify")
    assert code == 0 and "key recovered: entry" in output, output
