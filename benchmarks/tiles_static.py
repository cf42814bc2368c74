"""The tile-serving baseline: an exported folder (``pmm export``) served by
Starlette's ``StaticFiles`` under the same uvicorn as ``pmm serve`` (an import
string, ``factory=True``, the same worker count):

    python -m benchmarks.tiles_static --folder DIR --workers W --port P
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

FOLDER_VAR = "PMM_BENCH_STATIC_FOLDER"


def static_app() -> Starlette:
    """The folder's files at their paths, nothing else."""
    folder = os.environ[FOLDER_VAR]
    return Starlette(routes=[Mount("/", app=StaticFiles(directory=folder))])


def main() -> None:
    parser = argparse.ArgumentParser(description="an exported folder as static files")
    parser.add_argument("--folder", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ[FOLDER_VAR] = args.folder  # the workers inherit it
    uvicorn.run(
        "benchmarks.tiles_static:static_app",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
    )


if __name__ == "__main__":
    main()
