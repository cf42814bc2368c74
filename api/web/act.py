"""Statements signed in the browser: submit, correct, validate or query a value;
acknowledge or escalate a red flag.

``GET /ui/act`` shows one form for a signed-in NCP, Secretariat or integrity
officer principal (``/ui/flags`` links here with the flag filled in).
Its script (``static/act.js``) builds the body from the form and asks
``POST /ui/act/prepare`` for the statement around it: the server fills in the
ledger's origin, the session's principal and key id, the stream's current
version, a nonce and the time, and answers the exact bytes to sign,
``verify.formats.statement.signing_input`` — so no JCS is written in JavaScript. The
script checks that the statement in those bytes says what the form said
(principal, type, stream, body), signs them with the key file's key and posts
the signature to ``POST /ui/act/submit``, which records the signed statement
through ``Ledger.record``, as ``POST /statements`` does, and answers its
receipt. Both posts need the session's CSRF token (docs/http.md).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.http.auth import ReaderDep, require_session
from api.http.deps import LedgerDep
from api.http.routes_statements import RecordedOut
from api.web.signin import render_signing
from ledger.errors import RoleNotPermittedError, SignatureError
from projections.log_reader import LogReader
from verify.errors import MalformedStatementError
from verify.formats.canonical import parse_json
from verify.formats.statement import (
    STATEMENT_FORMAT,
    SignedStatement,
    check_statement,
    format_timestamp,
    signing_input,
)

# What these pages sign, and who may (docs/statements.md): the ledger still
# decides every refusal, this only keeps the page to its four forms.
ACTIONS = {
    "value.submitted": ("ncp", "secretariat"),
    "value.corrected": ("ncp", "secretariat"),
    "value.validated": ("secretariat",),
    "value.queried": ("secretariat",),
    "integrity.flag_handled": ("integrity_officer",),
}
# What a link may fill in (``?type=&flag=&member=``); every value is escaped by
# the template and checked again by the ledger when the statement arrives.
PREFILLED = ("type", "flag", "member")

router = APIRouter(prefix="/ui/act", include_in_schema=False)
CsrfHeader = Header(default=None, alias="X-CSRF-Token")


class PrepareIn(BaseModel):
    type: str = Field(max_length=64)
    stream: str = Field(max_length=200)
    body: dict[str, Any]


class PrepareOut(BaseModel):
    statement: dict[str, Any]
    signing_input: str = Field(description="base64 of the exact bytes to sign")


class SubmitIn(BaseModel):
    statement: str = Field(max_length=90_000, description="base64 of the statement's JCS")
    signature: str = Field(max_length=128)


class ReceiptOut(RecordedOut):
    receipt_url: str


@router.get("", response_class=HTMLResponse)
def act_page(request: Request, ledger: LedgerDep, reader: ReaderDep) -> HTMLResponse:
    """The signing form, or a pointer to the sign-in page."""
    session = getattr(request.state, "session", None)
    asked = {name: request.query_params.get(name, "")[:200] for name in PREFILLED}
    context = {
        "session": session,
        "prefill": asked,
        "origin": ledger.origin,
        "actions": [
            name
            for name, roles in ACTIONS.items()
            if session and session.principal.role in roles
        ],
    }
    return render_signing(request, reader, "act.html", context)


@router.post("/prepare", response_model=PrepareOut)
def prepare(
    request: Request, ledger: LedgerDep, form: PrepareIn, csrf: str | None = CsrfHeader
) -> PrepareOut:
    """The statement for the form's body, and the bytes the browser signs."""
    session = require_session(request, csrf)
    roles = ACTIONS.get(form.type)
    if roles is None:
        raise MalformedStatementError(
            f"these pages sign {', '.join(ACTIONS)}, not {form.type!r}"
        )
    if session.principal.role not in roles:
        raise RoleNotPermittedError(
            f"{form.type} is signed by {' or '.join(roles)} principals; "
            f"{session.principal.id!r} is {session.principal.role}"
        )
    statement = {
        "body": form.body,
        "expected_version": ledger.stream_version(form.stream),
        "format": STATEMENT_FORMAT,
        "issued_at": format_timestamp(datetime.now(UTC)),
        "key_id": session.key_id,
        "nonce": secrets.token_urlsafe(16),
        "origin": ledger.origin,
        "principal": session.principal.id,
        "stream": form.stream,
        "type": form.type,
    }
    check_statement(statement)
    raw = signing_input(statement)
    return PrepareOut(statement=statement, signing_input=base64.b64encode(raw).decode())


@router.post("/submit", response_model=ReceiptOut, status_code=201)
async def submit(
    request: Request, ledger: LedgerDep, signed: SubmitIn, csrf: str | None = CsrfHeader
) -> ReceiptOut:
    """Record the statement the browser signed; answer its receipt."""
    session = require_session(request, csrf)
    try:
        statement_bytes = base64.b64decode(signed.statement, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedStatementError("statement must be base64 of JSON") from None
    # The bounded parser of every other way in: no float, no duplicate key, no
    # nesting deep enough to exhaust the stack (decision 17).
    statement = parse_json(statement_bytes)
    if (
        not isinstance(statement, dict)
        or statement.get("principal") != session.principal.id
    ):
        raise SignatureError(
            f"this session signs only as {session.principal.id!r}; sign in as the "
            "statement's principal"
        )
    # The envelope is spliced around the statement's bytes exactly as signed;
    # Ledger.record then parses it as POST /statements does (canonical or refused).
    raw = SignedStatement(statement, signed.signature, statement_bytes).to_bytes()
    recorded = await run_in_threadpool(ledger.record, raw)
    entry = await run_in_threadpool(LogReader.of(ledger).entry, recorded.log_index)
    return ReceiptOut(
        **{**recorded.__dict__, "receipt": recorded.receipt or ""},
        entry=base64.b64encode(entry).decode("ascii"),
        receipt_url=f"/receipts/{recorded.log_index}?size={recorded.tree_size}",
    )
