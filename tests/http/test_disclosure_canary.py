"""No restricted byte leaks, on any read path, at any record time (decision 26).

Canaries — unique restricted numbers and texts — are planted in Kenya's
assessment the ways a leak could happen: a value restricted from the start, a
public value narrowed later, a restricted value corrected to a public one, a
restricted T−1 input of a variation KPI, a restricted status, a not-used
declaration of a restricted KPI, a query message, a comment, a finding, a
flag, a score revision and a reopening, and a correction after it. Then every
endpoint, page and export (and the command line) is crawled as each audience
below ``restricted`` — anonymous, another Member's NCP, a peer reviewer, an
admin — at several record times (the pages too: the assessment's columns at
every record time, each KPI's trail and charts), and no canary's bytes may appear; no score
row they see may have read a restricted value. Readers who may see
restricted values leave an access record per Member for what they saw.
Both backends.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from ledger.keys import KeyPair
from projections.disclosure import disclosure_now

if TYPE_CHECKING:
    from tests.conftest import World

T = 2022
VARIATION, SECRET_KPI = "TF.9.1", "TF.9.2"
RATIO = ("733137331", "999919999")  # restricted from the start
NUMBERS = {
    "narrowed later": "31415.92653",
    "corrected to public": "27.18281828",
    "T-1 input": "16.18033988",
    "after reopening": "14142.13562",
}
TEXTS = [
    "CANARY-COMMENT-3c2d",
    "CANARY-REASON-correction-1f2e",
    "CANARY-JUSTIFY-77aa",
    "CANARY-QUERY-5e1f",
    "CANARY-FINDING-0b9c",
    "CANARY-FLAG-4d4d",
    "CANARY-SUBJECT-6e6e",
    "CANARY-JUSTIFY-SCORE-9c9c",
    "CANARY-REOPEN-8f8f",
    "CANARY-REASON-reopened-2a2a",
    "CANARY-HANDLED-KEN-5a5a",
    "CANARY-HANDLED-NOBODY-6b6b",
    "CANARY-THRESHOLDS-7c7c",
]


def canaries() -> list[str]:
    return [*TEXTS, *RATIO, *NUMBERS.values()]


def plant(world: World) -> dict[str, Any]:
    """Kenya's assessment with every canary; the record times worth reading at."""
    w, ncp, ken = world, world.ncp_ken, world.KEN
    variation = w.kpi_body(
        VARIATION,
        "percent",
        "percentage",
        scoring_method={"method": "variation", "best": "20", "worst": "-20"},
    )
    w.record(w.sec, "framework", "kpi.defined", variation)
    secret = w.kpi_body(SECRET_KPI, "hours", "number", disclosure="restricted")
    w.record(w.sec, "framework", "kpi.defined", secret)
    hours = w.hours(ncp, ken, NUMBERS["narrowed later"])  # public, for now
    numerator, denominator = RATIO
    ratio = w.submit(
        ncp,
        ken,
        w.KPI_RATIO,
        {"denominator": denominator, "numerator": numerator},
        "ratio",
        disclosure="restricted",
        comment="CANARY-COMMENT-3c2d",
    )
    old = w.submit(
        ncp,
        ken,
        w.KPI_PERCENT,
        {"amount": NUMBERS["corrected to public"]},
        "percent",
        disclosure="restricted",
    )
    public = w.value_body(
        w.KPI_PERCENT, {"amount": "50"}, "percent", supersedes=old.stream_version,
        kind="correction", reason="CANARY-REASON-correction-1f2e",
    )  # fmt: skip
    w.record(ncp, ken, "value.corrected", public)
    w.submit(
        ncp, ken, w.KPI_YES_NO, None, "yes_no", status="insufficient_information",
        disclosure="restricted",
    )  # fmt: skip
    w.submit(
        ncp, ken, VARIATION, {"amount": NUMBERS["T-1 input"]}, "percent", year=T - 1,
        disclosure="restricted",
    )  # fmt: skip
    w.submit(ncp, ken, VARIATION, {"amount": "20"}, "percent")
    w.record(ncp, ken, "kpi.not_used", {"kpi": SECRET_KPI, "justification": TEXTS[2]})
    before_narrowing = w.ledger.log_size()
    w.record(
        ncp, ken, "disclosure.set",
        {"disclosure": "restricted", "entry": hours.stream_version},
    )  # fmt: skip
    w.record(
        w.sec2, ken, "value.queried",
        {"entry": ratio.stream_version, "message": "CANARY-QUERY-5e1f"},
    )  # fmt: skip
    w.record(ncp, ken, "submission.completed", {})
    w.record(w.sec, ken, "reviewer.assigned", {"principal": w.reviewer.principal})
    w.record(
        w.reviewer, ken, "review.finding_recorded",
        {"finding": "CANARY-FINDING-0b9c", "kpi": w.KPI_RATIO},
    )  # fmt: skip
    w.record(
        w.officer, ken, "integrity.flag_raised",
        {"entry": ratio.stream_version, "message": TEXTS[5], "subject": TEXTS[6]},
    )  # fmt: skip
    # The integrity officers' own stream: about Kenya, and about no Member.
    flag = f"changed_after_validation:{ratio.log_index}"
    w.record(
        w.officer, "integrity", "integrity.flag_handled",
        {"flag": flag, "action": "escalated", "reason": TEXTS[10], "member": ken[11:14]},
    )  # fmt: skip
    w.record(
        w.officer, "integrity", "integrity.flag_handled",
        {"flag": "key_recovered:0", "action": "acknowledged", "reason": TEXTS[11]},
    )  # fmt: skip
    w.record(
        w.officer, "integrity", "integrity.thresholds_set",
        {"version": 1, "thresholds": {"burst": {"count": "5"}}, "reason": TEXTS[12]},
    )  # fmt: skip
    w.record(
        w.sec, ken, "score.revised",
        {"justification": TEXTS[7], "kpi": w.KPI_RATIO, "reference_year": T,
         "score": "61"},
    )  # fmt: skip
    first = w.record(w.sec, ken, "assessment.published", w.publication(ken))
    w.record(w.sec, ken, "assessment.reopened", {"kpis": [w.KPI_HOURS], "reason": TEXTS[8]})
    reopened = w.value_body(
        w.KPI_HOURS, {"amount": NUMBERS["after reopening"]}, "hours",
        disclosure="restricted", supersedes=hours.stream_version, kind="correction",
        reason=TEXTS[9],
    )  # fmt: skip
    w.record(ncp, ken, "value.corrected", reopened)
    w.record(ncp, ken, "submission.completed", {})
    w.record(w.sec, ken, "assessment.published", w.publication(ken))
    recorded_at = json.loads(w.ledger.sequencer.store.entry(first.log_index))
    return {
        "sizes": [0, before_narrowing, first.log_index, w.ledger.log_size()],
        "as_of": recorded_at["recorded_at"],
    }


