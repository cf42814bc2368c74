"""``pmm serve``: the HTTP API (api/http, docs/http.md) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli_common import Home, fail, settings_for
from ledger.errors import ConfigurationError
from ledger.home import read_config


def serve(
    home: Home = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API: signed statements in, receipts, tiles, proofs, scores."""
    import uvicorn

    from api.http import create_app

    settings = settings_for(home)
    try:
        read_config(settings)  # a clear error now rather than at startup
    except ConfigurationError as exc:
        fail(str(exc), 2)
    uvicorn.run(create_app(settings), host=host, port=port)
