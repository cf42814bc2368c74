"""The SVG charts (``api/web/charts.py``): well-formed markup with a title and a
description, every mark present and labelled, withheld values counted and never
drawn, and hostile text escaped, so a Member's code or a label can never
become markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from api.web import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script>&\""


def parse(markup: str) -> ET.Element:
    """The chart as XML: parsing fails on anything unescaped."""
    return ET.fromstring(markup)


def titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}title")]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_bar_chart_has_one_bar_per_day_with_its_count() -> None:
    bars = [
        charts.Bar("2026-12-01", 3),
        charts.Bar("2026-12-02", 0),
        charts.Bar("2026-12-03", 7),
    ]
    root = parse(charts.bar_chart("per-day", "Entries per day", bars))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "per-day-title per-day-desc"
    assert root.find(f"{SVG}title").text == "Entries per day"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "3 bars, 10 entries in all" in desc and "2026-12-03: 7" in desc
    rects = list(root.iter(f"{SVG}rect"))
    assert len(rects) == 3
    heights = [float(r.get("height") or "nan") for r in rects]
    assert heights[1] == 0 and heights[2] > heights[0] > 0  # drawn to scale
    assert "2026-12-03: 7 entries" in titles(root)
    assert "7" in texts(root) and "2026-12-01" in texts(root)  # the axis labels


def test_an_empty_bar_chart_says_so() -> None:
    root = parse(charts.bar_chart("none", "Entries per day", []))
    assert not list(root.iter(f"{SVG}rect")) and "no entries yet" in texts(root)


def test_history_chart_marks_every_kind_and_tells_corrections_by_shape() -> None:
    points = [
        charts.Point(10, Decimal("12"), "12"),
        charts.Point(20, Decimal("80"), "80", correction=True),
        charts.Point(25, None, "not applicable"),
    ]
    marks = [
        charts.Mark(15, "validated"),
        charts.Mark(18, "queried"),
        charts.Mark(22, "published", "cycle 1"),
        charts.Mark(24, "reopened"),
    ]
    root = parse(
        charts.history_chart("h", "TF.1.1 for 2022", points, marks, 30, withheld=2)
    )
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "2 values drawn" in desc and "1 not numbers" in desc
    assert "2 withheld by disclosure" in desc
    kinds = [g.get("class") for g in root.iter(f"{SVG}g")]
    assert kinds == ["mark validated", "mark queried", "mark published", "mark reopened"]
    assert {"V", "Q", "P", "R"} <= set(texts(root))
    assert "published at log index 22: cycle 1" in titles(root)
    circles = list(root.iter(f"{SVG}circle"))
    diamonds = [
        p for p in root.iter(f"{SVG}path") if "correction" in (p.get("class") or "")
    ]
    assert len(circles) == 1 and len(diamonds) == 1  # shape, not colour alone
    assert "log index 20: 80 (correction)" in titles(root)
    [line] = [p for p in root.iter(f"{SVG}path") if p.get("class") == "value"]
    assert (line.get("d") or "").count("V") == 1  # one step, from 12 to 80
    assert "withheld (2)" in texts(root)
    assert "12" in texts(root) and "80" in texts(root)  # the decimal strings, as recorded


def test_history_charts_side_by_side_share_their_axis() -> None:
    early = charts.history_chart(
        "a", "T-1", [charts.Point(5, Decimal(1), "1")], [], 50, 0, 0
    )
    late = charts.history_chart("b", "T", [charts.Point(40, Decimal(1), "1")], [], 50, 0, 0)
    assert "log index 0" in texts(parse(early)) and "log index 0" in texts(parse(late))
    x_early = next(parse(early).iter(f"{SVG}circle")).get("cx")
    x_late = next(parse(late).iter(f"{SVG}circle")).get("cx")
    assert float(x_early or 0) < float(x_late or 0)


def test_withheld_values_are_never_drawn() -> None:
    root = parse(charts.history_chart("h", "nothing visible", [], [], 12, withheld=3))
    assert not list(root.iter(f"{SVG}circle"))
    assert "no value to draw" in texts(root) and "withheld (3)" in texts(root)


def test_distribution_chart_draws_visible_peers_and_counts_the_rest() -> None:
    peers = [
        charts.Peer("BRA", Decimal("10"), "10"),
        charts.Peer("ZAF", Decimal("10"), "10"),
        charts.Peer("MEX", Decimal("30.5"), "30.5"),
    ]
    own = charts.Peer("KEN", Decimal("20"), "20")
    root = parse(charts.distribution_chart("p", "TF.1.1", peers, own, 4, "lower_is_better"))
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 3  # the 4 withheld peers are not drawn
    tens = [c for c in circles if (c.findtext(f"{SVG}title") or "").endswith(": 10")]
    assert len({c.get("cx") for c in tens}) == 1  # equal values at one place...
    assert len({c.get("cy") for c in tens}) == 2  # ...stacked: none hides another
    assert "KEN (this Member): 20" in titles(root)
    assert "withheld (4)" in texts(root) and "← lower is better" in texts(root)
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "3 peers shown, 4 withheld" in desc and "MEX: 30.5" in desc


def test_hostile_text_is_escaped_everywhere() -> None:
    bars = [charts.Bar(HOSTILE, 1)]
    point = charts.Point(1, Decimal(1), HOSTILE)
    peer = charts.Peer(HOSTILE, Decimal(1), HOSTILE)
    for markup in (
        charts.bar_chart(HOSTILE, HOSTILE, bars, HOSTILE),
        charts.history_chart(
            HOSTILE, HOSTILE, [point], [charts.Mark(1, HOSTILE, HOSTILE)], 2
        ),
        charts.distribution_chart(HOSTILE, HOSTILE, [peer], peer, 0, HOSTILE),
    ):
        assert "<script>" not in markup and "&lt;script&gt;" in markup
        root = parse(markup)  # well-formed: no attribute or element was broken out of
        assert HOSTILE in titles(root)
