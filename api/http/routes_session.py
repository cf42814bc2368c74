"""Browser sign-in with the principal's own key: challenge, session, sign-out.

``POST /auth/challenge`` hands out a one-time challenge and the exact bytes to
sign (``ledger.sessions.sign_in_input``); ``POST /auth/session`` checks the
signature against the registry's current key and sets the ``pmm_session``
cookie; ``POST /auth/sign-out`` ends the session (its CSRF token required, as
a form field or the ``X-CSRF-Token`` header). docs/http.md, "Signing in from a
browser"; decision 30.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.http.auth import get_sessions, require_session
from api.http.cookies import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from api.http.deps import LedgerDep
from api.http.errors import PROBLEM, RequestTooLargeError
from ledger.errors import SignInError
from ledger.sessions import Session

CSRF_HEADER = "x-csrf-token"
FORM_LIMIT = 4096

router = APIRouter(prefix="/auth", tags=["sign-in"])


class ChallengeOut(BaseModel):
    challenge: str
    message: str = Field(description="base64 of the exact bytes to sign (docs/http.md)")
    origin: str = Field(description="the ledger's origin, the message's second line")
    web_origin: str = Field(description="the browser origin the challenge is bound to")
    expires_at: str


class SignInIn(BaseModel):
    principal: str = Field(max_length=200)
    key_id: str = Field(max_length=64)
    challenge: str = Field(max_length=128)
    signature: str = Field(max_length=128, description="base64 Ed25519 signature")


class SessionOut(BaseModel):
    principal: str
    role: str
    member: str | None
    session: str = Field(description="the session's id, as access-log records name it")
    key_id: str
    csrf: str = Field(description="send as X-CSRF-Token (or form field csrf) to write")
    expires_at: str


def web_origin(request: Request) -> str:
    """The origin the browser reached this server at."""
    return f"{request.url.scheme}://{request.url.netloc}"


def session_out(session: Session) -> SessionOut:
    principal = session.principal
    return SessionOut(
        principal=principal.id,
        role=principal.role,
        member=principal.member,
        session=session.session_id,
        key_id=session.key_id,
        csrf=session.csrf,
        expires_at=session.expires_at,
    )


@router.post(
    "/challenge",
    response_model=ChallengeOut,
    summary="A one-time challenge",
    responses={429: {"description": "Too many challenges open", **PROBLEM}},
)
async def challenge(request: Request, ledger: LedgerDep) -> ChallengeOut:
    """A random challenge, good once for two minutes, bound to this ledger and to
    the origin the browser came from."""
    found = await run_in_threadpool(
        get_sessions(request).challenge, ledger.origin, web_origin(request)
    )
    return ChallengeOut(
        challenge=found.challenge,
        message=base64.b64encode(found.message).decode("ascii"),
        origin=ledger.origin,
        web_origin=web_origin(request),
        expires_at=found.expires_at,
    )


@router.post(
    "/session",
    response_model=SessionOut,
    summary="Sign in with a signed challenge",
    responses={
        400: {"description": "The body is not JSON", **PROBLEM},
        401: {"description": "The sign-in is refused", **PROBLEM},
    },
)
async def sign_in(
    request: Request, response: Response, ledger: LedgerDep, body: SignInIn
) -> SessionOut:
    """Open a session if the signature is the principal's current key over the
    challenge's message; sets the ``pmm_session`` cookie."""
    here = web_origin(request)
    sent = request.headers.get("origin")
    if sent is not None and sent != here:
        raise SignInError(f"a sign-in for {here!r} cannot come from a page of {sent!r}")
    opened = await run_in_threadpool(
        lambda: get_sessions(request).sign_in(
            ledger.registry(),
            ledger.origin,
            here,
            principal=body.principal,
            key=body.key_id,
            challenge=body.challenge,
            signature=body.signature,
        )
    )
    set_session_cookie(response, request, opened)
    return session_out(opened.session)


@router.post(
    "/sign-out",
    status_code=204,
    summary="End this browser's session",
    responses={
        401: {"description": "No session to end", **PROBLEM},
        403: {"description": "No CSRF token, or another session's", **PROBLEM},
        413: {"description": f"A form over {FORM_LIMIT} bytes", **PROBLEM},
    },
)
async def sign_out(request: Request) -> Response:
    """End the session; a form post (the pages' sign-out button) is sent on to
    the sign-in page, a script's request answered ``204``."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form = media == "application/x-www-form-urlencoded"
    csrf = request.headers.get(CSRF_HEADER)
    if form:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > FORM_LIMIT:
                raise RequestTooLargeError(f"the form is over {FORM_LIMIT} bytes")
        fields = parse_qs(raw.decode("utf-8", "replace")).get("csrf", [])
        csrf = fields[0] if len(fields) == 1 else None
    require_session(request, csrf)
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(get_sessions(request).sign_out, token)
    answer: Response = (
        RedirectResponse("/ui/sign-in?signed_out=1", status_code=303)
        if form
        else Response(status_code=204)
    )
    clear_session_cookie(answer, request)
    return answer


__all__ = ["router"]
