"""The console's app: pages over the operator APIs, static files, and errors shown as pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.console.adapters import load_catalogs
from services.console.bootstrap import ConsoleService, bootstrap
from services.console.entrypoints.http import (
    admin,
    auth,
    brands,
    business,
    campaigns,
    coverage,
    dashboards,
    members,
    overview,
    pushes,
    referrals,
    review,
    segments,
)
from services.console.entrypoints.http.deps import (
    CsrfMissing,
    SignInRequired,
    UnknownAccount,
    is_htmx,
    locale_of,
    sign_in_url,
    templates_of,
)
from services.console.entrypoints.http.rendering import STATIC_DIR, Templates
from services.console.service_layer.ports import ApiError, ApiUnavailable, OperatorApis
from services.console.settings import ConsoleSettings
from shared.web import create_service_app

__all__ = ["create_app"]

#: Scripts only from this origin (the vendored files): no inline script runs, whatever a page shows.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _problem(request: Request, status: int, title: str, message: str) -> Response:
    """An error as a page (or, for HTMX, as a message in the page's flash area)."""
    locale = locale_of(request)
    templates = templates_of(request)
    context = {
        "locale": locale,
        "html_lang": "zh-CN" if locale == "zh_CN" else "en",
        "status": status,
        "title": title,
        "message": message,
        "path": request.url.path,
        "request": request,
    }
    if is_htmx(request):
        html = templates.render(
            locale, "partials/flash.html", {**context, "flashes": [("error", f"{title} {message}")]}
        )
        # Shown where messages go, with 200 so HTMX swaps it; the real status travels in a header.
        return HTMLResponse(html, headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", "X-Status": str(status)})
    return HTMLResponse(templates.render(locale, "error.html", context), status_code=status)


def _text(request: Request, message: str) -> str:
    service: ConsoleService = request.app.state.service
    return service.catalogs.get(locale_of(request)).gettext(message)


def create_app(settings: ConsoleSettings, *, apis: OperatorApis | None = None) -> FastAPI:
    """``apis``: tests pass their own (the real apps in process, or a fake); otherwise HTTP."""
    catalogs = load_catalogs()

    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": sign_in_url(exc.next_path)})
        return RedirectResponse(sign_in_url(exc.next_path), status_code=303)

    async def unknown_account(request: Request, exc: UnknownAccount) -> Response:
        return _problem(request, 404, _text(request, "Unknown account."), exc.appid)

    async def csrf(request: Request, exc: CsrfMissing) -> Response:
        return _problem(
            request, 403, _text(request, "This form has expired."), _text(request, "Reload the page and try again.")
        )

    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.status == 401:
            return await sign_in(request, SignInRequired(request.url.path))
        titles = {403: "You do not have permission to do this.", 404: "Not found."}
        return _problem(
            request, exc.status, _text(request, titles.get(exc.status, "The service could not do this.")), exc.message
        )

    async def unavailable(request: Request, exc: ApiUnavailable) -> Response:
        return _problem(request, 503, _text(request, "A service is unavailable. Try again shortly."), str(exc))

    handlers: dict[type[Exception], Callable[[Request, Any], Awaitable[Response]]] = {
        SignInRequired: sign_in,
        UnknownAccount: unknown_account,
        CsrfMissing: csrf,
        ApiError: api_error,
        ApiUnavailable: unavailable,
    }
    app = create_service_app(
        settings,
        title="SCRM console",
        summary="The operators' web console",
        bootstrap=lambda: bootstrap(settings, catalogs, apis=apis),
        readiness={"identity-api": lambda service: service.apis.ready()},
        public_routers=[
            auth.router,
            overview.router,
            admin.router,
            members.router,
            review.router,
            segments.router,
            pushes.router,
            campaigns.router,
            dashboards.router,
            coverage.router,
            business.router,
            brands.router,
            referrals.router,
        ],
        exception_handlers=handlers,
        api_docs=False,
    )
    app.state.templates = Templates(catalogs)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/vendor/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"  # versioned file names
        elif request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=300"
        else:
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold operators' data
        return response

    return app
