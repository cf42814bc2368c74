"""``/ui/flags``: the red flags as a page, for integrity officers and the Secretariat.

Its own router (included by ``api/http/app.py``), reading through ``ReaderDep``:
the signed-in principal. An anonymous visitor gets the 401 error page asking
to sign in, a principal of another role the 403 page; the flags that name a
restricted entry are written to the access log before the page is sent, as
``GET /flags`` does (docs/flags.md). Filters are a GET form; each entry a flag
names links to its receipt.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.flag_defaults import packaged
from api.http.auth import AccessLogDep, ReaderDep
from api.http.deps import LedgerDep
from api.web import params
from api.web.render import NAV, NavLink, Text, View, answer
from projections.access import Reader
from projections.errors import SignInRequiredError
from projections.flag_thresholds import PARAMETERS
from projections.flags import SEVERITIES, STATUSES, FlagFilter, read_flags

router = APIRouter(prefix="/ui", include_in_schema=False)
NAV.insert(
    2, NavLink("/ui/flags", "Red flags", frozenset({"integrity_officer", "secretariat"}))
)


@router.get("/flags", response_class=HTMLResponse)
def flags_page(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Text = None,
    rule: Text = None,
    status: Text = None,
    severity: Text = None,
) -> HTMLResponse:
    """The flags matching the form's filters, high severity first."""

    def build() -> View:
        _signed_in(reader)
        flt = FlagFilter(
            params.text(member, "member"),
            params.text(rule, "rule"),
            params.text(status, "status"),
            params.text(severity, "severity"),
        )
        report = read_flags(ledger, reader, packaged(), flt)
        context = {
            "report": report,
            "reader": reader,
            "filters": {
                "member": flt.member or "",
                "rule": flt.rule or "",
                "status": flt.status or "",
                "severity": flt.severity or "",
            },
            "rules": tuple(PARAMETERS),
            "statuses": STATUSES,
            "severities": tuple(reversed(SEVERITIES)),
            "json": params.url(
                "/flags",
                member=flt.member,
                rule=flt.rule,
                status=flt.status,
                severity=flt.severity,
            ),
        }
        return View(context, report.restricted_shown)

    return answer(request, reader, access, "flags.html", build)


def _signed_in(reader: Reader) -> None:
    if reader.anonymous:
        raise SignInRequiredError(
            "The red flags are for integrity officers and the Secretariat: sign in as "
            "one to see them."
        )
