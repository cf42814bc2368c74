"""What every route shares: the open ledger, as a FastAPI dependency."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from ledger.application import Ledger


async def get_ledger(request: Request) -> Ledger:
    """The application's ledger, opened by its lifespan. ``async`` because it
    never blocks: a plain ``def`` dependency costs a thread-pool hop a request."""
    found = getattr(request.app.state, "ledger", None)
    if found is None:
        raise RuntimeError("the ledger is not open: run the app with its lifespan")
    return cast(Ledger, found)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
