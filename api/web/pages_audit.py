"""The integrity officer's and analyst's pages: an assessment's three columns,
one value's audit trail with its charts, and the access log (docs/pages.md).

Included in ``pages.router`` (under ``/ui``); read exactly like the other
pages: through ``ReaderDep``, restricted values logged before the page is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.http.auth import AccessLogDep, ReaderDep
from api.http.deps import LedgerDep
from api.web import views_access, views_assessment, views_trail
from api.web.render import Text, answer

router = APIRouter(include_in_schema=False)


@router.get("/assessment", response_class=HTMLResponse)
def assessment_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Text = None,
    year: Text = None,
    cycle: Text = None,
    published: Text = None,
    as_of: Text = None,
    at_size: Text = None,
    by: Text = None,
) -> HTMLResponse:
    """Scores by dimension and expected outcome: as published, at a record time
    (now by default), and what changed in between."""
    return answer(
        request,
        reader,
        access,
        "assessment.html",
        lambda: views_assessment.assessment(
            ledger, reader, member, year, cycle, published, as_of, at_size, by
        ),
    )


@router.get("/trail", response_class=HTMLResponse)
def trail_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Text = None,
    year: Text = None,
    kpi: Text = None,
    cycle: Text = None,
) -> HTMLResponse:
    """Every entry about one value, with receipts, and its history charts."""
    return answer(
        request,
        reader,
        access,
        "trail.html",
        lambda: views_trail.trail(ledger, reader, member, year, kpi, cycle),
    )


@router.get("/access-log", response_class=HTMLResponse)
def access_log_page(
    request: Request,
    reader: ReaderDep,
    access: AccessLogDep,
    principal: Text = None,
    member: Text = None,
    since: Text = None,
    until: Text = None,
    cursor: Text = None,
) -> HTMLResponse:
    """Reads of restricted values, filtered and paged (integrity officers)."""
    return answer(
        request,
        reader,
        access,
        "access_log.html",
        lambda: views_access.access_log(
            access, reader, principal, member, since, until, cursor
        ),
    )
