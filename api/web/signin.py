"""The sign-in page and the first-party scripts that sign in the browser.

``GET /ui/sign-in`` is a plain page; its script (``static/signin.js``) reads the
key file the user picks with ``FileReader`` — it never leaves the browser —
imports it with WebCrypto and signs the challenge of ``POST /auth/challenge``
(docs/http.md, "Signing in from a browser"; decision 30). Only the pages that
sign carry a script, so their Content-Security-Policy alone allows
``script-src 'self'``; no page has inline script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.auth import ReaderDep
from api.web.render import HEADERS, NAV, NavLink, templates
from projections.access import Reader

HERE = Path(__file__).parent
TYPES = {".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
# The first-party scripts, and the icon every page names (a browser asks for
# /favicon.ico otherwise, and a 404 there is a console error on every page).
FILES = {
    name: (HERE / "static" / name).read_text(encoding="utf-8")
    for name in ("pmmkey.js", "signin.js", "act.js", "icon.svg")
}
SIGNING_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    # These pages carry the session's CSRF token: never cached.
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)
# The principals who sign values in the browser (api/web/act.py) see its link.
NAV.append(
    NavLink(
        "/ui/act", "Sign statements", frozenset({"ncp", "secretariat", "integrity_officer"})
    )
)


def render_signing(
    request: Request, reader: Reader, name: str, context: dict[str, Any]
) -> HTMLResponse:
    """A page that runs one of the scripts in ``FILES``, in the site's frame
    (``api/web/render.py`` ``render``, with a policy that lets it run)."""
    full = {
        "reader": reader,
        "nav": [link for link in NAV if link.shown_to(reader)],
        "here": request.url.path,
        **context,
    }
    return templates.TemplateResponse(request, name, full, headers=SIGNING_HEADERS)


@router.get("/ui/sign-in", response_class=HTMLResponse)
def sign_in_page(
    request: Request, reader: ReaderDep, signed_out: str | None = None
) -> HTMLResponse:
    """Pick a key file; the script signs a challenge with it and signs in."""
    context = {"signed_out": signed_out == "1"}
    return render_signing(request, reader, "sign_in.html", context)


@router.get("/ui/static/{name}")
def static_file(name: str) -> Response:
    text = FILES.get(name)
    if text is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    return Response(
        text,
        media_type=TYPES[Path(name).suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/favicon.ico")
def favicon() -> Response:
    return static_file("icon.svg")
