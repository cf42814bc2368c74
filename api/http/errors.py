"""The one place refusals become HTTP answers: RFC 9457 problem details.

Every error body is ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and ``instance`` (the request path). The status comes
from the error itself: ``LedgerError.status`` and ``ProjectionError.status``
(ledger/errors.py, projections/errors.py); ``verify`` format errors are the
client's bytes at fault (400, 413 over the size limit, 401 for a signature).
A storage fault (the database down, locked, full or read-only), whether a
write raised it as a ``StorageError`` or a read met it in the driver, is a 503
whose detail says whether anything was recorded, never the driver's words
(decision 34). Anything unexpected is a 500 whose body says nothing about the
server.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import InvalidTokenError, LedgerError, StorageError
from ledger.storage_faults import DRIVER_ERRORS, REQUEST, storage_error
from projections.errors import ProjectionError
from verify.errors import BadSignatureError, StatementTooLargeError, VerifyError

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:pmm:problem:"
# Messages quote client input only in short (verify.errors.quote); this is the
# last bound, so that no refusal is ever a large answer (docs/decisions.md 17).
MAX_DETAIL = 1000
RETRY_AFTER = "5"  # seconds: a database restart or a lock is usually over by then
log = logging.getLogger("pmm.http")

# The body of every refusal (RFC 9457), as the OpenAPI schema documents it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
# A documented refusal: ``responses={404: {"description": ..., **PROBLEM}}``.
PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
# Refusals any route may give, documented on every operation (create_app): a
# bearer token that is present but not valid (the app-wide reader dependency),
# and a parameter of the wrong type, which FastAPI would otherwise document as
# its own application/json HTTPValidationError, not the problem it answers.
APP_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "A bearer token that is not valid (`invalid-token`)",
        **PROBLEM,
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    422: {
        "description": "A parameter of the wrong type or out of range (`validation`)",
        **PROBLEM,
    },
}


class RequestTooLargeError(Exception):
    """The request body is over the limit (refused before it is all read)."""

    status = 413


class CsrfError(Exception):
    """A write through a session cookie without the session's CSRF token
    (docs/http.md, "Signing in from a browser")."""

    status = 403


class UnsupportedMediaTypeError(Exception):
    """The request body is not of the one content type the route accepts."""

    status = 415


def _words(name: str) -> str:
    """``StaleVersionError`` → ``stale-version``."""
    stem = name.removesuffix("Error") or name
    return re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower()


def problem(
    request: Request,
    status: int,
    detail: str,
    kind: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response; ``kind`` names the problem (a class name)."""
    phrase = HTTPStatus(status).phrase
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL] + "…"
    if kind is None:
        problem_type, title = "about:blank", phrase
    else:
        words = _words(kind)
        problem_type, title = TYPE_PREFIX + words, words.replace("-", " ").capitalize()
    body = {
        "type": problem_type,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def status_of(exc: Exception) -> int:
    """The HTTP status of a refusal."""
    if isinstance(exc, StatementTooLargeError):
        return 413
    if isinstance(exc, BadSignatureError):
        return 401
    if isinstance(exc, VerifyError):
        return 400
    status = getattr(exc, "status", 500)
    return status if isinstance(status, int) and 400 <= status <= 599 else 500


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``: the only translation to HTTP."""

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)
        if isinstance(exc, StorageError):
            log.error("storage fault on %s: %s", request.url.path, exc.cause)
            response = problem(request, status, str(exc), type(exc).__name__)
            response.headers["Retry-After"] = RETRY_AFTER
            return response
        if status >= 500:
            log.error("server error on %s", request.url.path, exc_info=exc)
            return problem(request, status, "the server failed; nothing was recorded")
        response = problem(request, status, str(exc), type(exc).__name__)
        if status == 401:  # RFC 9110 §11.6.1, RFC 6750 §3
            error = ', error="invalid_token"' if isinstance(exc, InvalidTokenError) else ""
            response.headers["WWW-Authenticate"] = f'Bearer realm="pmm"{error}'
        return response

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = problem(request, exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
        where = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in errors
        )
        return problem(request, 422, where, "ValidationError", errors=errors)

    async def driver(request: Request, exc: Exception) -> JSONResponse:
        fault = storage_error(exc, REQUEST)
        if fault is not None:  # a read met the fault (a write raises StorageError)
            return await refused(request, fault)
        return await unexpected(request, exc)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return problem(request, 500, "the server failed; nothing was recorded")

    for error in (
        LedgerError,
        ProjectionError,
        VerifyError,
        RequestTooLargeError,
        UnsupportedMediaTypeError,
        CsrfError,
    ):
        app.add_exception_handler(error, refused)
    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, driver)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)
