"""How a page is answered: the template environment, the site's links, the
reader's access record, and a refusal as an HTML page (docs/pages.md).

A view (``views_*.py``) returns a ``View``: the template's context and, per
Member, the restricted values it shows. ``answer`` writes those to the access
log *before* the page is rendered, exactly as the JSON reads do
(``api/http/auth.py`` ``log_reads``), so a page that could not be logged is
not served. The reader is whoever ``ReaderDep`` says (a bearer token, or a
browser session opened by signing in with the principal's key,
``api/web/signin.py``): the pages never decide that themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.http.auth import log_reads
from api.web import show
from ledger.access_log import AccessLog
from ledger.errors import LedgerError
from projections.access import Reader
from projections.errors import ProjectionError, SignInRequiredError

HERE = Path(__file__).parent
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class NavLink:
    """A link in the site header; ``roles`` None: shown to every reader."""

    href: str
    label: str
    roles: frozenset[str] | None = None

    def shown_to(self, reader: Reader) -> bool:
        return self.roles is None or reader.role in self.roles


# The site header's links, in order. Another page module adds its own with
# ``NAV.append(NavLink(...))`` when it is imported (before the first request);
# the sign-in link and sign-out button follow the reader line in base.html.
NAV: list[NavLink] = [
    NavLink("/ui/", "Overview"),
    NavLink("/ui/framework", "Framework"),
    NavLink("/ui/access-log", "Access log", frozenset({"integrity_officer"})),
    NavLink("/checkpoint", "Checkpoint"),
    NavLink("/docs", "HTTP API"),
]


@dataclass(frozen=True)
class View:
    """A page's context, and the restricted values it shows, per Member."""

    context: dict[str, Any]
    restricted: Mapping[str | None, list[str]] = field(default_factory=dict)


environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(show.FILTERS)
templates = Jinja2Templates(env=environment)


def render(
    request: Request, reader: Reader, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    nav = [link for link in NAV if link.shown_to(reader)]
    here = request.url.path
    full = {"reader": reader, "nav": nav, "here": here, **context}
    # A principal's page may hold restricted values and a CSRF token: never
    # kept in a cache, the browser's included.
    headers = HEADERS if reader.anonymous else {**HEADERS, "Cache-Control": "no-store"}
    return templates.TemplateResponse(
        request, name, full, status_code=status, headers=headers
    )


def refusal(exc: ProjectionError | LedgerError) -> tuple[int, dict[str, Any]]:
    """The error page's status and context for a refused read."""
    status = exc.status if 400 <= exc.status < 500 else 500
    message = str(exc) if status < 500 else "the server failed; nothing was recorded"
    if isinstance(exc, SignInRequiredError):
        message = f"Sign in to read this page. {message}"
    return status, {
        "status": status,
        "title": HTTPStatus(status).phrase,
        "message": message,
    }


def answer(
    request: Request,
    reader: Reader,
    access: AccessLog,
    name: str,
    build: Callable[[], View],
) -> HTMLResponse:
    """``name`` filled from ``build()``, its restricted reads logged first; or the
    error page with the refusal's own status and message."""
    try:
        view = build()
    except (ProjectionError, LedgerError) as exc:
        status, context = refusal(exc)
        return render(request, reader, "error.html", context, status)
    log_reads(access, reader, request, view.restricted)
    return render(request, reader, name, view.context)


# Every parameter is text: a form sends empty fields, and the views read each
# (``params.py``), so a wrong one is a page saying why, not a JSON error.
Text = Annotated[str | None, Query()]
