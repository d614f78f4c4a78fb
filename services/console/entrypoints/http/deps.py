"""What every console route needs: the signed-in operator, their language, the account they work on,
and the operator APIs called as them."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.adapters.catalogs import DEFAULT_LOCALE, LOCALES
from services.console.bootstrap import ConsoleService
from services.console.domain.navigation import Section, admin_sections, business_sections, sections
from services.console.domain.operators import SignedInOperator
from services.console.entrypoints.http.rendering import Templates
from services.console.service_layer.ports import Api, ApiError, ApiReply, Caller, OperatorApis, Upload
from shared.identity import CSRF_HEADER, SESSION_COOKIE, Permission, client_address
from shared.web import service_of

__all__ = [
    "LANG_COOKIE",
    "AccountPage",
    "AccountView",
    "Page",
    "SignInRequired",
    "UnknownAccount",
    "View",
    "locale_of",
]

LANG_COOKIE = "scrm_lang"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):
    """No session, or it ended: the browser goes to the sign-in page and comes back after."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class UnknownAccount(Exception):
    def __init__(self, appid: str) -> None:
        self.appid = appid


class CsrfMissing(Exception):
    pass


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, DEFAULT_LOCALE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def console_of(request: Request) -> ConsoleService:
    service: ConsoleService = service_of(request)
    return service


def templates_of(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


def caller_of(request: Request, csrf_token: str | None = None) -> Caller:
    return Caller(
        session=request.cookies.get(SESSION_COOKIE),
        csrf_token=csrf_token,
        address=client_address(request),
        request_id=request.headers.get("X-Request-ID") or uuid.uuid4().hex,
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


@dataclass
class View:
    """One request's page: who, in which language, on which account; renders templates and calls APIs."""

    request: Request
    console: ConsoleService
    templates: Templates
    operator: SignedInOperator
    locale: str
    caller: Caller
    appid: str | None = None
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def apis(self) -> OperatorApis:
        return self.console.apis

    def gettext(self, message: str, **variables: Any) -> str:
        text = self.console.catalogs.get(self.locale).gettext(message)
        return text % variables if variables else text

    def may(self, permission: Permission, appid: str | None = "") -> bool:
        return self.operator.may(permission, self.appid if appid == "" else appid)

    async def call(
        self,
        api: Api,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Upload] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiReply:
        return await self.apis.call(
            api, method, path, self.caller, json=json, params=params, files=files, data=data, headers=headers
        )

    async def get(self, api: Api, path: str, **params: Any) -> Any:
        return (await self.call(api, "GET", path, params=params)).body

    def account_path(self, suffix: str = "") -> str:
        return f"/accounts/{self.appid}{suffix}"

    def accounts(self) -> list[dict[str, str]]:
        names = {a.appid: a.name for a in self.console.settings.official_accounts}
        return [{"appid": appid, "name": names.get(appid, "")} for appid in self.operator.accounts(names)]

    def context(self, **extra: Any) -> dict[str, Any]:
        nav: list[Section] = sections(self.operator, self.appid) if self.appid else []
        return {
            "view": self,
            "request": self.request,
            "operator": self.operator,
            "locale": self.locale,
            "html_lang": "zh-CN" if self.locale == "zh_CN" else "en",
            "appid": self.appid,
            "accounts": self.accounts(),
            "nav": nav,
            "business_nav": business_sections(self.operator),
            "admin_nav": admin_sections(self.operator),
            "csrf_token": self.operator.csrf_token,
            "flashes": self.flashes,
            "Permission": Permission,
            "sim_url": self.console.settings.wechat_sim_url,
            "path": self.request.url.path,
            **extra,
        }

    def render(self, template: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
        html = self.templates.render(self.locale, template, self.context(**extra))
        return HTMLResponse(html, status_code=status_code)

    def redirect(self, to: str) -> Response:
        """After a write: HTMX follows ``HX-Redirect``; a plain form follows the 303."""
        if is_htmx(self.request):
            return Response(status_code=204, headers={"HX-Redirect": to})
        return RedirectResponse(to, status_code=303)

    def error(self, exc: ApiError) -> str:
        """An API refusal in the operator's language, with the API's own reason after it."""
        label = {
            401: self.gettext("Your session has ended. Sign in again."),
            403: self.gettext("You do not have permission to do this."),
            404: self.gettext("Not found."),
            409: self.gettext("This conflicts with the current state."),
            413: self.gettext("The file is too large."),
            422: self.gettext("Please check the highlighted fields."),
            428: self.gettext("Reload the page: it changed since you opened it."),
            429: self.gettext("Too many attempts. Try again later."),
        }.get(exc.status, self.gettext("The service could not do this."))
        return f"{label} ({exc.message})"


async def _signed_in(request: Request) -> View:
    console = console_of(request)
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        raise SignInRequired(next_path)
    caller = caller_of(request)
    try:
        me = await console.apis.call(Api.IDENTITY, "GET", "/auth/me", caller)
    except ApiError as exc:
        if exc.status in (401, 403):
            raise SignInRequired(next_path) from None
        raise
    operator = SignedInOperator.from_me(me.body)
    if request.method in _UNSAFE:
        # The console's own CSRF check; the APIs check the same token again on what it forwards.
        sent = request.headers.get(CSRF_HEADER) or ""
        if not sent and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            sent = str((await request.form()).get("csrf_token", ""))
        if not operator.csrf_token or not hmac.compare_digest(sent.encode(), operator.csrf_token.encode()):
            raise CsrfMissing
    return View(
        request=request,
        console=console,
        templates=templates_of(request),
        operator=operator,
        locale=locale_of(request),
        caller=Caller(caller.session, operator.csrf_token, caller.address, caller.request_id),
    )


async def _on_account(request: Request, view: Annotated[View, Depends(_signed_in)]) -> View:
    appid = request.path_params["appid"]
    if appid not in {a["appid"] for a in view.accounts()}:
        raise UnknownAccount(appid)
    view.appid = appid
    return view


Page = Annotated[View, Depends(_signed_in)]
AccountPage = Annotated[View, Depends(_on_account)]
AccountView = View


def sign_in_url(next_path: str) -> str:
    return "/login" + (f"?next={quote(next_path, safe='')}" if next_path and next_path != "/" else "")
