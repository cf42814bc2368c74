"""The HTTP benchmark's baseline: a bare FastAPI app under the same uvicorn.

``GET /bare`` answers a fixed 8,034-byte JSON body shaped like a scores answer
(29 public rows); ``POST /bare`` reads the body and answers 201 with a small JSON.
Served exactly as ``pmm serve`` serves the ledger's app (an import string,
``factory=True``, the same worker count):

    python -m benchmarks.http_bare --workers W --port P
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def _bare_rows() -> list[dict[str, Any]]:
    """29 rows shaped like the public rows of the demo's KEN 2022 scores."""
    return [
        {
            "member": "KEN",
            "cycle": "1",
            "reference_year": 2022,
            "level": "kpi",
            "code": f"KPI-{i:02d}",
            "score": f"{50 + i}.25",
            "status": "scored",
            "grade": None,
            "method": "linear",
            "method_version": f"v1 (entry {50 + i})",
            "sources": f"{50 + i} {2100 + i}",
            "excluded": "",
            "restated_by": None,
            "disclosure": "public",
            "log_size": 3159,
        }
        for i in range(1, 30)
    ]


BARE_BODY: dict[str, Any] = {
    "stream": "assessment/KEN/1",
    "member": "KEN",
    "cycle": "1",
    "reference_year": 2022,
    "position": {
        "size": 3159,
        "label": "now",
        "recorded_at": "2026-11-22T16:01:11.418721Z",
    },
    "audience": "public",
    "withheld": 50,
    "rows": _bare_rows(),
}


def bare_app() -> FastAPI:
    """The baseline: FastAPI under the same uvicorn, doing no work of its own."""
    app = FastAPI(title="bare")

    @app.get("/bare")
    async def get_bare() -> dict[str, Any]:
        return BARE_BODY

    @app.post("/bare", status_code=201)
    async def post_bare(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"received": len(body), "ok": True}, status_code=201)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="the bare FastAPI baseline")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.workers == 1:
        uvicorn.run(bare_app(), host=args.host, port=args.port)
    else:
        uvicorn.run(
            "benchmarks.http_bare:bare_app",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
        )


if __name__ == "__main__":
    main()
