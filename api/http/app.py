"""``create_app``: the FastAPI application over one open ledger.

The ledger is opened once when the application starts and closed when it
stops (the lifespan); a ledger already open (tests, an embedding program) can
be passed in instead and is then left for its owner to close. Writes are
authenticated by the statement's own signature and reads by a bearer token
the principal signs itself (api/http/auth.py); a browser may instead sign in
with the principal's key and hold a session cookie (api/http/routes_session.py,
decision 30).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from api.http import errors
from api.http.auth import get_reader
from api.http.cookies import ClearEndedSession
from api.http.docs import install_docs
from api.http.routes_audit import router as audit_router
from api.http.routes_flags import router as flags_router
from api.http.routes_log import router as log_router
from api.http.routes_reports import router as reports_router
from api.http.routes_scores import router as scores_router
from api.http.routes_session import router as session_router
from api.http.routes_statements import router as statements_router
from api.http.statement_schemas import statement_schemas
from api.web.act import router as act_router
from api.web.flag_pages import router as flag_pages_router
from api.web.pages import router as web_router
from api.web.signin import router as signin_router
from ledger.application import Ledger
from ledger.home import open_ledger
from ledger.persistence import Settings

DESCRIPTION = """\
Signed PMM statements in, receipts out; the integrity log laid out as C2SP
tlog-tiles, so a static `pmm export` mirror and this server answer the same
bytes. Reads are anonymous (`public` values only) or as a principal, with
`Authorization: Bearer <token>` signed by the principal's own key (`pmm token`):
its role and Member decide what it sees, and every read of a `restricted` value
is written to a hash-chained access log that integrity officers query. Every
error is an RFC 9457 problem-details body (`application/problem+json`). See
docs/http.md.
"""


def create_app(settings: Settings, ledger: Ledger | None = None) -> FastAPI:
    """The HTTP API for the ledger in ``settings`` (or the open ``ledger``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = ledger is None
        app.state.ledger = open_ledger(settings) if ledger is None else ledger
        app.state.access_log = app.state.ledger.access_log
        app.state.sessions = app.state.ledger.open_sessions()
        try:
            yield
        finally:
            if owned:
                app.state.ledger.close()
            app.state.ledger = app.state.access_log = app.state.sessions = None

    app = FastAPI(
        title="PMM assessment ledger",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # api/http/docs.py serves both pages without a CDN.
        docs_url=None,
        redoc_url=None,
        responses=errors.APP_RESPONSES,
        # Every route checks a bearer token that is present, even where anyone
        # may read: a bad token is refused, never downgraded to anonymous.
        dependencies=[Depends(get_reader)],
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(ClearEndedSession)
    install_docs(app)
    app.include_router(statements_router)
    app.include_router(log_router)
    app.include_router(scores_router)
    app.include_router(audit_router)
    app.include_router(flags_router)
    app.include_router(reports_router)
    app.include_router(web_router)
    app.include_router(flag_pages_router)
    app.include_router(session_router)
    app.include_router(signin_router)
    app.include_router(act_router)

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, plus one component per statement type."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                statement_schemas()
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
