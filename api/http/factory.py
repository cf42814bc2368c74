"""``app_from_env``: the application for a uvicorn factory import string.

With several workers uvicorn starts each one in a new process and imports the
application there, so it needs an import string rather than an application
object: ``uvicorn.run("api.http.factory:app_from_env", factory=True,
workers=N)``. ``pmm serve --workers N`` sets ``PMM_HOME`` (and
``PMM_DATABASE_URL`` when the ledger is on PostgreSQL) before it starts them;
each worker then opens its own ledger. The ledger serialises writers across
processes (``ledger/writer_lock.py``), so several workers are safe.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.http.app import create_app
from ledger.persistence import Settings

FACTORY = "api.http.factory:app_from_env"


def app_from_env() -> FastAPI:
    """The HTTP API for the ledger that ``PMM_HOME`` and ``PMM_DATABASE_URL`` name."""
    return create_app(Settings.from_env())
