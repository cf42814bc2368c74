"""``pmm serve``: the HTTP API (api/http, docs/http.md) under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from api.cli.common import Home, fail, settings_for
from ledger.errors import ConfigurationError
from ledger.home import read_config
from ledger.persistence import DATABASE_URL_VAR, HOME_VAR

serve_app = typer.Typer()
HEALTHCHECK_SECONDS = 60  # how long a worker may take to answer uvicorn's health check


@serve_app.command()
def serve(
    home: Home = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes, each with its own open ledger (writers are "
            "serialised across processes).",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API: signed statements in, receipts, tiles, proofs, scores."""
    import uvicorn

    settings = settings_for(home)
    try:
        read_config(settings)  # a clear error now rather than at startup
    except ConfigurationError as exc:
        fail(str(exc), 2)
    if workers == 1:
        from api.http import create_app

        uvicorn.run(create_app(settings), host=host, port=port)
        return
    from api.http.factory import FACTORY

    # Each worker is a new process that builds the app from the environment
    # (api.http.factory); an absolute home so that it does not depend on cwd.
    os.environ[HOME_VAR] = str(settings.home.resolve())
    if settings.database_url:
        os.environ[DATABASE_URL_VAR] = settings.database_url
    else:
        os.environ.pop(DATABASE_URL_VAR, None)
    # uvicorn kills a worker that does not answer its health check within
    # timeout_worker_healthcheck (5 s by default) and starts another: on a
    # loaded machine a worker still importing its libraries misses that, and
    # the workers are killed and restarted in a loop, never serving.
    uvicorn.run(
        FACTORY,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )
