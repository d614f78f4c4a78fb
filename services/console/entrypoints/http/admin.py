"""Administration: operators and their grants, API tokens, open sessions and the audit log.

Every page is the identity API's answer for the signed-in operator: the API decides who may manage
operators or read which accounts' audit entries, and a refusal is shown as the page's error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain.admin import (
    AUDIT_FILTERS,
    NOTICES,
    PERMISSION_LABELS,
    ROLE_LABELS,
    audit_csv,
    beijing_to_utc,
    changes,
    permission_matrix,
    role_permissions,
)
from services.console.domain.formatting import parse_time
from services.console.entrypoints.http.deps import Page, View
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import ALL_ACCOUNTS, MIN_PASSWORD_LENGTH, Permission, Role
from shared.web import csv_response

router = APIRouter(prefix="/admin")

Ref = Annotated[str, Path(min_length=1, max_length=64)]
Text = Annotated[str, Form(max_length=200)]

#: Audit entries per page; "more" asks for this many again (the API answers at most 1,000).
AUDIT_PAGE = 50
AUDIT_MAX = 1000


def _ref(value: str) -> str:
    return quote(value, safe="")


def _notice(view: View, done: str) -> None:
    if done in NOTICES:
        view.flashes.append(("success", view.gettext(NOTICES[done])))


async def _operators_or_none(view: View) -> list[dict[str, Any]] | None:
    """The operators, when this caller may list them (tokens and sessions show names with them).

    Not asked when the grants say no: the API would refuse and audit the denial on every page view."""
    if not view.may(Permission.OPERATOR_MANAGE, None):
        return None
    try:
        found = await view.get(Api.IDENTITY, "/operators")
    except (ApiError, ApiUnavailable):
        return None
    return found if isinstance(found, list) else None


def _names(operators: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(o["id"]): str(o["name"]) for o in operators or ()}


def _role_context() -> dict[str, Any]:
    return {
        "roles": [r.value for r in Role],
        "role_labels": ROLE_LABELS,
        "role_permissions": {r.value: role_permissions(r) for r in Role},
        "permission_labels": PERMISSION_LABELS,
        "matrix": permission_matrix(),
        "ALL_ACCOUNTS": ALL_ACCOUNTS,
    }


# ---- operators --------------------------------------------------------------------------------------


async def _operators_page(
    view: View, *, status: int = 200, form: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> HTMLResponse:
    operators = await view.get(Api.IDENTITY, "/operators")
    # The switcher's accounts, and any account someone already holds a role on (an account the
    # console's settings do not list yet can still be granted like the others).
    grantable = view.accounts()
    listed = {a["appid"] for a in grantable}
    held = {g["appid"] for o in operators for g in o["grants"]} - listed - {ALL_ACCOUNTS}
    grantable += [{"appid": appid, "name": ""} for appid in sorted(held)]
    return view.render(
        "admin/operators.html",
        grant_accounts=grantable,
        status_code=status,
        operators=sorted(operators, key=lambda o: (o["disabled"], o["name"])),
        form=form or {"kind": "operator"},
        errors=errors or {},
        min_password=MIN_PASSWORD_LENGTH,
        **_role_context(),
    )


@router.get("/operators", response_class=HTMLResponse)
async def operators(view: Page, done: str = "") -> HTMLResponse:
    _notice(view, done)
    return await _operators_page(view)


@router.post("/operators", response_class=HTMLResponse, response_model=None)
async def create_operator(
    view: Page,
    name: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=16)] = "operator",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    form = {"name": name, "kind": kind}
    body: dict[str, Any] = {"name": name.strip(), "kind": kind}
    if kind != "service":
        body["password"] = password
    try:
        created = (await view.call(Api.IDENTITY, "POST", "/operators", json=body)).body
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = exc.fields
        if exc.status == 409:
            errors.setdefault("name", view.error(exc))
        elif not errors:
            # The API names a short password in words (its rule, not a schema's): put it by the field.
            errors["password" if "password" in exc.message else "name"] = exc.message
        view.flashes.append(("error", view.error(exc)))
        return await _operators_page(view, status=exc.status, form=form, errors=errors)
    return view.redirect(f"/admin/operators?done=operator_created#op-{created['id']}")


@router.post("/operators/{op_id}/disable", response_model=None)
async def disable_operator(view: Page, op_id: Ref) -> Response:
    await view.call(Api.IDENTITY, "POST", f"/operators/{_ref(op_id)}/disable")
    return view.redirect(f"/admin/operators?done=operator_disabled#op-{op_id}")


@router.post("/operators/{op_id}/enable", response_model=None)
async def enable_operator(view: Page, op_id: Ref) -> Response:
    await view.call(Api.IDENTITY, "POST", f"/operators/{_ref(op_id)}/enable")
    return view.redirect(f"/admin/operators?done=operator_enabled#op-{op_id}")


@router.post("/operators/{op_id}/grants", response_class=HTMLResponse, response_model=None)
async def add_grant(view: Page, op_id: Ref, role: Text = "", appid: Text = "") -> Response:
    try:
        await view.call(Api.IDENTITY, "POST", f"/operators/{_ref(op_id)}/grants", json={"role": role, "appid": appid})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        view.flashes.append(("error", view.error(exc)))
        return await _operators_page(view, status=exc.status)
    return view.redirect(f"/admin/operators?done=grant_added#op-{op_id}")


@router.post("/operators/{op_id}/grants/remove", response_model=None)
async def remove_grant(view: Page, op_id: Ref, role: Text = "", appid: Text = "") -> Response:
    await view.call(Api.IDENTITY, "DELETE", f"/operators/{_ref(op_id)}/grants", params={"role": role, "account": appid})
    return view.redirect(f"/admin/operators?done=grant_removed#op-{op_id}")


# ---- API tokens -------------------------------------------------------------------------------------


def _token_state(token: dict[str, Any], now: datetime) -> str:
    if token.get("revoked_at"):
        return "revoked"
    expires = parse_time(token.get("expires_at"))
    return "expired" if expires is not None and expires <= now else "active"


async def _tokens_page(
    view: View,
    *,
    status: int = 200,
    created: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    of: str = "",
) -> HTMLResponse:
    tokens = await view.get(Api.IDENTITY, "/tokens", operator=of)
    operators = await _operators_or_none(view)
    now = datetime.now(UTC)
    return view.render(
        "admin/tokens.html",
        status_code=status,
        tokens=[{**t, "state": _token_state(t, now)} for t in tokens],
        operators=[o for o in operators or () if not o["disabled"]] if operators is not None else None,
        names=_names(operators),
        created=created,
        form=form or {"expires_in_days": "90", "scopes": [], "operator": of},
        errors=errors or {},
        permissions=[p.value for p in Permission],
        permission_labels=PERMISSION_LABELS,
        of=of,
    )


OperatorFilter = Annotated[str, Query(max_length=64)]


@router.get("/tokens", response_class=HTMLResponse)
async def tokens(view: Page, done: str = "", operator: OperatorFilter = "") -> HTMLResponse:
    """``operator``: one operator's tokens only (linked from the operators page)."""
    _notice(view, done)
    return await _tokens_page(view, of=operator)


