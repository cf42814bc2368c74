"""``/docs`` (Swagger UI) and ``/redoc`` with nothing loaded from a CDN.

FastAPI's own pages load their scripts and styles from cdn.jsdelivr.net (and
ReDoc its fonts from Google), so a reader's browser would run code from a
third party next to a ledger that holds restricted values, and the pages
break offline. Here both pages are FastAPI's own HTML, pointed at assets
served by this app from the ``fastapi-offline`` package, which ships Swagger
UI 5 (the first to render the OpenAPI 3.1 schema FastAPI writes) and ReDoc
(docs/decisions.md 25).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSETS_PATH = "/docs/assets"
# The package's files this app serves, and their media types: nothing else.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


@cache
def asset(name: str) -> bytes:
    return (files("fastapi_offline") / "static" / name).read_bytes()


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets to ``app`` (created with
    ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"

    def assets(request: Request) -> str:
        return str(request.scope.get("root_path", "")) + ASSETS_PATH

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = assets(request)
        return get_swagger_ui_html(
            openapi_url=str(request.scope.get("root_path", "")) + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/swagger-ui.css",
            swagger_favicon_url=f"{root}/favicon.png",
            oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = assets(request)
        return get_redoc_html(
            openapi_url=str(request.scope.get("root_path", "")) + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}/redoc.standalone.js",
            redoc_favicon_url=f"{root}/favicon.png",
            with_google_fonts=False,
        )

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(
                404, f"no such documentation asset; one of {', '.join(ASSETS)}"
            )
        return Response(
            asset(name),
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )
