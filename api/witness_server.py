"""``pmm witness serve``: a C2SP tlog-witness over HTTP, in its own process.

``POST /add-checkpoint`` only (docs/formats.md §2.4); the logic, state and key live
in ``ledger.witness.Witness``, whose answers (status, body, content type) are
sent exactly as it gives them. A witness is reachable by anyone, so it is
served by uvicorn, as ``pmm serve`` serves the API, with limits
(docs/decisions.md 18): a body over 64 KiB is refused (413) from its
Content-Length or as soon as it passes the limit, a malformed Content-Length
is a 400 (h11 refuses it before the app), request heads are at most 8 KiB,
every connection is closed once it is ``timeout`` seconds old, whatever it is
doing (a slow client holds nothing for long), and beyond ``max_connections``
open connections requests get 503.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from ledger.witness import Witness

MAX_REQUEST = 65_536
MAX_HEAD = 8_192  # bytes of request line and headers (h11's limit)
TIMEOUT = 10.0  # seconds a connection may live: far more than one request needs
KEEP_ALIVE = 2  # seconds an idle connection is kept after an answer
MAX_CONNECTIONS = 64
TEXT = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> Response:
    return Response(message, status, headers={"content-type": TEXT})


async def _body(request: Request) -> bytes | Response:
    """The request body, or the refusal of it (before it is all read)."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):
        return _text(400, "Content-Length must be a decimal number of bytes\n")
    if declared is not None and int(declared) > MAX_REQUEST:
        return _text(413, f"request over {MAX_REQUEST} bytes\n")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST:
            return _text(413, f"request over {MAX_REQUEST} bytes\n")
    return bytes(body)


def make_app(witness: Witness) -> Starlette:
    """The ASGI app: ``POST /add-checkpoint``, and a plain 404 or 405 otherwise."""

    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _body(request)
        except ClientDisconnect:  # the connection closed (or timed out) mid-body
            return Response(status_code=400)
        if isinstance(body, Response):
            return body
        answer = await run_in_threadpool(witness.add_checkpoint, body)
        # The content type exactly as the witness says (text/x.tlog.size on a
        # 409): Starlette would add a charset to a media_type.
        return Response(
            answer.body, answer.status, headers={"content-type": answer.content_type}
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _text(404, "not found: POST /add-checkpoint\n")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        response = _text(405, "only POST /add-checkpoint\n")
        response.headers["Allow"] = "POST"
        return response

    routes = [
        Route(path, add_checkpoint, methods=["POST"])
        for path in ("/add-checkpoint", "/add-checkpoint/")
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})


def _protocol(lifetime: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline on every connection: uvicorn times
    out idle keep-alive connections only, not a client that sends its request
    slowly (or never)."""

    class Bounded(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._deadline = self.loop.call_later(lifetime, transport.close)

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.cancel()
            super().connection_lost(exc)

    return Bounded


def make_server(
    witness: Witness,
    host: str,
    port: int,
    *,
    timeout: float = TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server for ``witness`` and its listening socket (bound now, so
    that a port in use is an OSError here and port 0 names its port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    options: dict[str, Any] = {
        "http": _protocol(timeout),
        "timeout_keep_alive": KEEP_ALIVE,
        "limit_concurrency": max_connections,
        "h11_max_incomplete_event_size": MAX_HEAD,
        "lifespan": "off",
        "access_log": False,
        "log_level": "warning",
    }
    return uvicorn.Server(uvicorn.Config(make_app(witness), **options)), sock
