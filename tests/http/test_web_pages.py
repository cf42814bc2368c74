"""The ``/ui`` pages on SQLite and PostgreSQL: HTML for the request's reader that
shows what its audience allows and says how many rows it withholds, makes "as published
then", "as corrected now" and "what changed" one click apart, answers a
refusal as an HTML page with the error's status, and escapes every value."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from tests.conftest import World

HOSTILE = "<script>alert('pmm')</script> hours were counted in days"
KEN = {"member": "KEN", "year": "2022"}


def page(client: TestClient, path: str, status: int = 200, /, **params: Any) -> str:
    """The page's HTML, after checking its status and media type."""
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return str(response.text)


def visible_text(markup: str) -> str:
    """What a reader sees of attribute-free text: entities decoded."""
    return html.unescape(markup)


def published_then_corrected(world: World) -> dict[str, Any]:
    """KEN submits hours 12 (public), a percentage (wco) and a ratio (restricted),
    is published, reopened, and corrects the hours to 80 with a hostile reason."""
    ncp = world.ncp_ken
    hours = world.one_of_each_disclosure()["public"]
    world.record(ncp, world.KEN, "submission.completed", {"note": "done"})
    published = world.record(
        world.sec, world.KEN, "assessment.published", world.publication(world.KEN)
    )
    world.record(
        world.sec2,
        world.KEN,
        "assessment.reopened",
        {"kpis": [world.KPI_HOURS], "reason": "Member found an error"},
    )
    corrected = world.record(
        ncp,
        world.KEN,
        "value.corrected",
        world.value_body(
            world.KPI_HOURS,
            {"amount": "80"},
            "hours",
            kind="correction",
            reason=HOSTILE,
            supersedes=hours.stream_version,
        ),
    )
    return {"hours": hours, "published": published, "corrected": corrected}


def api_row(client: TestClient, code: str, **params: Any) -> dict[str, Any]:
    """The anonymous JSON API's answer and its row for ``code`` (the pages' oracle)."""
    found = client.get("/scores", params={**KEN, **params}).json()
    row = next(r for r in found["rows"] if r["code"] == code)
    return {**found, "row": row}


def test_home_shows_the_log_checkpoint_and_assessments(
    world: World, client: TestClient
) -> None:
    text = page(client, "/ui/")
    checkpoint = client.get("/checkpoint").text.splitlines()
    assert world.ledger.origin in text and f"tree size {checkpoint[1]}" in text
    assert checkpoint[2] in text  # the root hash
    assert f"<dd>{world.ledger.log_size()}</dd>" in text
    assert 'href="/ui/scores?member=KEN&amp;year=2022"' in text
    assert 'href="/ui/history?member=BRA&amp;year=2022"' in text
    assert 'action="/ui/scores"' in text and 'href="/ui/framework"' in text


def test_framework_page_lists_dimensions_outcomes_and_kpis(client: TestClient) -> None:
    text = visible_text(page(client, "/ui/framework"))
    assert "Trade Facilitation and Economic Competitiveness" in text
    assert "EO.1 Goods are released quickly" in text
    assert "TF.1.1" in text and "TF.1.4" in text
    assert "linear (best: 100; worst: 0)" in text and "v1" in text


def test_scores_page_shows_public_scores_and_counts_the_rest(
    world: World, client: TestClient
) -> None:
    published_then_corrected(world)
    now = api_row(client, world.KPI_HOURS)
    text = page(client, "/ui/scores", **KEN)
    assert f"<strong>{now['withheld']}</strong> rows are withheld" in text
    assert now["withheld"] >= 2
    assert world.KPI_HOURS in text and f">{now['row']['score']}<" in text
    assert world.KPI_RATIO not in text and world.KPI_PERCENT not in text
    assert "As corrected now" in text and 'aria-current="page">As corrected now' in text
    assert f'last recorded at\n  <time datetime="{now["position"]["recorded_at"]}"' in text


