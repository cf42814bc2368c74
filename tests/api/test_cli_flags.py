"""``pmm flags``: reading, handling and thresholds on the command line, both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from api.demo import run_demo
from api.flag_defaults import PACKAGED_FILE
from api.http import create_app
from ledger.home import open_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.persistence import Settings
from ledger.tokens import issue_token

if TYPE_CHECKING:
    from tests.conftest import World

runner = CliRunner()


def pmm(world: World, *args: str) -> tuple[int, str]:
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "250"}
    result = runner.invoke(app, [*args, "--home", str(settings.home)], env=env)
    return result.exit_code, result.output


def key_file(key: KeyPair, tmp_path: Path) -> str:
    path = tmp_path / f"{key.principal}.key"
    key.save(path)
    return str(path)


def jump(world: World) -> None:
    """KEN's restricted hours go from 10 to 100 (a jump flag); BRA's stay."""
    world.hours(world.ncp_ken, world.KEN, "10", year=2021, disclosure="restricted")
    world.hours(world.ncp_ken, world.KEN, "100")
    world.hours(world.ncp_bra, world.BRA, "10", year=2021)
    world.hours(world.ncp_bra, world.BRA, "12")


def test_flags_are_read_by_officers_and_the_secretariat(
    world: World, tmp_path: Path
) -> None:
    jump(world)
    officer = key_file(world.officer, tmp_path)
    code, output = pmm(world, "flags", "--as", officer, "--json")
    assert code == 0, output
    report = json.loads(output)
    [flag] = report["flags"]
    assert flag["rule"] == "jump_history" and flag["member"] == "KEN"
    assert report["thresholds"]["label"] == (
        "thresholds: packaged v1, not recorded in the ledger"
    )
    code, output = pmm(world, "flags", "--as", key_file(world.sec, tmp_path))
    assert code == 0 and flag["id"] in output
    assert "thresholds: packaged v1, not recorded in the ledger" in output
    # Each read named the restricted flag in the access log, under KEN.
    records = world.ledger.access_log.query(member="KEN").records
    assert [r["shown"] for r in records] == [[f"flag {flag['id']}"]] * 2
    assert all(r["request"].startswith("pmm flags --as") for r in records)
    for key in (world.ncp_ken, world.reviewer, world.admin):
        code, output = pmm(world, "flags", "--as", key_file(key, tmp_path))
        assert code == 2 and "integrity_officer or secretariat" in output, output
    code, output = pmm(world, "flags")
    assert code == 2 and "--as KEY" in output
    assert len(world.ledger.access_log.query().records) == 2


def test_filters(world: World, tmp_path: Path) -> None:
    jump(world)
    officer = key_file(world.officer, tmp_path)
    for args, count in [
        (["--member", "KEN"], 1),
        (["--member", "bra"], 0),
        (["--rule", "jump_history"], 1),
        (["--rule", "burst"], 0),
        (["--status", "open"], 1),
        (["--status", "escalated"], 0),
        (["--severity", "low"], 1),
        (["--severity", "high"], 0),
    ]:
        code, output = pmm(world, "flags", "--as", officer, "--json", *args)
        assert code == 0, output
        assert len(json.loads(output)["flags"]) == count, args
    code, output = pmm(world, "flags", "--as", officer, "--rule", "nonsense")
    assert code == 2 and "is not a rule" in output


def test_acknowledge_then_escalate(world: World, tmp_path: Path) -> None:
    jump(world)
    officer = key_file(world.officer, tmp_path)
    _, output = pmm(world, "flags", "--as", officer, "--json")
    flag = json.loads(output)["flags"][0]["id"]
    reason = "The Member confirmed the new counting method."
    acknowledge = ["flags", "acknowledge", flag, "--reason", reason, "--as", officer]
    code, output = pmm(world, *acknowledge)
    assert code == 0, output
    assert "recorded integrity.flag_handled as integrity version 1" in output
    assert "c2sp.org/tlog-proof@v1" in output  # the receipt, as pmm submit prints it
    _, output = pmm(world, "flags", "--as", officer, "--json", "--status", "acknowledged")
    [shown] = json.loads(output)["flags"]
    assert shown["handling"]["by"] == "integrity" and shown["handling"]["reason"] == reason
    code, output = pmm(world, *acknowledge)
    assert code == 1 and "ConflictError" in output and "already acknowledged" in output
    code, output = pmm(
        world, "flags", "escalate", flag, "--reason", "Evidence missing.", "--as", officer
    )
    assert code == 0, output
    _, output = pmm(world, "flags", "--as", officer, "--json", "--status", "escalated")
    assert [f["id"] for f in json.loads(output)["flags"]] == [flag]
    # Only an integrity officer handles flags; an unknown flag is refused first.
    sec = key_file(world.sec, tmp_path)
    code, output = pmm(world, "flags", "acknowledge", flag, "--reason", "x", "--as", sec)
    assert code == 1 and "RoleNotPermittedError" in output
    unknown = ["flags", "escalate", "burst:1,2", "--reason", "x", "--as", officer]
    code, output = pmm(world, *unknown)
    assert code == 2 and "no rule raises flag 'burst:1,2'" in output


def test_thresholds_apply(world: World, tmp_path: Path) -> None:
    jump(world)
    officer = key_file(world.officer, tmp_path)
    tuned = tmp_path / "flags-v2.toml"
    tuned.write_text(
        PACKAGED_FILE.read_text(encoding="utf-8")
        .replace("version = 1", "version = 2")
        .replace('factor = "10"', 'factor = "20"')
    )
    code, output = pmm(world, "flags", "thresholds", "apply", str(tuned), "--as", officer)
    assert code == 0 and "recorded integrity.thresholds_set" in output, output
    index = world.ledger.log_size() - 1
    _, output = pmm(world, "flags", "--as", officer, "--json")
    report = json.loads(output)
    assert report["thresholds"] == {
        "version": 2,
        "recorded_at": index,
        "label": f"thresholds: v2, recorded at log index {index}",
    }
    assert report["flags"] == []  # x10 is under the new factor
    _, output = pmm(world, "flags", "--as", officer, "--json", "--at-size", str(index))
    assert len(json.loads(output)["flags"]) == 1  # before it: the packaged factor
    code, output = pmm(world, "flags", "thresholds", "apply", str(tuned), "--as", officer)
    assert code == 1 and "not after the recorded version 2" in output
    broken = tmp_path / "broken.toml"
    broken.write_text("version = 3\n[burst]\ncount = 5\n")
    code, output = pmm(world, "flags", "thresholds", "apply", str(broken), "--as", officer)
    assert code == 2 and "burst.count" in output and "table deadline is missing" in output


def test_the_demo_shows_its_planted_irregularity(settings: Settings) -> None:
    run_demo(settings)
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "250"}
    home = ["--home", str(settings.home), "--as", "integrity-1", "--json"]
    result = runner.invoke(app, ["flags", *home], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["thresholds"]["label"].startswith("thresholds: v1, recorded at")
    high = [f for f in report["flags"] if f["severity"] == "high"]
    assert {f["rule"] for f in high} == {"changed_after_validation", "late_change"}
    assert {(f["member"], f["principals"][0]) for f in high} == {("CHL", "wco-sec")}
    rules = {f["rule"] for f in report["flags"]}
    assert {"same_party", "score_revision", "key_recovered", "deadline"} <= rules


def test_the_planted_irregularity_surfaces_in_the_api_the_page_and_the_report(
    settings: Settings, tmp_path: Path
) -> None:
    """The demo's planted change (a validated value halved by the Secretariat
    just before publication) is a high flag in ``GET /flags``, on ``/ui/flags``
    and in Chile's audit report, as it is in ``pmm flags`` (above)."""
    run_demo(settings)
    ledger = open_ledger(settings)
    try:
        officer = resolve_key(settings, "integrity-1")
        token = {"Authorization": f"Bearer {issue_token(officer, ledger.origin)}"}
        with TestClient(create_app(settings, ledger=ledger)) as client:
            found = client.get("/flags?member=CHL&severity=high", headers=token).json()
            planted = next(
                f for f in found["flags"] if f["rule"] == "changed_after_validation"
            )
            assert planted["principals"][0] == "wco-sec"
            assert planted["handling"]["status"] == "escalated"
            page = client.get("/ui/flags?member=CHL", headers=token).text
            assert planted["id"] in page and "escalated" in page
    finally:
        ledger.close()
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "250"}
    args = ["report", "--member", "CHL", "--year", "2022", "--as", "integrity-1"]
    out = ["--out", str(tmp_path), "--json", "--home", str(settings.home)]
    result = runner.invoke(app, [*args, *out], env=env)
    assert result.exit_code == 0, result.output
    html = Path(json.loads(result.output)["html"]).read_text()
    assert planted["id"] in html and "referred to the audit committee" in html
    assert "KPI-06, T (2022)" in html  # the flagged KPI's history is drawn
