"""``GET /flags``: the integrity officer's red flags (docs/flags.md).

For integrity officers and the Secretariat only (docs/design.md §1): a flag names
entries of every disclosure level and says what they hold, so the read needs
a principal who may read everything, and every flag that names a restricted
entry (or carries a handling reason) is written to the access log, one record
per Member, before the answer leaves. Each entry a flag names links to the
routes that already serve one entry: its receipt and its place in ``/events``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.flag_defaults import packaged
from api.http.auth import AccessLogDep, ReaderDep, log_reads
from api.http.deps import LedgerDep
from api.http.errors import PROBLEM
from projections.flags import Flag, FlagFilter, FlagReport, read_flags

router = APIRouter(tags=["audit"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "An unknown rule, status or severity", **PROBLEM},
    401: {"description": "No bearer token, or one that is not valid", **PROBLEM},
    403: {"description": "Not an integrity officer or Secretariat principal", **PROBLEM},
}
Text = Annotated[str | None, Query(max_length=64)]


def entry_links(index: int) -> dict[str, Any]:
    """One entry a flag names, and where to read it."""
    return {
        "log_index": index,
        "receipt": f"/receipts/{index}",
        "event": f"/events?cursor={index}&limit=1",
    }


def flag_body(flag: Flag) -> dict[str, Any]:
    handled = flag.handling.entry
    return {
        "id": flag.id,
        "rule": flag.rule,
        "severity": flag.severity,
        "member": flag.member,
        "kpi": flag.kpi,
        "reference_years": list(flag.reference_years),
        "principals": list(flag.principals),
        "summary": flag.summary,
        "thresholds_version": flag.thresholds_version,
        "disclosure": flag.disclosure,
        "handling": {
            "status": flag.handling.status,
            "by": flag.handling.by,
            "reason": flag.handling.reason,
            "entry": None if handled is None else entry_links(handled),
            "recorded_at": flag.handling.recorded_at,
        },
        "entries": [entry_links(i) for i in flag.entries],
    }


def report_body(report: FlagReport) -> dict[str, Any]:
    return {**report.header(), "flags": [flag_body(f) for f in report.flags]}


@router.get(
    "/flags",
    summary="Red flags the log raises (integrity officers, Secretariat)",
    responses=RESPONSES,
)
def get_flags(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Annotated[str | None, Query(max_length=16)] = None,
    rule: Text = None,
    status: Text = None,
    severity: Text = None,
    at_size: Annotated[
        int | None, Query(ge=0, le=2**53, description="as the first N entries raise them")
    ] = None,
) -> dict[str, Any]:
    """Every flag matching the filters, high severity first, each with its
    entries (links to their receipts and ``/events``), principals, Member,
    KPI, years, summary, the thresholds version and its handling."""
    flt = FlagFilter(member, rule, status, severity)
    report = read_flags(ledger, reader, packaged(), flt, at_size)
    log_reads(access, reader, request, report.restricted_shown)
    return report_body(report)
