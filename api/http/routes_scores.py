"""``GET /scores``: a Member's scores for a reference year, at any record time.

Anonymous readers see ``public`` rows only (DESIGN.md §1, disclosure); the
rows withheld are counted, never shown. The record time is now, ``as_of`` a
time, ``at_size`` a log size, or ``published`` a cycle (``CYCLE`` or
``CYCLE@N``), exactly as ``pmm scores`` takes them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.http.deps import LedgerDep
from api.http.errors import PROBLEM_JSON
from ledger.application import Ledger
from projections.exports import scores_frame
from projections.timetravel import scores as scores_query

router = APIRouter(tags=["scores"])
AUDIENCE = "public"
PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}


def _scores(
    ledger: Ledger,
    member: str,
    year: int,
    cycle: str | None,
    as_of: str | None,
    at_size: int | None,
    published: str | None,
) -> dict[str, Any]:
    found = scores_query(
        ledger,
        member,
        year,
        cycle=cycle,
        as_of=as_of,
        at_size=at_size,
        published=published,
    )
    frame = scores_frame(found.table, found.position, AUDIENCE)
    return {
        "stream": found.table.stream,
        "member": found.table.member,
        "cycle": found.table.cycle,
        "reference_year": year,
        "position": {
            "size": found.position.size,
            "label": found.position.label,
            "recorded_at": found.position.recorded_at,
        },
        "audience": AUDIENCE,
        "withheld": len(found.table.rows) - len(frame),
        "rows": json.loads(frame.to_json(orient="records")),
    }


@router.get(
    "/scores",
    summary="Scores of a Member for a reference year (public rows), at a record time",
    responses={
        400: {"description": "A query that names nothing or is out of range", **PROBLEM},
        404: {"description": "No such assessment", **PROBLEM},
    },
)
async def get_scores(
    ledger: LedgerDep,
    member: Annotated[str, Query(max_length=16, description="Member code, e.g. KEN")],
    year: Annotated[int, Query(ge=1900, le=9999, description="Reference year T")],
    cycle: Annotated[str | None, Query(max_length=64)] = None,
    as_of: Annotated[
        str | None, Query(max_length=64, description="RFC 3339 or date")
    ] = None,
    at_size: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    published: Annotated[str | None, Query(max_length=64, description="CYCLE[@N]")] = None,
) -> dict[str, Any]:
    """Score rows with provenance (method, version, sources) and the log position."""
    return await run_in_threadpool(
        _scores, ledger, member, year, cycle, as_of, at_size, published
    )
