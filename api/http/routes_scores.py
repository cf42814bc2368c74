"""Score reads through time: ``/scores``, ``/history``, ``/diff`` and their exports.

Each answers for a Member's reference year T "as recorded at R" (docs/design.md §2),
exactly as ``pmm scores``, ``pmm history`` and ``pmm diff`` do, and shows the
rows the reader's audience for that Member allows (``projections/access.py``):
anonymous readers see ``public`` rows; ``withheld`` counts what is left out.
A read that shows a ``restricted`` row is written to the access log first.
``/exports/{scores,history,diff}.{csv,parquet}`` give the same rows as files.

The JSON reads answer a ``JSONResponse`` of plain dicts and lists directly:
FastAPI's ``jsonable_encoder`` walk would cost twice the query itself.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.http.auth import AccessLogDep, ReaderDep, log_read
from api.http.deps import LedgerDep
from api.http.errors import PROBLEM
from projections.errors import QueryError
from projections.exports import file_bytes, restricted_names
from projections.score_query import When, read_diff, read_history, read_scores

router = APIRouter(tags=["scores"])
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A query that names nothing or is out of range", **PROBLEM},
    401: {"description": "A bearer token that is not valid", **PROBLEM},
    404: {"description": "No such assessment", **PROBLEM},
}
MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}

Member = Annotated[str, Query(max_length=16, description="Member code, e.g. KEN")]
Year = Annotated[int, Query(ge=1900, le=9999, description="Reference year T")]
Cycle = Annotated[str | None, Query(max_length=64, description="Cycle, if several")]
AsOf = Annotated[str | None, Query(max_length=64, description="RFC 3339 time or date")]
AtSize = Annotated[int | None, Query(ge=0, le=2**53, description="A log size")]
Published = Annotated[str | None, Query(max_length=64, description="CYCLE[@N]")]
From = Annotated[
    str, Query(alias="from", max_length=64, description="R1: time, date or size:N")
]
To = Annotated[str | None, Query(max_length=64, description="R2 (default now)")]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(json.loads(frame.to_json(orient="records")))


@router.get(
    "/scores",
    response_class=JSONResponse,
    summary="A Member's scores for reference year T, at a record time",
    responses=READ_ERRORS,
)
def get_scores(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Member,
    year: Year,
    cycle: Cycle = None,
    as_of: AsOf = None,
    at_size: AtSize = None,
    published: Published = None,
) -> JSONResponse:
    """Score rows with provenance (method, version, sources) and the log position:
    now, ``as_of`` a time, ``at_size`` a log size, or as ``published``."""
    when = When(cycle, as_of, at_size, published)
    read = read_scores(ledger, member, year, when, reader.audience(member))
    answer = read.header()
    log_read(access, reader, request, answer["member"], read.restricted_shown())
    return JSONResponse({**answer, "rows": read.rows})


@router.get(
    "/history",
    response_class=JSONResponse,
    summary="Every value recorded in an assessment, superseded ones included",
    responses=READ_ERRORS,
)
def get_history(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Member,
    year: Year,
    cycle: Cycle = None,
) -> JSONResponse:
    """Values in log order with who recorded them, why and on what evidence."""
    frame, withheld = read_history(ledger, member, year, cycle, reader.audience(member))
    log_read(access, reader, request, member, restricted_names(frame))
    return JSONResponse(
        {
            "member": member,
            "reference_year": year,
            "audience": reader.audience(member),
            "withheld": withheld,
            "rows": _records(frame),
        }
    )


@router.get(
    "/diff",
    response_class=JSONResponse,
    summary="What changed in an assessment between two record times",
    responses=READ_ERRORS,
)
def get_diff(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    member: Member,
    year: Year,
    start: From,
    end: Annotated[
        str | None, Query(alias="to", max_length=64, description="R2 (default now)")
    ] = None,
    cycle: Cycle = None,
) -> JSONResponse:
    """Every entry between R1 and R2 that can move a score (who, why, evidence),
    then every score that moved and the entries that moved it."""
    read = read_diff(ledger, member, year, start, end, cycle, reader.audience(member))
    log_read(access, reader, request, member, restricted_names(read.frame))
    return JSONResponse(read.answer())


@router.get(
    "/exports/{kind}.{fmt}",
    summary="Scores, history or diff as CSV or Parquet (the same rows as the JSON reads)",
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}, **READ_ERRORS},
)
def get_export(
    request: Request,
    ledger: LedgerDep,
    reader: ReaderDep,
    access: AccessLogDep,
    kind: Annotated[Literal["scores", "history", "diff"], Path()],
    fmt: Annotated[Literal["csv", "parquet"], Path()],
    member: Member,
    year: Year,
    cycle: Cycle = None,
    as_of: AsOf = None,
    at_size: AtSize = None,
    published: Published = None,
    start: Annotated[
        str | None, Query(alias="from", max_length=64, description="diff: R1")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=64, description="diff: R2")
    ] = None,
) -> Response:
    """A file of the rows the reader may see, honouring disclosure like the JSON reads."""
    if kind == "scores":
        when = When(cycle, as_of, at_size, published)
        read = read_scores(ledger, member, year, when, reader.audience(member))
        frame, shown = read.frame(), read.restricted_shown()
    elif kind == "history":
        frame, _ = read_history(ledger, member, year, cycle, reader.audience(member))
        shown = restricted_names(frame)
    else:
        if start is None:
            raise QueryError("a diff export needs from=R1 (a time, date or size:N)")
        frame = read_diff(
            ledger, member, year, start, end, cycle, reader.audience(member)
        ).frame
        shown = restricted_names(frame)
    log_read(access, reader, request, member, shown)
    name = f"{kind}-{member}-{year}.{fmt}"
    return Response(
        file_bytes(frame, fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
