"""Every ``/ui`` page works at 360 px wide and with the keyboard, without script
or any third-party resource: a viewport, a skip link to ``main``, one ``h1``
and no skipped heading level, a label for every field, header cells with a
scope, wide tables in a focusable scrolling box, visible focus styles, and no
fixed width in pixels. Checked on the markup itself (html.parser), as an
anonymous reader and as an integrity officer, on both backends."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from tests.conftest import World

Q = "member=KEN&year=2022"
PAGES = [
    "/ui/",
    f"/ui/assessment?{Q}",
    f"/ui/trail?{Q}&kpi=TF.1.1",
    f"/ui/scores?{Q}",
    f"/ui/history?{Q}",
    f"/ui/diff?{Q}&from=size:0",
    "/ui/framework",
    "/ui/access-log",
]


class Page(HTMLParser):
    """What the checks need from a page's markup."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.headings: list[int] = []
        self.fields: list[tuple[dict[str, str | None], bool]] = []  # attrs, in a label
        self.labelled: set[str] = set()
        self.header_cells: list[dict[str, str | None]] = []
        self.tables_outside_scroll = 0
        self.scroll_boxes: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.fields.append((found, "label" in self.stack))
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        if tag == "th":
            self.header_cells.append(found)
        if tag == "table" and "svg" not in self.stack:
            boxed = any(s.startswith("div.scroll") for s in self.stack)
            self.tables_outside_scroll += not boxed
        if tag == "div" and "scroll" in (found.get("class") or "").split():
            self.scroll_boxes.append(found)
            tag = "div.scroll"
        if tag in ("a", "link") and found.get("href"):
            self.links.append(str(found["href"]))
        if tag not in ("input", "meta", "link", "br", "img", "option", "circle", "rect",
                       "line", "path", "col"):  # fmt: skip
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].split(".")[0] == tag:
                del self.stack[i:]
                return


def parsed(client: TestClient, path: str, headers: dict[str, str]) -> tuple[str, Page]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.text)
    page = Page()
    page.feed(response.text)
    return str(response.text), page


@pytest.mark.parametrize("who", ["anonymous", "officer"])
def test_every_page_is_narrow_screen_and_keyboard_friendly(
    world: World, client: TestClient, who: str
) -> None:
    world.one_of_each_disclosure()
    world.record(world.ncp_ken, world.KEN, "submission.completed", {})
    world.record(world.sec, world.KEN, "assessment.published", world.publication(world.KEN))
    headers = {} if who == "anonymous" else world.bearer(world.officer)
    for path in PAGES:
        if path == "/ui/access-log" and who == "anonymous":
            continue
        text, page = parsed(client, path, headers)
        where = f"{who} {path}"
        assert (
            '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
        )
        assert '<a class="skip" href="#main">' in text and "main" in page.ids, where
        assert page.headings.count(1) == 1, where
        steps = zip(page.headings, page.headings[1:], strict=False)
        assert all(b <= a + 1 for a, b in steps), (where, page.headings)  # no skipped level
        for attrs, in_label in page.fields:
            named = in_label or attrs.get("id") in page.labelled or attrs.get("aria-label")
            assert named, (where, attrs)
        assert all(c.get("scope") in ("col", "row") for c in page.header_cells), where
        assert page.tables_outside_scroll == 0, where
        for box in page.scroll_boxes:  # reachable and named, so it scrolls by keyboard
            assert box.get("tabindex") == "0" and box.get("role") == "region", where
            assert box.get("aria-label") or box.get("aria-labelledby"), where
        assert "script" not in page.tags, where
        external = [h for h in page.links if re.match(r"(https?:)?//", h)]
        assert not external, (where, external)  # first-party only: no CDN
        assert not re.search(r'style="[^"]*width', text), where


def test_the_stylesheet_has_focus_styles_and_no_fixed_widths(client: TestClient) -> None:
    css = client.get("/ui/static/style.css").text
    assert re.search(r"a:focus-visible[^{]*\{[^}]*outline: 3px solid", css)
    assert "button:focus-visible" in css and "input:focus-visible" in css
    assert ".skip:focus" in css
    assert not re.search(r"(?<![-\w])(min-|max-)?width:\s*\d+px", css)  # nothing fixed wide
    assert ".scroll { overflow-x: auto" in css


def test_every_link_and_button_is_reachable_by_keyboard(
    world: World, client: TestClient
) -> None:
    """Nothing takes itself out of the tab order, and every control is a real
    link or button (no click handlers on other elements: there is no script)."""
    world.one_of_each_disclosure()
    for path in PAGES[:3]:
        text, page = parsed(client, path, {})
        assert 'tabindex="-1"' not in text.replace('<main id="main" tabindex="-1">', "")
        assert "onclick" not in text and "javascript:" not in text
        assert page.links, path