def restricted_entries(world: World) -> set[int]:
    """Log indexes of Kenya's value entries restricted now."""
    now = disclosure_now(world.ledger, world.KEN)
    store = world.ledger.sequencer.store
    found = set()
    for index, raw in store.stream_entries([world.KEN], store.size()):
        entry = json.loads(raw)
        value = entry["entry_type"] in ("value.submitted", "value.corrected")
        if value and now.value(entry["stream_version"]) == "restricted":
            found.add(index)
    return found


def requests(marks: dict[str, Any]) -> list[str]:
    """Every read path, at every record time worth asking."""
    q = f"member=KEN&year={T}"
    times = [f"at_size={n}" for n in marks["sizes"][1:]]
    times += [f"as_of={marks['as_of']}", "published=1@1", "published=1@2", ""]
    starts = [f"size:{n}" for n in marks["sizes"]]
    paths = [f"/scores?{q}&{t}" for t in times]
    paths += [f"/exports/scores.{f}?{q}&{t}" for t in times for f in ("csv", "parquet")]
    paths += [f"/history?{q}", f"/exports/history.csv?{q}", f"/exports/history.parquet?{q}"]
    paths += [f"/diff?{q}&from={s}" for s in starts]
    paths += [f"/diff?{q}&from=size:0&to={s}" for s in starts[1:]]
    paths += [f"/exports/diff.{f}?{q}&from={s}" for s in starts for f in ("csv", "parquet")]
    paths += [f"/ui/scores?{q}&{t}" for t in times] + [f"/ui/history?{q}"]
    paths += [f"/ui/diff?{q}&from={s}" for s in starts] + ["/ui/", "/ui/framework"]
    # The audit pages: both columns at every record time, every KPI's trail.
    picks = [f"by=size&at_size={n}" for n in marks["sizes"][1:]]
    picks += [f"by=date&as_of={marks['as_of']}", ""]
    paths += [f"/ui/assessment?{q}&published=1@{n}&{t}" for n in (1, 2) for t in picks]
    kpis = (VARIATION, SECRET_KPI, "TF.1.1", "TF.1.2", "TF.1.3", "TF.1.4")
    paths += [f"/ui/trail?{q}&kpi={k}" for k in kpis] + ["/ui/access-log"]
    paths += ["/framework", "/whoami", "/checkpoint", "/openapi.json", "/access-log"]
    paths += ["/events?limit=500", "/events?member=KEN&limit=500"]
    paths += [
        f"/events?kpi=TF.1.3&limit=500&year={T}",
        f"/tile/entries/000.p/{marks['sizes'][-1]}",
    ]
    # The red flags name restricted entries and quote their numbers: officers
    # and the Secretariat only, at every record time (docs/flags.md).
    paths += ["/flags", "/flags?member=KEN", "/ui/flags", "/ui/flags?member=KEN"]
    paths += [f"/flags?at_size={n}" for n in marks["sizes"][1:]]
    return paths


def text_of(response: Any, path: str) -> str:
    if ".parquet" in path and response.status_code == 200:
        return str(pd.read_parquet(io.BytesIO(response.content)).to_csv())
    return str(response.content.decode("utf-8", "replace"))


def leaks(text: str) -> list[str]:
    return [canary for canary in canaries() if canary in text]


AUDIENCES = ("anonymous", "ncp-bra", "reviewer", "admin")


def headers(world: World, who: str) -> dict[str, str]:
    keys = {"ncp-bra": world.ncp_bra, "reviewer": world.reviewer, "admin": world.admin}
    return {} if who == "anonymous" else world.bearer(keys[who])


@pytest.mark.parametrize("who", AUDIENCES)
def test_no_canary_reaches_a_reader_below_restricted(
    world: World, client: TestClient, who: str
) -> None:
    marks = plant(world)
    restricted = restricted_entries(world)
    assert len(restricted) >= 6, restricted
    for path in requests(marks):
        response = client.get(path, headers=headers(world, who))
        assert response.status_code < 500, (path, response.text)
        refused = ("/ui/access-log", "/ui/flags")  # pages for some roles only
        if path.startswith("/ui/") and not path.startswith(refused):  # read, not refused
            assert response.status_code == 200, (path, response.text)
        found = leaks(text_of(response, path))
        assert not found, f"{who} read {found} at {path}"
        if path.startswith("/scores?") and response.status_code == 200:
            for row in response.json()["rows"]:
                read = {int(i) for i in row["sources"].split()}
                assert not read & restricted, (who, path, row)
    # The last page of /events was complete: every entry was crawled.
    last = client.get("/events?limit=500", headers=headers(world, who))
    if who != "anonymous":
        assert last.json()["complete"]


@pytest.mark.parametrize("who", ["anonymous", "reviewer"])
def test_no_canary_on_the_command_line(world: World, tmp_path: Path, who: str) -> None:
    marks = plant(world)
    settings = world.ledger.settings
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "250"}
    reader: list[str] = []
    if who == "reviewer":
        key = tmp_path / "reviewer.key"
        world.reviewer.save(key)
        reader = ["--as", str(key)]
    base = ["--member", "KEN", "--year", str(T), *reader, "--home", str(settings.home)]
    commands = [["scores", *base], ["history", *base]]
    commands += [["scores", *base, "--at-size", str(n)] for n in marks["sizes"][1:]]
    commands += [["scores", *base, "--published", "1@1"]]
    commands += [["diff", *base, "--from", f"size:{n}"] for n in marks["sizes"]]
    for n, command in enumerate(commands):
        for extra in ([], ["--json"]):
            result = CliRunner().invoke(app, [*command, *extra], env=env)
            assert result.exit_code == 0, (command, result.output)
            assert not leaks(result.output), (command, leaks(result.output))
        for suffix in (".csv", ".xlsx", ".parquet"):
            out = tmp_path / f"out-{n}{suffix}"
            CliRunner().invoke(app, [*command, "--out", str(out)], env=env)
            assert not leaks(file_text(out)), (command, suffix)


def file_text(path: Path) -> str:
    """Every cell of an export, as text (Parquet and XLSX compress or zip it)."""
    if path.suffix == ".csv":
        return path.read_text(encoding="utf-8")
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path).active
        assert sheet is not None
        return " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row)
    return str(pd.read_parquet(path).to_csv())


def test_full_readers_see_them_and_each_read_is_logged_with_its_member(
    world: World, client: TestClient
) -> None:
    marks = plant(world)
    officer = world.bearer(world.officer)
    seen = ""
    for path in requests(marks):
        response = client.get(path, headers=officer)
        assert response.status_code < 500, (path, response.text)
        seen += text_of(response, path)
    missing = [c for c in canaries() if c not in seen]
    assert not missing, f"an integrity officer could not read {missing}"
    records = []
    cursor: int | None = 0
    while cursor is not None:
        page = client.get("/access-log", params={"cursor": cursor}, headers=officer).json()
        records += page["records"]
        cursor = page["next_cursor"]
    requests_logged = {r["request"].split("?")[0] for r in records}
    bundle = f"GET /tile/entries/000.p/{marks['sizes'][-1]}"
    assert {"GET /events", bundle, "GET /scores"} <= requests_logged
    assert {"GET /ui/assessment", "GET /ui/trail", "GET /ui/history"} <= requests_logged
    assert {r["member"] for r in records} == {"KEN", None}
    # Only the integrity stream's flag handling about no Member is logged
    # without one, and only by the reads across streams that show it.
    nobody = {r["request"].split("?")[0] for r in records if r["member"] is None}
    assert nobody <= {"GET /events", bundle, "GET /entries"}, nobody
    flagged = [
        r for r in records if r["request"].split("?")[0] in ("GET /flags", "GET /ui/flags")
    ]
    assert flagged and all(r["member"] == "KEN" for r in flagged)
    # A Secretariat principal and KEN's own NCP see them too; BRA's NCP does not.
    for key in (world.sec, world.ncp_ken):
        ratio = client.get(f"/history?member=KEN&year={T}", headers=world.bearer(key))
        assert RATIO[0] in ratio.text


def test_one_reader_check_decides_for_every_path(world: World) -> None:
    """A KEN value narrowed after a record time is withheld at that record time:
    the scores, history and diff of the past use the level of now."""
    marks = plant(world)
    before = marks["sizes"][1]
    now = disclosure_now(world.ledger, world.KEN)
    hours = next(
        e
        for e, (kpi, year, _) in now.values.items()
        if kpi == world.KPI_HOURS and year == T
    )
    assert now.value(hours) == "restricted"
    settings = world.ledger.settings
    runner = CliRunner()
    env = {"PMM_DATABASE_URL": settings.database_url or "", "COLUMNS": "250"}
    result = runner.invoke(
        app,
        ["scores", "--member", "KEN", "--year", str(T), "--at-size", str(before), "--json",
         "--home", str(settings.home)],
        env=env,
    )  # fmt: skip
    rows = {r["code"]: r for r in json.loads(result.stdout)["rows"]}
    assert world.KPI_HOURS not in rows  # public then, restricted now: withheld
    key = KeyPair.generate("unregistered")
    path = settings.home / "keys" / "unregistered.key"
    key.save(path)
    refused = runner.invoke(
        app, ["scores", "--member", "KEN", "--year", str(T), "--as", str(path),
              "--home", str(settings.home)], env=env,
    )  # fmt: skip
    assert refused.exit_code == 2 and "not an active principal" in refused.output


def test_the_validation_dialogue_stays_between_member_and_secretariat(
    world: World, client: TestClient
) -> None:
    """A query about a *public* value is still the Member's and the Secretariat's:
    another Member's NCP and a peer reviewer see that it was asked, not what."""
    public = world.hours(world.ncp_ken, world.KEN, "12")
    message = "CANARY-PUBLIC-QUERY-4b4b: please check the unit"
    world.record(
        world.sec2, world.KEN, "value.queried",
        {"entry": public.stream_version, "message": message},
    )  # fmt: skip
    params = {"member": "KEN", "type": "value.queried"}
    for key, sees in [
        (world.ncp_bra, False),
        (world.reviewer, False),
        (world.ncp_ken, True),
        (world.officer, True),
    ]:
        page = client.get("/events", params=params, headers=world.bearer(key)).json()
        [event] = page["events"]
        assert (message in json.dumps(event)) is sees, key.principal
        if not sees:
            assert event["withheld"] and event["body"] == {"entry": public.stream_version}


PEER_CANARY = "86420.13579"


@pytest.mark.parametrize("who", ["anonymous", "reviewer", "admin", "ncp-ken"])
def test_a_peers_restricted_value_is_counted_never_drawn(
    world: World, client: TestClient, who: str
) -> None:
    """BRA's restricted hours sit beside KEN's public ones on KEN's trail page:
    every reader below restricted for BRA — KEN's own NCP included — sees it
    counted as withheld, never its number; an integrity officer and BRA's own
    NCP see it, and each read is logged under BRA, not KEN."""
    world.hours(world.ncp_ken, world.KEN, "12")
    world.hours(world.ncp_bra, world.BRA, PEER_CANARY, disclosure="restricted")
    path = f"/ui/trail?member=KEN&year={T}&kpi={world.KPI_HOURS}"
    key = {"ncp-ken": world.ncp_ken}.get(who)
    shown = client.get(path, headers=world.bearer(key) if key else headers(world, who))
    assert shown.status_code == 200, shown.text
    assert PEER_CANARY not in shown.text and "withheld (1)" in shown.text
    officer = world.bearer(world.officer)
    for full in (world.officer, world.ncp_bra):
        assert PEER_CANARY in client.get(path, headers=world.bearer(full)).text
    records = client.get("/access-log", headers=officer).json()["records"]
    assert [(r["principal"], r["member"], r["request"]) for r in records] == [
        (p, "BRA", f"GET {path}") for p in ("integrity", "ncp-bra")
    ]