@router.post("/tokens", response_class=HTMLResponse)
async def create_token(
    view: Page,
    operator: Annotated[str, Form(max_length=64)] = "",
    label: Annotated[str, Form(max_length=100)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_in_days: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    """The answer is the only page that ever shows the token: it is rendered here, never stored or redirected to."""
    chosen = [s for s in scopes or () if s]
    form = {"operator": operator, "label": label, "scopes": chosen, "expires_in_days": expires_in_days}
    body: dict[str, Any] = {"operator": operator.strip(), "label": label.strip(), "scopes": chosen or None}
    if expires_in_days.strip():
        body["expires_in_days"] = expires_in_days.strip()
    try:
        created = (await view.call(Api.IDENTITY, "POST", "/tokens", json=body)).body
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        errors = exc.fields
        if exc.status == 404:
            errors.setdefault("operator", exc.message)
        elif not errors:
            errors["scopes"] = exc.message
        view.flashes.append(("error", view.error(exc)))
        return await _tokens_page(view, status=exc.status, form=form, errors=errors)
    return await _tokens_page(view, status=201, created=created)


@router.post("/tokens/{token_id}/revoke", response_model=None)
async def revoke_token(view: Page, token_id: Ref) -> Response:
    await view.call(Api.IDENTITY, "DELETE", f"/tokens/{_ref(token_id)}")
    return view.redirect("/admin/tokens?done=token_revoked")


# ---- sessions ---------------------------------------------------------------------------------------


@router.get("/sessions", response_class=HTMLResponse)
async def sessions(view: Page, done: str = "", operator: OperatorFilter = "") -> HTMLResponse:
    _notice(view, done)
    found = await view.get(Api.IDENTITY, "/sessions", operator=operator)
    return view.render(
        "admin/sessions.html",
        sessions=found,
        of=operator,
        names=_names(await _operators_or_none(view)),
        own=view.operator.session_id,
    )


@router.post("/sessions/{session_id}/end", response_model=None)
async def end_session(view: Page, session_id: Ref) -> Response:
    await view.call(Api.IDENTITY, "DELETE", f"/sessions/{_ref(session_id)}")
    if session_id == view.operator.session_id:
        return view.redirect("/login")  # one's own: signed out like any other
    return view.redirect("/admin/sessions?done=session_ended")


# ---- the audit log ----------------------------------------------------------------------------------

Filter = Annotated[str, Query(max_length=128)]


def _audit_params(filters: dict[str, str], errors: dict[str, str], view: View) -> dict[str, Any]:
    """The identity API's query: the page's filters with since/until read as Beijing time, sent in UTC."""
    params: dict[str, Any] = {k: v for k, v in filters.items() if v and k not in ("since", "until")}
    for key in ("since", "until"):
        if filters.get(key):
            moment = beijing_to_utc(filters[key])
            if moment is None:
                errors[key] = view.gettext("Not a date and time.")
            else:
                params[key] = moment.isoformat()
    return params


async def _read_audit(
    view: View, filters: dict[str, str], limit: int
) -> tuple[list[dict[str, Any]], bool, dict[str, str]]:
    errors: dict[str, str] = {}
    params = _audit_params(filters, errors, view)
    if errors:
        return [], False, errors
    asked = min(limit + 1, AUDIT_MAX)
    entries = await view.get(Api.IDENTITY, "/audit", **params, limit=asked)
    more = len(entries) > limit and limit < AUDIT_MAX
    return entries[:limit], more, errors


def _filters(
    actor_id: str, appid: str, action: str, object_type: str, object_id: str, since: str, until: str
) -> dict[str, str]:
    values = (actor_id, appid, action, object_type, object_id, since, until)
    return {k: v.strip() for k, v in zip(AUDIT_FILTERS, values, strict=True)}


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    view: Page,
    actor_id: Filter = "",
    appid: Filter = "",
    action: Filter = "",
    object_type: Filter = "",
    object_id: Filter = "",
    since: Filter = "",
    until: Filter = "",
    limit: Annotated[int, Query(ge=1, le=AUDIT_MAX)] = AUDIT_PAGE,
) -> HTMLResponse:
    filters = _filters(actor_id, appid, action, object_type, object_id, since, until)
    entries, more, errors = await _read_audit(view, filters, limit)
    if errors:
        view.flashes.append(("error", view.gettext("Please check the highlighted fields.")))
    operators = await _operators_or_none(view)
    shown = {k: v for k, v in filters.items() if v}
    return view.render(
        "admin/audit.html",
        status_code=422 if errors else 200,
        entries=[{**e, "changes": changes(e.get("before"), e.get("after"))} for e in entries],
        filters=filters,
        errors=errors,
        operators=operators,
        names=_names(operators),
        # The next entries are where this page ended: the link lands on the first of them.
        more_url=f"/admin/audit?{urlencode({**shown, 'limit': min(limit + AUDIT_PAGE, AUDIT_MAX)})}#e{limit + 1}"
        if more
        else "",
        export_url="/admin/audit/export.csv" + ("?" + urlencode(shown) if shown else ""),
        filtered=bool(shown),
        limit=limit,
    )


@router.get("/audit/export.csv", response_model=None)
async def export_audit(
    view: Page,
    actor_id: Filter = "",
    appid: Filter = "",
    action: Filter = "",
    object_type: Filter = "",
    object_id: Filter = "",
    since: Filter = "",
    until: Filter = "",
) -> Response:
    """The filtered entries, newest first, up to the API's 1,000."""
    filters = _filters(actor_id, appid, action, object_type, object_id, since, until)
    errors: dict[str, str] = {}
    params = _audit_params(filters, errors, view)
    if errors:
        return Response("; ".join(f"{k}: {v}" for k, v in errors.items()), status_code=422, media_type="text/plain")
    entries = await view.get(Api.IDENTITY, "/audit", **params, limit=AUDIT_MAX)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return csv_response(audit_csv(entries), f"audit-{stamp}.csv")
