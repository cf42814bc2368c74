"""Server-rendered pages under ``/ui`` for anonymous readers (DESIGN.md §2).

Every screen makes the three questions easy: *as published then* (a
publication's cut), *as corrected now*, and *what changed in between, by
whom, why, on what evidence* (the diff page). The pages read as the
``ANONYMOUS`` reader, so they show ``public`` values only and say how many
rows they withhold; they are plain HTML with one stylesheet, no script, and
every value is escaped by Jinja2's autoescape. A refusal (an unknown Member, a
bad time) is an HTML page with the error's own status and message. The
routes are left out of the OpenAPI schema: the JSON API is the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from api.http.deps import LedgerDep
from api.web import show, views
from ledger.errors import LedgerError
from projections.errors import ProjectionError

HERE = Path(__file__).parent
STYLE = (HERE / "static" / "style.css").read_text(encoding="utf-8")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(show.FILTERS)
templates = Jinja2Templates(env=environment)
router = APIRouter(prefix="/ui", include_in_schema=False)

# Every parameter is text: a form sends empty fields, and views.py reads each.
Text = Annotated[str | None, Query()]


def render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, context, status_code=status, headers=HEADERS
    )


def page(request: Request, name: str, build: Callable[[], dict[str, Any]]) -> HTMLResponse:
    """``name`` filled from ``build()``, or the error page if the read is refused."""
    try:
        context = build()
    except (ProjectionError, LedgerError) as exc:
        status = exc.status if 400 <= exc.status < 500 else 500
        message = str(exc) if status < 500 else "the server failed; nothing was recorded"
        title = HTTPStatus(status).phrase
        context = {"status": status, "title": title, "message": message}
        return render(request, "error.html", context, status)
    return render(request, name, context)


@router.get("/", response_class=HTMLResponse)
def home_page(request: Request, ledger: LedgerDep) -> HTMLResponse:
    """The log size, the latest checkpoint, and a way into every assessment."""
    return page(request, "home.html", lambda: views.home(ledger))


@router.get("/scores", response_class=HTMLResponse)
def scores_page(
    request: Request,
    ledger: LedgerDep,
    member: Text = None,
    year: Text = None,
    cycle: Text = None,
    as_of: Text = None,
    at_size: Text = None,
    published: Text = None,
) -> HTMLResponse:
    """A Member's score table now, as of a time, at a log size or as published."""
    return page(
        request,
        "scores.html",
        lambda: views.scores(ledger, member, year, cycle, as_of, at_size, published),
    )


@router.get("/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    ledger: LedgerDep,
    member: Text = None,
    year: Text = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    cycle: Text = None,
) -> HTMLResponse:
    """What changed between two record times: entries, then the scores they moved."""
    return page(
        request,
        "diff.html",
        lambda: views.diff(ledger, member, year, start, end, cycle),
    )


@router.get("/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    ledger: LedgerDep,
    member: Text = None,
    year: Text = None,
    cycle: Text = None,
) -> HTMLResponse:
    """Every value recorded in the assessment, superseded ones included."""
    return page(request, "history.html", lambda: views.history(ledger, member, year, cycle))


@router.get("/framework", response_class=HTMLResponse)
def framework_page(
    request: Request, ledger: LedgerDep, as_of: Text = None, at_size: Text = None
) -> HTMLResponse:
    """Dimensions → expected outcomes → KPIs, with versions and scoring methods."""
    return page(request, "framework.html", lambda: views.framework(ledger, as_of, at_size))


@router.get("/static/style.css")
def stylesheet() -> Response:
    return Response(
        STYLE,
        media_type="text/css; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )
