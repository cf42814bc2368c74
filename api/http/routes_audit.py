"""Audit reads: who am I, the log's entries filtered, the access log, the framework.

``/events`` pages through log entries with filters and a stable cursor
(``projections/audit.py``) for any principal, values withheld by disclosure.
``/access-log`` is for integrity officers only (docs/design.md §1): every read that
showed a restricted value, hash-chained; ``/access-log/head`` walks the chain
and answers its size and head hash, or the first broken record. Reading the
access log is itself not logged (it holds no values).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.http.auth import AccessLogDep, ReaderDep, log_reads
from api.http.deps import LedgerDep
from api.http.errors import PROBLEM
from ledger.access_log import PAGE_LIMIT as ACCESS_PAGE_LIMIT
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.errors import NotFoundError
from projections.audit import PAGE_LIMIT, EventFilter, audit_events
from projections.log_reader import LogReader
from projections.timetravel import parse_moment, position
from verify.formats.statement import format_timestamp

router = APIRouter(tags=["audit"])
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A filter or cursor out of range", **PROBLEM},
    401: {"description": "No bearer token, or one that is not valid", **PROBLEM},
    403: {"description": "The principal's role may not read this", **PROBLEM},
}
Text = Annotated[str | None, Query(max_length=128)]
Moment = Annotated[
    str | None, Query(max_length=64, description="RFC 3339 UTC time or a date")
]
Cursor = Annotated[int, Query(ge=0, le=2**53, description="next_cursor of the last page")]


def moment_filter(text: str | None, *, start_of_day: bool) -> str | None:
    """A time filter in the access log's own format (so text order is time order);
    a date is the start of that day for ``since`` and its end for ``until``."""
    if text is None:
        return None
    if start_of_day and len(text) == 10:
        text = f"{text}T00:00:00Z"
    return format_timestamp(parse_moment(text))


@router.get(
    "/whoami", summary="The principal a bearer token speaks for", responses=AUTH_ERRORS
)
def whoami(reader: ReaderDep) -> dict[str, Any]:
    """The reader, its role and Member, and its audience for its own Member."""
    return {
        "principal": reader.principal,
        "role": reader.role,
        "member": reader.member,
        "audience": reader.audience(reader.member),
        "audience_elsewhere": reader.audience(None),
    }


@router.get(
    "/events",
    response_class=JSONResponse,
    summary="Log entries filtered, with a stable cursor",
    responses=AUTH_ERRORS,
)
def get_events(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Annotated[str | None, Query(max_length=16)] = None,
    kpi: Text = None,
    principal: Text = None,
    type: Annotated[str | None, Query(max_length=64, description="statement type")] = None,
    year: Annotated[
        int | None, Query(ge=1900, le=9999, description="reference year")
    ] = None,
    since: Moment = None,
    until: Moment = None,
    cursor: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> JSONResponse:
    """Entries from log index ``cursor`` on that match every filter, in log order;
    each with the statement as signed, the value withheld if the reader's audience
    is narrower than its disclosure. Continue with ``next_cursor``."""
    reader.require(
        ("ncp", "secretariat", "peer_reviewer", "integrity_officer", "admin"), "/events"
    )
    flt = EventFilter(member, kpi, principal, type, year, since, until)
    page = audit_events(ledger, reader, flt, cursor, limit)
    log_reads(access, reader, request, page.restricted_shown)
    return JSONResponse(
        {
            "events": page.events,
            "next_cursor": page.next_cursor,
            "complete": page.complete,
            "log_size": page.log_size,
        }
    )


@router.get(
    "/access-log",
    summary="Reads of restricted values (integrity officers)",
    responses=AUTH_ERRORS,
)
def get_access_log(
    reader: ReaderDep,
    access: AccessLogDep,
    principal: Text = None,
    member: Annotated[str | None, Query(max_length=16)] = None,
    since: Moment = None,
    until: Moment = None,
    cursor: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=ACCESS_PAGE_LIMIT)] = 100,
) -> dict[str, Any]:
    """Access records from ``seq`` ``cursor`` on, each with the hash of the one before."""
    reader.require(("integrity_officer",), "the access log")
    page = access.query(
        principal=principal,
        member=member,
        since=moment_filter(since, start_of_day=True),
        until=moment_filter(until, start_of_day=False),
        cursor=cursor,
        limit=limit,
    )
    return {"records": page.records, "next_cursor": page.next_cursor}


@router.get(
    "/access-log/head", summary="Walk the access log's hash chain", responses=AUTH_ERRORS
)
def get_access_head(reader: ReaderDep, access: AccessLogDep) -> dict[str, Any]:
    """The chain's size and head hash if every link holds and it passes through
    every seal in the integrity log, else the first break."""
    reader.require(("integrity_officer",), "the access log")
    result = access.check()
    return result.as_json()


@router.get(
    "/framework",
    summary="The KPI framework at a record time (public)",
    responses={
        400: AUTH_ERRORS[400],
        404: {"description": "No framework yet at that time", **PROBLEM},
    },
)
def get_framework(
    ledger: LedgerDep,
    as_of: Moment = None,
    at_size: Annotated[int | None, Query(ge=0, le=2**53)] = None,
) -> dict[str, Any]:
    """Every dimension, expected outcome and KPI, each with all its versions
    (the reference year it applies from, the log index that defined it)."""
    where = position(ledger, as_of=as_of, at_size=at_size)
    board = LogReader.of(ledger).board([], where.size)
    if not board.kpis and not board.dimensions:
        raise NotFoundError(f"the log holds no {FRAMEWORK_STREAM} at {where.label}")

    def versions(group: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        return {
            code: [
                {
                    "version": v.number,
                    "applies_from": v.applies_from,
                    "log_index": v.position,
                    "definition": dict(v.body),
                }
                for v in found
            ]
            for code, found in sorted(group.items())
        }

    return {
        "position": {
            "size": where.size,
            "label": where.label,
            "recorded_at": where.recorded_at,
        },
        "overall_aggregation": board.overall,
        "dimensions": versions(board.dimensions),
        "outcomes": versions(board.outcomes),
        "kpis": versions(board.kpis),
    }
