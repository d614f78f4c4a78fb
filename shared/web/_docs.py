"""``/docs`` (Swagger UI) and ``/redoc`` with their scripts served by the app itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and ReDoc's fonts from Google), so on a
machine without internet they stay blank. The files are vendored in ``docs_assets/`` as published on
the npm registry (``manifest.json`` says which) and served under :data:`ASSETS_PATH`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS_PATH", "asset_url", "serve_api_docs"]

ASSETS_PATH = "/docs-assets"
_FOLDER = Path(__file__).parent / "docs_assets"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
#: FastAPI's defaults, without the online validator (it would send the API's map to a third party).
_SWAGGER_PARAMETERS = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    "validatorUrl": None,
}


@cache
def _manifest() -> dict[str, Any]:
    files: dict[str, Any] = json.loads((_FOLDER / "manifest.json").read_text(encoding="utf-8"))["files"]
    return files


def asset_url(package: str, source: str) -> str:
    """Where the vendored file ``source`` of ``package`` is served (its name carries its version)."""
    for name, entry in _manifest().items():
        if entry["package"] == package and entry["from"] == source:
            return f"{ASSETS_PATH}/{name}"
    raise LookupError(f"{package}/{source} is not vendored")


def serve_api_docs(
    app: FastAPI, title: str, *, openapi_url: str, dependencies: Sequence[Any] = (), redoc: bool = True
) -> None:
    """``/docs`` (and ``/redoc`` with ``redoc``) for ``openapi_url``, behind ``dependencies`` (the caller
    check of a guarded API); the assets themselves are public, like any library's."""
    favicon = asset_url("swagger-ui-dist", "favicon-32x32.png")

    @app.get("/docs", include_in_schema=False, dependencies=list(dependencies))
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - docs",
            swagger_js_url=asset_url("swagger-ui-dist", "swagger-ui-bundle.js"),
            swagger_css_url=asset_url("swagger-ui-dist", "swagger-ui.css"),
            swagger_favicon_url=favicon,
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters=_SWAGGER_PARAMETERS,
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc_page() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=asset_url("redoc", "bundles/redoc.standalone.js"),
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )

    if redoc:
        app.get("/redoc", include_in_schema=False, dependencies=list(dependencies))(redoc_page)

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in _manifest():  # only the listed files: never a path into the package
            raise HTTPException(404, detail="no such asset")
        return FileResponse(
            _FOLDER / name,
            media_type=_MEDIA_TYPES[Path(name).suffix],
            # The version is in the name, so a browser may keep the file.
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )
