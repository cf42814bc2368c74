"""The assessment, trail and access-log pages on SQLite and PostgreSQL, read as
each audience: three columns (as published, at a record time, what changed)
with withheld scores reading "withheld", never a number; a value's trail with
actors, receipts and offline downloads; the access log for integrity officers
only; every restricted value a page shows written to the access log first;
and better or worse said by each KPI's direction (a drop in score is never
called better)."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

import pytest
from fastapi.testclient import TestClient

from api.web import views_access

if TYPE_CHECKING:
    from ledger.keys import KeyPair
    from tests.conftest import World


class Assessment(TypedDict):
    member: str
    year: str


KEN: Assessment = {"member": "KEN", "year": "2022"}  # the pages' parameters
QUERY: dict[str, str | int] = {"member": "KEN", "year": 2022}  # the JSON API's
LOWER = "TF.2.1"  # hours, lower is better
DIGEST = "ab" * 32


def get(
    client: TestClient,
    path: str,
    key: KeyPair | None = None,
    world: World | None = None,
    /,
    *,
    status: int = 200,
    **params: str,
) -> str:
    headers = world.bearer(key) if key is not None and world is not None else {}
    # (httpx drops a path's own query string when given params, even empty ones)
    response = client.get(path, params=params or None, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return str(response.text)


def scenario(world: World) -> dict[str, Any]:
    """KEN: hours 12 (public), a percentage (wco), a ratio (restricted) with
    evidence; published; reopened; hours corrected to 80 with a reason. BRA
    submits hours 30 (public) and a ratio (restricted)."""
    ncp = world.ncp_ken
    values = world.one_of_each_disclosure()
    world.hours(world.ncp_bra, world.BRA, "30")
    world.submit(
        world.ncp_bra, world.BRA, world.KPI_RATIO, {"denominator": "2", "numerator": "1"},
        "ratio", disclosure="restricted",
    )  # fmt: skip
    world.record(ncp, world.KEN, "submission.completed", {})
    published = world.record(
        world.sec, world.KEN, "assessment.published", world.publication(world.KEN)
    )
    world.record(
        world.sec2, world.KEN, "assessment.reopened",
        {"kpis": [world.KPI_HOURS], "reason": "Member found an error"},
    )  # fmt: skip
    corrected = world.record(
        ncp, world.KEN, "value.corrected",
        world.value_body(
            world.KPI_HOURS, {"amount": "80"}, "hours", kind="correction",
            reason="counted in days", supersedes=values["public"].stream_version,
            evidence=[DIGEST],
        ),
    )  # fmt: skip
    validated = world.record(
        world.sec2, world.KEN, "value.validated", {"entry": corrected.stream_version}
    )
    return {
        **values,
        "published": published,
        "corrected": corrected,
        "validated": validated,
    }


def api_score(client: TestClient, code: str, **params: str) -> str:
    """The JSON API's score of ``code`` for an anonymous reader (the pages' oracle)."""
    query: dict[str, str | int] = {**QUERY, **params}
    rows = client.get("/scores", params=query).json()["rows"]
    return str(next(r["score"] for r in rows if r["code"] == code))


def access_records(world: World, client: TestClient) -> list[dict[str, Any]]:
    page = client.get("/access-log", headers=world.bearer(world.officer)).json()
    return list(page["records"])


def test_assessment_shows_published_now_and_what_changed(
    world: World, client: TestClient
) -> None:
    marks = scenario(world)
    text = get(client, "/ui/assessment", **KEN)
    start = rf'<tr class="level-kpi">\s*<th scope="row"><a [^>]*>{world.KPI_HOURS}</a>'
    row = re.search(start + r"(.*?)</tr>", text, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    then, now = (api_score(client, world.KPI_HOURS, **p) for p in ({"published": "1"}, {}))
    assert [c.strip() for c in cells[:2]] == [then, now] and then != now
    assert (
        f"+{Decimal(now) - Decimal(then)}" in cells[2]
        and "▲ better" in cells[2]
        and 'class="trend better"' in cells[2]
    )
    cut = marks["published"].log_index
    assert f"from=size%3A{cut}" in cells[2]  # why: the diff from the cut to now
    assert f"KPI {world.KPI_HOURS}" in text  # the KPI's name from the framework
    assert "EO.1" in text and "Goods are released quickly" in text
    for code in (world.KPI_RATIO, world.KPI_PERCENT):  # withheld from anonymous readers
        hidden = re.search(rf">{code}</a>.*?</tr>", text, re.S)
        assert hidden is not None and hidden.group(0).count(">withheld<") == 3
    withheld = client.get("/scores", params=QUERY).json()["withheld"]
    assert withheld >= 3  # the two KPIs, and the outcome and dimension that read them
    assert f"<strong>withheld ({withheld})</strong> at the record time" in text
    # The dimension's group: every withheld score but the overall, which is above it.
    assert f'<small class="withheld">withheld ({withheld - 1})</small>' in text
    assert "3 / 4" not in text
    assert not access_records(world, client)  # nothing restricted was shown


def test_full_readers_see_everything_and_their_read_is_logged(
    world: World, client: TestClient
) -> None:
    scenario(world)
    text = get(client, "/ui/assessment", world.officer, world, **KEN)
    ratio = re.search(rf">{world.KPI_RATIO}</a>.*?</tr>", text, re.S)
    assert ratio is not None and "withheld" not in ratio.group(0)
    assert "Nothing is withheld." in text
    [record] = [r for r in access_records(world, client) if "/ui/" in r["request"]]
    assert record["request"].startswith("GET /ui/assessment?member=KEN")
    assert record["member"] == "KEN" and f"score kpi {world.KPI_RATIO}" in record["shown"]
    assert record["principal"] == world.officer.principal
    # Another Member's NCP sees the wco percentage, not the restricted ratio.
    bra = get(client, "/ui/assessment", world.ncp_bra, world, **KEN)
    percent = re.search(rf">{world.KPI_PERCENT}</a>.*?</tr>", bra, re.S)
    ratio = re.search(rf">{world.KPI_RATIO}</a>.*?</tr>", bra, re.S)
    assert percent is not None and "withheld" not in percent.group(0)
    assert ratio is not None and ratio.group(0).count(">withheld<") == 3


def test_the_record_time_control_works_without_script(
    world: World, client: TestClient
) -> None:
    marks = scenario(world)
    text = get(client, "/ui/assessment", **KEN)
    size = world.ledger.log_size()
    cut = marks["published"].log_index
    assert '<form class="query record-time" action="/ui/assessment" method="get">' in text
    assert '<input type="date" name="as_of"' in text
    assert f'<input type="range" name="at_size" min="0" max="{size}"' in text
    assert f'<option value="{cut}">' in text  # a tick at each publication's cut
    assert '<button type="submit" name="by" value="date">' in text
    assert '<button type="submit" name="by" value="size">' in text
    # The slider at the cut: both columns read the same table, nothing changed.
    at_cut = get(client, "/ui/assessment", **KEN, by="size", at_size=str(cut), as_of="")
    assert 'class="trend better"' not in at_cut and f"at log size {cut}" in at_cut
    # A date before anything: the date wins when its button is pressed.
    dated = get(
        client,
        "/ui/assessment",
        status=404,
        **KEN,
        by="date",
        as_of="2000-01-01",
        at_size="3",
    )
    assert "was not yet opened as recorded at 2000-01-01" in dated
    both = get(client, "/ui/assessment", status=400, **KEN, as_of="2000-01-01", at_size="3")
    assert "name one record time" in html.unescape(both)
    wrong = get(client, "/ui/assessment", status=400, **KEN, by="moon")
    assert "choose by=date or by=size" in html.unescape(wrong)


def lower_is_better(world: World) -> int:
    """A KPI whose values are better lower, corrected from 12 hours to 80."""
    body = world.kpi_body(
        LOWER, "hours", "number", direction="lower_is_better",
        scoring_method={"method": "linear", "best": "0", "worst": "100"},
    )  # fmt: skip
    world.record(world.sec, "framework", "kpi.defined", body)
    first = world.submit(world.ncp_ken, world.KEN, LOWER, {"amount": "12"}, "hours")
    before = world.ledger.log_size()
    world.record(
        world.ncp_ken, world.KEN, "value.corrected",
        world.value_body(LOWER, {"amount": "80"}, "hours", kind="correction",
                         reason="re-measured", supersedes=first.stream_version),
    )  # fmt: skip
    return before


def test_a_rise_in_a_lower_is_better_value_and_a_drop_in_score_are_worse(
    world: World, client: TestClient
) -> None:
    before = lower_is_better(world)
    text = get(client, f"/ui/diff?member=KEN&year=2022&from=size:{before}")
    value = re.search(r"<tr id=\"i\d+\">(?:(?!</tr>).)*re-measured.*?</tr>", text, re.S)
    assert value is not None
    assert (
        '<span class="new">80</span> <span class="trend worse">▼ worse</span>'
        in value.group(0)
    )
    score = re.search(rf'<th scope="row">{LOWER}</th>.*?</tr>', text, re.S)
    assert score is not None  # score 100 - value: it fell, and says so
    assert 'class="trend better"' not in score.group(0)
    assert '<span class="old">88.00</span>' in score.group(0)  # 100 - 12 hours
    assert '<span class="trend worse">▼ worse</span>' in score.group(0)
    assert "trend better" not in text


def test_trail_lists_every_entry_with_actor_receipt_and_downloads(
    world: World, client: TestClient
) -> None:
    marks = scenario(world)
    text = get(client, "/ui/trail", **KEN, kpi=world.KPI_HOURS)
    shown = html.unescape(text)
    corrected, validated = marks["corrected"].log_index, marks["validated"].log_index
    row = re.search(rf'<tr id="i{corrected}">.*?</tr>', text, re.S)
    assert row is not None
    assert "ncp-ken" in row.group(0) and "ncp" in row.group(0)
    assert "counted in days" in row.group(0) and DIGEST[:12] in row.group(0)
    assert f'href="/receipts/{corrected}"' in row.group(0)
    assert ">entry bundle</a>" not in text  # only full readers may download bundles
    assert f'<tr id="i{validated}">' in text and "sec2" in shown and "secretariat" in shown
    assert f'<tr id="i{marks["published"].log_index}"' in text
    # Two history charts (T−1 and T) and the peers' distribution.
    svgs = re.findall(r"<svg .*?</svg>", text, re.S)
    assert len(svgs) == 3 and all("<title id=" in s and "<desc id=" in s for s in svgs)
    assert "correction" in svgs[1] and "mark validated" in svgs[1]
    assert "BRA: 30" in svgs[2] and "withheld (0)" in svgs[2]
    # The ratio: BRA's is restricted, so counted at the peers, never drawn.
    ratio = get(client, "/ui/trail", **KEN, kpi=world.KPI_RATIO)
    assert "3 / 4" not in ratio and "1 / 2" not in ratio
    peers = re.findall(r"<svg .*?</svg>", ratio, re.S)[2]
    assert "withheld (1)" in peers and "<circle" not in peers
    officer = get(client, "/ui/trail", world.officer, world, **KEN, kpi=world.KPI_RATIO)
    assert (
        "3 / 4" in officer
        and "entry bundle" in officer
        and "/tile/entries/000.p/" in officer
    )
    assert "BRA: 1 / 2" in officer
    logged = {
        r["member"]: r for r in access_records(world, client) if "/ui/trail" in r["request"]
    }
    assert set(logged) == {"KEN", "BRA"}  # each Member whose restricted value was shown


def test_a_withheld_entry_shows_no_value_and_no_text(
    world: World, client: TestClient
) -> None:
    scenario(world)
    secret = "CANARY-TRAIL-REASON-7f7f"
    entry = world.submit(
        world.ncp_bra, world.BRA, world.KPI_YES_NO, {"answer": True}, "yes_no",
        disclosure="restricted", comment=secret,
    )  # fmt: skip
    text = get(client, "/ui/trail", member="BRA", year="2022", kpi=world.KPI_YES_NO)
    row = re.search(rf'<tr id="i{entry.log_index}" class="withheld">.*?</tr>', text, re.S)
    assert row is not None and row.group(0).count("withheld") >= 2
    assert secret not in text and ">yes<" not in text
    assert "withheld (1)" in text


def test_access_log_page_is_for_integrity_officers(
    world: World, client: TestClient
) -> None:
    scenario(world)
    anonymous = html.unescape(get(client, "/ui/access-log", status=401))
    assert "Sign in to read this page." in anonymous
    refused = html.unescape(get(client, "/ui/access-log", world.ncp_ken, world, status=403))
    assert "integrity_officer" in refused and "ncp-ken" in refused
    for key in (world.sec, world.ncp_ken, world.sec2):
        get(client, "/ui/history", key, world, **KEN)
    text = get(client, "/ui/access-log", world.officer, world)
    assert text.count('<th scope="row">') == 3 and "GET /ui/history?member=KEN" in text
    mine = get(client, "/ui/access-log", world.officer, world, principal="ncp-ken")
    assert mine.count('<th scope="row">') == 1
    assert get(client, "/ui/access-log", world.officer, world, member="bra").count(
        '<th scope="row">'
    ) == 0  # fmt: skip
    later = get(client, "/ui/access-log", world.officer, world, since="2999-01-01")
    assert "No access record matches." in later
    bad = get(client, "/ui/access-log", world.officer, world, status=400, since="soon")
    assert "'soon' is not a time" in html.unescape(bad)


def test_access_log_pages_follow_the_sequence(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario(world)
    for _ in range(3):
        get(client, "/ui/history", world.sec, world, **KEN)
    monkeypatch.setattr(views_access, "PAGE", 2)
    total = len(access_records(world, client))
    assert total >= 3
    seen, path, pages = [], "/ui/access-log", 0
    while path:
        text = get(client, path, world.officer, world)
        seen += re.findall(r'<th scope="row">(\d+)</th>', text)
        assert ("First page" in text) is (pages > 0)
        found = re.search(r'<a href="(/ui/access-log\?cursor=\d+)" rel="next">', text)
        path, pages = html.unescape(found.group(1)) if found else "", pages + 1
    assert seen == [str(n) for n in range(total)]  # every record once, in order
    assert pages == (total + 1) // 2
