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
from dataclasses import asdict
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.http.auth import AccessLogDep, ReaderDep, log_read
from api.http.deps import LedgerDep
from api.http.errors import PROBLEM
from ledger.application import Ledger
from projections.access import Reader
from projections.changes import diff as diff_query
from projections.disclosure import visible
from projections.errors import QueryError
from projections.exports import (
    SCORE_COLUMNS,
    changes_frame,
    file_bytes,
    history_frame,
    restricted_names,
    score_rows,
)
from projections.timetravel import scores as scores_query

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


def scores_read(
    ledger: Ledger, reader: Reader, member: str, year: int, **when: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The answer's header and the rows the reader may see (no pandas: this is
    the hot path of the API)."""
    found = scores_query(ledger, member, year, **when)
    audience = reader.audience(found.table.member)
    rows = score_rows(found.table, found.position, audience)
    answer = {
        "stream": found.table.stream,
        "member": found.table.member,
        "cycle": found.table.cycle,
        "reference_year": year,
        "position": {
            "size": found.position.size,
            "label": found.position.label,
            "recorded_at": found.position.recorded_at,
        },
        "audience": audience,
        "withheld": len(found.table.rows) - len(rows),
    }
    return answer, rows


def restricted_score_names(rows: list[dict[str, Any]]) -> list[str]:
    return [
        f"score {row['level']} {row['code']}"
        for row in rows
        if row["disclosure"] == "restricted"
    ]


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
    answer, rows = scores_read(
        ledger,
        reader,
        member,
        year,
        cycle=cycle,
        as_of=as_of,
        at_size=at_size,
        published=published,
    )
    log_read(access, reader, request, answer["member"], restricted_score_names(rows))
    return JSONResponse({**answer, "rows": rows})


def history_read(
    ledger: Ledger, reader: Reader, member: str, year: int, cycle: str | None
) -> tuple[pd.DataFrame, int]:
    audience = reader.audience(member)
    everything = history_frame(ledger, member, year, "restricted", cycle)
    if everything.empty:
        return everything, 0
    frame = everything[everything["disclosure"].map(lambda d: visible(d, audience))]
    return frame.reset_index(drop=True), len(everything) - len(frame)


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
    frame, withheld = history_read(ledger, reader, member, year, cycle)
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


def diff_read(
    ledger: Ledger,
    reader: Reader,
    member: str,
    year: int,
    start: str,
    end: str | None,
    cycle: str | None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    found = diff_query(ledger, member, year, start=start, end=end, cycle=cycle)
    audience = reader.audience(member)
    frame = changes_frame(found, audience)
    changes = [asdict(c) for c in found.changes if visible(c.disclosure, audience)]
    moved = [asdict(s) for s in found.score_changes if visible(s.disclosure, audience)]
    answer = {
        "stream": found.stream,
        "member": member,
        "reference_year": year,
        "from": {"size": found.start.size, "label": found.start.label},
        "to": {"size": found.end.size, "label": found.end.label},
        "audience": audience,
        "withheld": len(found.changes) + len(found.score_changes) - len(frame),
        "changes": changes,
        "score_changes": moved,
    }
    return answer, frame


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
    answer, frame = diff_read(ledger, reader, member, year, start, end, cycle)
    log_read(access, reader, request, member, restricted_names(frame))
    return JSONResponse(answer)


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
        _, rows = scores_read(
            ledger,
            reader,
            member,
            year,
            cycle=cycle,
            as_of=as_of,
            at_size=at_size,
            published=published,
        )
        frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
        shown = restricted_score_names(rows)
    elif kind == "history":
        frame, _ = history_read(ledger, reader, member, year, cycle)
        shown = restricted_names(frame)
    else:
        if start is None:
            raise QueryError("a diff export needs from=R1 (a time, date or size:N)")
        _, frame = diff_read(ledger, reader, member, year, start, end, cycle)
        shown = restricted_names(frame)
    log_read(access, reader, request, member, shown)
    name = f"{kind}-{member}-{year}.{fmt}"
    return Response(
        file_bytes(frame, fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
