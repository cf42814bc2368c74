"""``POST /statements``: record one signed statement, answer with its receipt.

The body is the signed statement exactly as ``pmm sign`` prints it: the RFC
8785 canonical bytes of ``{"signature", "statement"}`` (one trailing newline
is dropped, as ``pmm submit`` does). The bytes go to the ledger as they came,
never parsed and re-serialised here: the signature is the authentication.
Bodies over the statement size limit are refused before they are read whole.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.http.deps import LedgerDep
from api.http.errors import (
    PROBLEM,
    RequestTooLargeError,
    UnsupportedMediaTypeError,
)
from api.http.statement_schemas import signed_statement_schema
from projections.log_reader import LogReader
from verify.formats.statement import MAX_STATEMENT_BYTES

# The statement limit, plus the newline ``pmm sign`` ends its output with.
BODY_LIMIT = MAX_STATEMENT_BYTES + 1

router = APIRouter(tags=["statements"])

# OpenAPI links (OpenAPI 3.1 §4.8.20): the reads that show what a recorded
# statement wrote, with the values the 201 answer gives them, so a client (and
# a stateful fuzzer, tests/fuzz/test_fuzz_http_stateful.py) can follow them.
_ENTRY = {"index": "$response.body#/log_index", "size": "$response.body#/tree_size"}
LINKS: dict[str, dict[str, Any]] = {
    "GetReceipt": {
        "operationRef": "#/paths/~1receipts~1{index}/get",
        "parameters": _ENTRY,
        "description": "The entry's receipt at the tree size it was recorded in",
    },
    "GetInclusionProof": {
        "operationRef": "#/paths/~1proofs~1inclusion~1{index}/get",
        "parameters": _ENTRY,
        "description": "The entry's inclusion proof, as a receipt",
    },
    "GetConsistencyProof": {
        "operationRef": "#/paths/~1proofs~1consistency/get",
        "parameters": {
            "old": "$response.body#/log_index",
            "new": "$response.body#/tree_size",
        },
        "description": "The tree before the entry is a prefix of the tree with it",
    },
    "GetEvents": {
        "operationRef": "#/paths/~1events/get",
        "parameters": {
            "cursor": "$response.body#/log_index",
            "type": "$response.body#/entry_type",
            "principal": "$response.body#/principal",
        },
        "description": "The entry among the log's events, from its own index on",
    },
    "GetCheckpoint": {
        "operationRef": "#/paths/~1checkpoint/get",
        "description": "The latest checkpoint, whose tree holds the entry",
    },
}


class WitnessedOut(BaseModel):
    """This write's witnessing round (``ledger.witnessing.Witnessed``)."""

    cosigners: list[str] = Field(description="witnesses whose cosignature it carries")
    quorum_met: bool
    refusals: list[str] = Field(
        description="why each other witness did not cosign; a rollback or fork is "
        "named (docs/backup.md)"
    )


class RecordedOut(BaseModel):
    """What the ledger recorded (``ledger.application.Recorded``)."""

    stream: str
    stream_version: int
    entry_type: str
    principal: str
    recorded_at: str
    entry_sha256: str
    log_index: int
    tree_size: int
    receipt: str
    entry: str = Field(
        description="base64 of the log entry's exact bytes: the receipt's leaf is "
        "SHA-256(0x00 || entry), so the submitter can verify it offline"
    )
    witnesses: WitnessedOut | None = Field(
        default=None,
        description="the witnesses' answer for this write; null when the ledger has "
        "no witnesses",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to be over ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise RequestTooLargeError(
            f"the request body is {declared} bytes; the limit is {limit}"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLargeError(f"the request body is over {limit} bytes")
    return bytes(body)


def require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaTypeError(
            f"send the signed statement as application/json, not {media or 'nothing'}"
        )


@router.post(
    "/statements",
    status_code=201,
    response_model=RecordedOut,
    summary="Record a signed statement",
    responses={
        201: {"description": "Recorded", "links": LINKS},
        400: {"description": "Malformed or non-canonical statement", **PROBLEM},
        401: {"description": "Unknown principal or key, or bad signature", **PROBLEM},
        403: {"description": "Role or Member not permitted", **PROBLEM},
        404: {"description": "The stream or KPI does not exist", **PROBLEM},
        409: {"description": "Stale version or duplicate statement", **PROBLEM},
        413: {"description": f"Body over {BODY_LIMIT} bytes", **PROBLEM},
        415: {"description": "Not application/json", **PROBLEM},
        422: {"description": "A PMM rule refuses it", **PROBLEM},
        503: {
            "description": "The database is down, locked, full or read-only "
            "(`storage-*`); the detail says whether the statement was recorded",
            **PROBLEM,
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": signed_statement_schema()}},
        }
    },
)
async def post_statement(request: Request, response: Response, ledger: LedgerDep) -> Any:
    """Record one signed statement; 201 with what was recorded and its receipt
    (c2sp.org/tlog-proof@v1), verifiable offline."""
    require_json(request)
    raw = (await read_body(request, BODY_LIMIT)).rstrip(b"\n")
    recorded = await run_in_threadpool(ledger.record, raw)
    entry = await run_in_threadpool(LogReader.of(ledger).entry, recorded.log_index)
    response.headers["Location"] = (
        f"/receipts/{recorded.log_index}?size={recorded.tree_size}"
    )
    witnessed = recorded.witnessed
    return RecordedOut(
        **{**recorded.__dict__, "receipt": recorded.receipt or ""},
        entry=base64.b64encode(entry).decode("ascii"),
        witnesses=None
        if witnessed is None
        else WitnessedOut(
            cosigners=sorted(witnessed.cosigners),
            quorum_met=witnessed.quorum_met,
            refusals=list(witnessed.refusals),
        ),
    )
