"""``/docs`` and ``/redoc`` load nothing from outside the app (docs/decisions.md
22): every URL the pages reference is the app's own and answers 200."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

# src="...", href="...", and the schema's url: '...' in the Swagger UI script
REFERENCE = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: *['"]([^'"]+)['"]""")


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"}),
        ("/redoc", {"/docs/assets/redoc.standalone.js"}),
    ],
)
def test_a_docs_page_loads_only_the_apps_own_assets(
    client: TestClient, page: str, expected: set[str]
) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "text/html"
    )
    html = answer.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    references = {a or b for a, b in REFERENCE.findall(html)}
    assert expected | {"/openapi.json", "/docs/assets/favicon.png"} <= references
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), url
        fetched = client.get(url)
        assert fetched.status_code == 200, (url, fetched.status_code)
        assert len(fetched.content) > 0
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in script.content


@pytest.mark.parametrize("backend", ["sqlite"])
def test_only_the_listed_assets_are_served(client: TestClient) -> None:
    for name in ("index.html", "..%2F..%2Fpyproject.toml", "core.py", "missing.js"):
        answer = client.get(f"/docs/assets/{name}")
        assert answer.status_code == 404, name
        assert name not in answer.json()["detail"]  # the asked-for name is not echoed
