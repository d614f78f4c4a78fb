"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.adapters.catalogs import LOCALES
from services.console.domain.formatting import parse_time
from services.console.entrypoints.http.deps import LANG_COOKIE, Page, caller_of, console_of, locale_of, templates_of
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import SESSION_COOKIE

router = APIRouter()

_ONE_YEAR = 365 * 24 * 3600


def safe_next(value: str | None) -> str:
    """Only paths of this console: never another site (``//host``, ``/\\host``, ``https://``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return "/"
    return value


def _login_page(
    request: Request, *, error: str = "", name: str = "", next_path: str = "/", status: int = 200
) -> HTMLResponse:
    locale = locale_of(request)
    context = {
        "locale": locale,
        "html_lang": "zh-CN" if locale == "zh_CN" else "en",
        "error": error,
        "name": name,
        "next": safe_next(next_path),
        "path": "/login",
        "request": request,
    }
    return HTMLResponse(templates_of(request).render(locale, "login.html", context), status_code=status)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_path=next)


@router.post("/login", response_model=None)
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    console = console_of(request)
    gettext = console.catalogs.get(locale_of(request)).gettext
    if not name.strip() or not password:
        return _login_page(
            request, error=gettext("Enter your name and password."), name=name, next_path=next, status=422
        )
    try:
        reply = await console.apis.call(
            Api.IDENTITY, "POST", "/auth/login", caller_of(request), json={"name": name.strip(), "password": password}
        )
    except ApiError as exc:
        if exc.status == 429:
            minutes = max(1, int(exc.headers.get("retry-after", "900")) // 60)
            error = gettext("Too many failed sign-ins. Try again in %(minutes)s minutes.") % {"minutes": minutes}
        elif exc.status in (401, 403, 422):
            error = gettext("Wrong name or password.")
        else:
            error = gettext("Signing in failed. Try again later.")
        return _login_page(request, error=error, name=name, next_path=next, status=exc.status)
    except ApiUnavailable:
        error = gettext("The sign-in service is unavailable. Try again later.")
        return _login_page(request, error=error, name=name, next_path=next, status=503)
    secret = reply.cookies.get(SESSION_COOKIE)
    if not secret:
        return _login_page(request, error=gettext("Signing in failed. Try again later."), name=name, status=502)
    expires = parse_time(reply.body.get("expires_at")) if isinstance(reply.body, dict) else None
    max_age = int((expires - datetime.now(UTC)).total_seconds()) if expires else 12 * 3600
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max(60, max_age),
        httponly=True,
        secure=not console.settings.is_development,
        samesite="lax",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(view: Page) -> Response:
    # The cookie goes anyway; a session left behind ends on its idle timeout.
    with contextlib.suppress(ApiError, ApiUnavailable):
        await view.call(Api.IDENTITY, "POST", "/auth/logout")
    response: Response = RedirectResponse("/login", status_code=303)
    if view.request.headers.get("HX-Request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", path="/")
    return response


@router.get("/lang/{locale}")
async def switch_language(request: Request, locale: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=_ONE_YEAR, httponly=True, samesite="lax", path="/")
    return response
