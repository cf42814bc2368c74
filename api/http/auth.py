"""Who is asking: a principal's bearer token or browser session, or nobody.

``Authorization: Bearer <JWT>`` carries a token the principal signed with its
own Ed25519 key (``pmm token --as KEY``, ``ledger/tokens.py``); the token is
checked against the principal registry on every request, so revoking a
principal or rotating its key takes effect at once. No header means an
anonymous reader, who sees ``public`` values only; a header that is present
but wrong is refused with 401, never treated as anonymous.

Without the header, a ``pmm_session`` cookie of a browser that signed in with
the principal's key (``ledger/sessions.py``, decision 30) speaks for that
principal; its ``token_id`` in the access log is the session's id. A cookie
whose session ended (expired, signed out, key rotated, principal revoked)
makes the request anonymous and the answer clears it
(``api/http/cookies.py``); pages say why. Writes through a session need its
CSRF token (``require_session``).

Reads that show ``restricted`` values go through ``log_read``, which appends
to the access log before the answer is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.http.cookies import ENDED, SESSION_COOKIE
from api.http.deps import LedgerDep
from api.http.errors import CsrfError
from ledger.access_log import AccessLog
from ledger.application import Ledger
from ledger.errors import InvalidTokenError, SessionEndedError
from ledger.sessions import Session, SessionStore, csrf_matches
from ledger.tokens import check_token
from projections.access import ANONYMOUS, Reader, log_restricted_reads

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PrincipalToken",
    description=(
        "An EdDSA JWT signed by the principal's own registered key: "
        "`pmm token --as KEY`. Without it a reader is the principal of its browser "
        "session (`pmm_session` cookie, /ui/sign-in), or anonymous (public values only)."
    ),
)


async def get_reader(
    request: Request,
    ledger: LedgerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Reader:
    """The principal the request's bearer token (or, without one, its session
    cookie) speaks for, or ``ANONYMOUS``.

    ``async``: an anonymous request costs nothing; a token or a session is
    checked in the thread pool, because it reads the database."""
    header = request.headers.get("authorization")
    if credentials is None:
        if header:  # present but not "Bearer <token>": refuse, never downgrade
            raise InvalidTokenError(
                "the Authorization header must be 'Bearer <token>' (pmm token --as KEY)"
            )
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return await run_in_threadpool(_session_reader, request, ledger, cookie)
        return ANONYMOUS
    return await run_in_threadpool(_holder, ledger, credentials.credentials)


def _holder(ledger: Ledger, token: str) -> Reader:
    holder = check_token(ledger.registry(), ledger.origin, token)
    principal = holder.principal
    return Reader(principal.id, principal.role, principal.member, holder.token_id)


def _session_reader(request: Request, ledger: Ledger, cookie: str) -> Reader:
    try:
        session = get_sessions(request).session(ledger.registry(), cookie)
    except SessionEndedError as exc:
        setattr(request.state, ENDED, str(exc))
        return ANONYMOUS
    request.state.session = session
    principal = session.principal
    return Reader(principal.id, principal.role, principal.member, session.session_id)


ReaderDep = Annotated[Reader, Depends(get_reader)]


def get_sessions(request: Request) -> SessionStore:
    """The application's session store, opened by its lifespan."""
    found = getattr(request.app.state, "sessions", None)
    if found is None:
        raise RuntimeError("the session store is not open: run the app with its lifespan")
    return cast(SessionStore, found)


def require_session(request: Request, csrf: str | None) -> Session:
    """The request's cookie session, if ``csrf`` is its CSRF token: every write
    that a session cookie authorises calls this (docs/http.md)."""
    session: Session | None = getattr(request.state, "session", None)
    if session is None:
        ended = getattr(request.state, ENDED, None)
        raise SessionEndedError(ended or "sign in first: this needs a browser session")
    if not csrf_matches(session, csrf):
        raise CsrfError(
            "the CSRF token is missing or not this session's: reload the page and "
            "try again (a write through a session must carry its token)"
        )
    return session


async def get_access_log(request: Request) -> AccessLog:
    """The application's access log, opened by its lifespan."""
    found = getattr(request.app.state, "access_log", None)
    if found is None:
        raise RuntimeError("the access log is not open: run the app with its lifespan")
    return cast(AccessLog, found)


AccessLogDep = Annotated[AccessLog, Depends(get_access_log)]


def log_read(
    log: AccessLog, reader: Reader, request: Request, member: str | None, shown: list[str]
) -> None:
    """Append this request to the access log if it shows restricted values."""
    log_reads(log, reader, request, {member: shown})


def log_reads(
    log: AccessLog, reader: Reader, request: Request, shown: Mapping[str | None, list[str]]
) -> None:
    """Append this request to the access log, once per Member whose restricted
    values it shows (reads across Members: ``/events``, entry bundles)."""
    query = request.url.query
    what = f"{request.method} {request.url.path}" + (f"?{query}" if query else "")
    log_restricted_reads(log, reader, what, shown)
