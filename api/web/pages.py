"""Server-rendered pages under ``/ui``, read as the request's reader (docs/pages.md).

Every screen makes the three questions easy: *as published then* (a
publication's cut), *as corrected now*, and *what changed in between, by
whom, why, on what evidence* (docs/design.md §2). A page reads through
``ReaderDep`` — anonymous (``public`` values only), or the principal a bearer
token or a browser session speaks for — shows what that reader's audience
allows, says how many rows it withholds, and writes every restricted value it
shows to the access log first (``render.answer``), like the JSON reads. Pages
are plain HTML with one first-party stylesheet, no script (only the two pages
that sign, ``signin.py`` and ``act.py``, run one); every value is
escaped by Jinja2's autoescape. A refusal is an HTML page with the error's own
status and message. The routes are left out of the OpenAPI schema: the JSON
API is the contract. The audit pages (assessment, trail, access log) are in
``pages_audit.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.http.auth import AccessLogDep, ReaderDep
from api.http.deps import LedgerDep
from api.web import pages_audit, views_framework, views_home, views_scores
from api.web.render import HERE, Text, answer

# The charts' rules live apart, so the audit report inlines the very same ones.
STYLE = "".join(
    (HERE / "static" / name).read_text(encoding="utf-8")
    for name in ("style.css", "charts.css")
)
router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home_page(
    request: Request, ledger: LedgerDep, reader: ReaderDep, access: AccessLogDep
) -> HTMLResponse:
    """Verification status, the checkpoint and its witnesses, entries per day,
    and a way into every assessment."""
    return answer(
        request, reader, access, "home.html", lambda: views_home.overview(ledger, reader)
    )


@router.get("/scores", response_class=HTMLResponse)
def scores_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Text = None,
    year: Text = None,
    cycle: Text = None,
    as_of: Text = None,
    at_size: Text = None,
    published: Text = None,
) -> HTMLResponse:
    """A Member's score table now, as of a time, at a log size or as published."""
    return answer(
        request,
        reader,
        access,
        "scores.html",
        lambda: views_scores.scores(
            ledger, reader, member, year, cycle, as_of, at_size, published
        ),
    )


@router.get("/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Text = None,
    year: Text = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    cycle: Text = None,
) -> HTMLResponse:
    """What changed between two record times: entries, then the scores they moved."""
    return answer(
        request,
        reader,
        access,
        "diff.html",
        lambda: views_scores.diff(ledger, reader, member, year, start, end, cycle),
    )


@router.get("/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Text = None,
    year: Text = None,
    cycle: Text = None,
) -> HTMLResponse:
    """Every value recorded in the assessment, superseded ones included."""
    return answer(
        request,
        reader,
        access,
        "history.html",
        lambda: views_scores.history(ledger, reader, member, year, cycle),
    )


@router.get("/framework", response_class=HTMLResponse)
def framework_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    as_of: Text = None,
    at_size: Text = None,
) -> HTMLResponse:
    """Dimensions → expected outcomes → KPIs, with versions and scoring methods."""
    return answer(
        request,
        reader,
        access,
        "framework.html",
        lambda: views_framework.framework(ledger, as_of, at_size),
    )


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


router.include_router(pages_audit.router)