def test_as_published_and_as_corrected_now_differ(world: World, client: TestClient) -> None:
    marks = published_then_corrected(world)
    then = api_row(client, world.KPI_HOURS, published="1")
    now = api_row(client, world.KPI_HOURS)
    assert then["row"]["score"] != now["row"]["score"]
    published_text = page(client, "/ui/scores", **KEN, published="1")
    now_text = page(client, "/ui/scores", **KEN)
    assert f">{then['row']['score']}<" in published_text
    assert f">{now['row']['score']}<" not in published_text
    assert f">{now['row']['score']}<" in now_text
    assert f">{then['row']['score']}<" not in now_text
    assert "as published in cycle 1" in published_text
    assert f"log index {marks['published'].log_index}" in published_text
    assert 'aria-current="page">As published (cycle 1)' in published_text
    # one click from either to the other, and to what changed since publication
    cut = then["position"]["size"]
    assert 'href="/ui/scores?member=KEN&amp;year=2022&amp;published=1%401"' in now_text
    assert 'href="/ui/scores?member=KEN&amp;year=2022"' in published_text
    assert f'href="/ui/diff?member=KEN&amp;year=2022&amp;from=size%3A{cut}"' in now_text


def test_each_view_marks_itself_once(world: World, client: TestClient) -> None:
    published_then_corrected(world)
    world.record(world.ncp_ken, world.KEN, "submission.completed", {"note": "fixed"})
    world.record(world.sec, world.KEN, "assessment.published", world.publication(world.KEN))
    for published, label in [
        (None, "As corrected now"),
        ("1@1", "As published (cycle 1, publication 1 of 2)"),
        ("1", "As published (cycle 1, publication 2 of 2)"),
    ]:
        params = KEN if published is None else {**KEN, "published": published}
        text = page(client, "/ui/scores", **params)
        assert text.count('aria-current="page"') == 1
        assert f'aria-current="page">{label}</a>' in text
        assert "What changed since publication 2" in text


def test_diff_page_lists_the_correction_and_the_score_it_moved(
    world: World, client: TestClient
) -> None:
    marks = published_then_corrected(world)
    index = marks["corrected"].log_index
    found = client.get("/diff", params={**KEN, "from": "size:0"}).json()
    text = page(client, "/ui/diff", **KEN)  # from: the first publication's cut
    shown = visible_text(text)
    assert f'<tr id="i{index}">' in text and f'href="/receipts/{index}"' in text
    assert HOSTILE in shown and "ncp-ken" in shown and "value corrected" in shown
    assert '<span class="old">12</span> → <span class="new">80</span>' in text
    assert f"{world.KPI_HOURS} {world.REFERENCE_YEAR}" in shown
    moved = page(client, "/ui/diff", **KEN, **{"from": "size:0"})
    assert found["withheld"] > 0
    assert f"<strong>{found['withheld']}</strong> rows are withheld" in moved
    for code in (world.KPI_RATIO, world.KPI_PERCENT):  # definitions are public
        assert f"{code} {world.REFERENCE_YEAR}" not in moved  # the values are not
        assert f'<th scope="row">{code}</th>' not in moved  # nor their scores
    assert "3 / 4" not in moved and f'<th scope="row">{world.KPI_HOURS}</th>' in moved
    assert f'<a href="#i{index}">{index}</a>: value corrected of' in text
    now = api_row(client, world.KPI_HOURS)["row"]["score"]
    assert f'<span class="new">{now}</span>' in text


def test_history_page_shows_superseded_values(world: World, client: TestClient) -> None:
    marks = published_then_corrected(world)
    found = client.get("/history", params=KEN).json()
    text = page(client, "/ui/history", **KEN)
    shown = visible_text(text)
    first = marks["hours"].stream_version
    assert f'<tr id="e{first}" class="superseded">' in text
    assert f'superseded by <a href="#e{marks["corrected"].stream_version}">' in text
    assert HOSTILE in shown and "correction" in shown
    assert f"<strong>{found['withheld']}</strong> row" in text and found["withheld"] == 2
    assert "3 / 4" not in shown and world.KPI_RATIO not in text


def test_hostile_text_is_escaped(world: World, client: TestClient) -> None:
    published_then_corrected(world)
    for path in ("/ui/diff", "/ui/history"):
        text = page(client, path, **KEN)
        assert "<script>" not in text and "&lt;script&gt;alert(" in text
    hostile = page(client, "/ui/scores", 400, member="<b>x</b>", year="2022")
    assert "<B>" not in hostile and "&lt;B&gt;X&lt;/B&gt;" in hostile
    reflected = page(client, "/ui/scores", 400, **KEN, as_of='"><script>x</script>')
    assert "<script>x" not in reflected and "&lt;script&gt;x" in reflected


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/ui/scores", {"member": "XXX", "year": "2022"}, 404, "XXX has no assessment"),
        ("/ui/scores", {**KEN, "year": "1999"}, 404, "reference year 1999"),
        ("/ui/scores", {**KEN, "as_of": "yesterday"}, 400, "'yesterday' is not a time"),
        ("/ui/scores", {**KEN, "at_size": "999999"}, 400, "outside the log"),
        ("/ui/scores", {**KEN, "at_size": "-1"}, 400, "is not a log size"),
        ("/ui/scores", {**KEN, "published": "1"}, 404, "has not been published"),
        ("/ui/scores", {"member": "KEN", "year": "T"}, 400, "'T' is not a reference"),
        ("/ui/scores", {"member": "", "year": ""}, 400, "name a Member"),
        ("/ui/scores", {"member": "kenya", "year": "2022"}, 400, "not a Member code"),
        ("/ui/history", {"member": "BRA", "year": "2000"}, 404, "BRA has no assessment"),
        ("/ui/diff", KEN, 400, "has not been published"),
        ("/ui/diff", {**KEN, "from": "later"}, 400, "'later' is not a time"),
        ("/ui/framework", {"at_size": "1"}, 404, "holds no framework"),
    ],
)
def test_refusals_are_html_pages_with_the_errors_status(
    client: TestClient, path: str, params: dict[str, str], status: int, message: str
) -> None:
    text = page(client, path, status, **params)
    assert '<p class="error" role="alert">' in text
    assert message in visible_text(text)


def test_empty_form_fields_mean_now(world: World, client: TestClient) -> None:
    world.hours(world.ncp_ken, world.KEN, "12")
    text = page(client, "/ui/scores", **KEN, as_of="", at_size="", published="")
    assert "<strong>now</strong>" in text and world.KPI_HOURS in text


def test_pages_are_not_in_the_schema_and_the_stylesheet_is_served(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    assert not [p for p in schema["paths"] if p.startswith("/ui")]
    style = client.get("/ui/static/style.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert 'href="/ui/static/style.css"' in page(client, "/ui/")


def test_pages_read_as_the_bearer_of_a_token_and_log_what_they_show(
    world: World, client: TestClient
) -> None:
    """The same page shows each reader what its role allows: KEN's NCP sees its
    own restricted ratio, and that read is in the access log; BRA's NCP does not
    see it, and leaves no record; a bad token is refused, never downgraded."""
    world.one_of_each_disclosure()
    own = client.get("/ui/history", params=KEN, headers=world.bearer(world.ncp_ken))
    assert own.status_code == 200 and "3 / 4" in own.text
    assert "Signed in as <strong>ncp-ken</strong>" in own.text
    assert "Nothing is withheld." in own.text
    other = client.get("/ui/history", params=KEN, headers=world.bearer(world.ncp_bra))
    assert other.status_code == 200 and "3 / 4" not in other.text
    assert "<strong>1</strong> row is withheld" in other.text  # the wco one it sees
    officer = world.bearer(world.officer)
    records = client.get("/access-log", headers=officer).json()["records"]
    assert [(r["principal"], r["member"]) for r in records] == [("ncp-ken", "KEN")]
    assert records[0]["request"] == "GET /ui/history?member=KEN&year=2022"
    refused = client.get("/ui/history", params=KEN, headers={"Authorization": "Bearer x"})
    assert refused.status_code == 401
