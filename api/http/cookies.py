"""The session cookie: its attributes, and clearing one that no longer opens a
session (docs/http.md, "Signing in from a browser"; decision 30).

``pmm_session`` is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no
other site's page sends it), ``Path=/`` and ``Secure`` whenever the request
came over HTTPS. A cookie that names an ended session is not refused: the read
goes on as anonymous and the answer clears the cookie, which
``ClearEndedSession`` adds to whatever response the route built (a page, a
JSON answer, a problem).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.sessions import SESSION_LIFETIME, Opened

SESSION_COOKIE = "pmm_session"
# Set on the request's state when its cookie names an ended session.
ENDED = "session_ended"


def set_session_cookie(response: Response, request: Request, opened: Opened) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.headers.append("set-cookie", _cleared(request.url.scheme == "https"))


def _cleared(secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f'{SESSION_COOKIE}=""; Max-Age=0; Path=/; HttpOnly; SameSite=strict{flags}'


class ClearEndedSession:
    """ASGI middleware: clear the cookie of a request whose session had ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and ENDED in state:
                secure = scope.get("scheme") == "https"
                MutableHeaders(scope=message).append("set-cookie", _cleared(secure))
            await send(message)

        await self.app(scope, receive, sending)
