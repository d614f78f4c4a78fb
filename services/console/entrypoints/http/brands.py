"""Brands and their projects: the brand list (tier, owner, last activity, inactive flag), a brand's page
(projects, deals moved through the funnel, payments marked received, the hand-over to another manager),
the brand and project forms, a project's page (completion against target over time, by segment and by
push) and its value report for the brand (a printable page and the brands API's CSV).

Brands are not under one Official Account: these are cross-account pages (``view: Page``). Every read
and write goes to the brands API as the operator; the API decides what each one sees (a manager their
own brands, a head their teams', an admin all) and refuses what they may not do. The page only hides
buttons (``brand:edit``, ``brand:assign``) and shows the API's refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain import brands as texts
from services.console.domain.brands import (
    NOTICES,
    BrandForm,
    ProjectForm,
    form_errors,
    json_block,
    progress_chart,
    today_in_beijing,
)
from services.console.entrypoints.http.deps import Page, View
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

__all__ = ["router"]

router = APIRouter()

#: Brands per page of the list.
PAGE_SIZE = 50

Ref = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

#: The labels the brand templates show.
_TEXTS: dict[str, Any] = {name: getattr(texts, name) for name in ("FUNNEL", "TIERS", "PROJECT_STATUSES", "next_stages")}


def _ref(value: str) -> str:
    return quote(value, safe="")


def items_of(body: Any) -> list[dict[str, Any]]:
    """A list answer (``{"items": [...]}`` or a bare list) as a list."""
    if isinstance(body, Mapping):
        body = body.get("items", [])
    return [dict(item) for item in body or ()]


def _notice(view: View, done: str) -> None:
    if done in NOTICES:
        view.flashes.append(("success", view.gettext(NOTICES[done])))


async def quietly(call: Awaitable[Any]) -> Any:
    """Data a page can do without: a refusal or an outage leaves it out."""
    try:
        return await call
    except (ApiError, ApiUnavailable):
        return None


async def _form(view: View) -> dict[str, str]:
    data = await view.request.form()
    return {key: value for key, value in data.multi_items() if isinstance(value, str)}


async def people(view: View) -> dict[str, str]:
    """The managers this operator may give brands and projects to, names by id (``GET /managers``: an
    admin anyone who may own brands, a head their teams, a manager themself). Empty when unavailable."""
    found = await quietly(view.get(Api.BRANDS, "/managers"))
    return {str(m["id"]): str(m["name"]) for m in items_of(found)}


def names_in(*bodies: Any) -> dict[str, str]:
    """The operator names the brands API gives beside the ids of its lists."""
    names: dict[str, str] = {}
    for body in bodies:
        if isinstance(body, Mapping):
            names |= {str(k): str(v) for k, v in (body.get("names") or {}).items()}
    return names


def _render(view: View, template: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    # Accounts by their switcher names (projects name theirs by appid).
    names = {a.appid: a.name for a in view.console.settings.official_accounts if a.name}
    return view.render(template, status_code, **_TEXTS, account_names=names, **extra)


def _problem(view: View, exc: ApiError) -> None:
    view.flashes.append(("error", view.error(exc)))


# -- the list -----------------------------------------------------------------------------------------


@router.get("/brands", response_class=HTMLResponse)
async def brand_list(
    view: Page,
    tier: Literal["", "A", "B", "C"] = "",
    owner: Annotated[str, Query(max_length=64)] = "",
    inactive: Literal["", "1"] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    done: str = "",
) -> HTMLResponse:
    _notice(view, done)
    params = {"tier": tier, "owner": owner, "inactive": "true" if inactive else ""}
    brands, names = await asyncio.gather(view.get(Api.BRANDS, "/brands", **params), people(view))
    rows = items_of(brands)
    names = names | names_in(brands)
    if q.strip():
        wanted = q.strip().casefold()
        rows = [b for b in rows if wanted in str(b.get("name", "")).casefold()]
    # Everyone this operator may give brands to (whose brands they see), whatever the filter shows now.
    owners = sorted(
        set(names) | {str(b["owner_id"]) for b in rows} | ({owner} if owner else set()), key=lambda o: names.get(o, o)
    )
    filters = {"tier": tier, "owner": owner, "inactive": inactive, "q": q}
    start = (page - 1) * PAGE_SIZE
    return _render(
        view,
        "brands/list.html",
        brands=rows[start : start + PAGE_SIZE],
        total=len(rows),
        names=names,
        owners=owners,
        filters=filters,
        filtered=bool(tier or owner or inactive or q),
        page=page,
        page_size=PAGE_SIZE,
        previous_url=_list_url(filters, page - 1) if page > 1 else "",
        next_url=_list_url(filters, page + 1) if start + PAGE_SIZE < len(rows) else "",
    )


def _list_url(filters: Mapping[str, str], page: int) -> str:
    query = {k: v for k, v in filters.items() if v} | ({"page": str(page)} if page > 1 else {})
    return "/brands" + (f"?{urlencode(query)}" if query else "")


@router.get("/brands/projects", response_class=HTMLResponse)
async def project_list(
    view: Page,
    status: Literal["", "draft", "active", "ended"] = "",
    manager: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """Every project of the brands one sees, newest start first (the API scopes and filters)."""
    projects, managers = await asyncio.gather(
        view.get(Api.BRANDS, "/projects", status=status, manager=manager), people(view)
    )
    names = managers | names_in(projects)
    return _render(
        view,
        "brands/projects.html",
        projects=items_of(projects),
        names=names,
        managers=sorted(set(names) | ({manager} if manager else set()), key=lambda m: names.get(m, m)),
        filters={"status": status, "manager": manager},
        filtered=bool(status or manager),
    )


# -- brand forms --------------------------------------------------------------------------------------


def _brand_form(
    view: View,
    form: BrandForm,
    *,
    brand: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _render(
        view,
        "brands/brand_form.html",
        status_code=status_code,
        form=form,
        brand=brand,
        errors=errors or {},
        names=names or {},
        may_assign=view.may(Permission.BRAND_ASSIGN, None),
    )


@router.get("/brands/new", response_class=HTMLResponse)
async def new_brand(view: Page) -> HTMLResponse:
    return _brand_form(view, BrandForm(), names=await people(view))


@router.post("/brands/new", response_class=HTMLResponse, response_model=None)
async def create_brand(view: Page) -> Response:
    form = BrandForm.parse(await _form(view))
    try:
        created = (await view.call(Api.BRANDS, "POST", "/brands", json=form.body())).body
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        _problem(view, exc)
        errors = form_errors(exc.fields)
        if exc.status == 409:
            errors.setdefault("name", exc.message)
        return _brand_form(view, form, errors=errors, names=await people(view), status_code=exc.status)
    return view.redirect(f"/brands/{_ref(created['id'])}?done=brand_created")


@router.get("/brands/{brand_id}/edit", response_class=HTMLResponse)
async def edit_brand(view: Page, brand_id: Ref) -> HTMLResponse:
    brand = await view.get(Api.BRANDS, f"/brands/{brand_id}")
    return _brand_form(view, BrandForm.of(brand), brand=brand, names=await people(view))


@router.post("/brands/{brand_id}/edit", response_class=HTMLResponse, response_model=None)
async def save_brand(view: Page, brand_id: Ref) -> Response:
    form = BrandForm.parse(await _form(view))
    try:
        await view.call(Api.BRANDS, "PATCH", f"/brands/{brand_id}", json=form.patch())
    except ApiError as exc:
        if exc.status not in (403, 409, 422, 428):
            raise
        _problem(view, exc)
        brand = await view.get(Api.BRANDS, f"/brands/{brand_id}")
        errors = form_errors(exc.fields)
        if exc.status == 409 and "version" not in exc.message:
            errors.setdefault("name", exc.message)
        return _brand_form(view, form, brand=brand, errors=errors, names=await people(view), status_code=exc.status)
    return view.redirect(f"/brands/{brand_id}?done=brand_saved")


# -- a brand ------------------------------------------------------------------------------------------


async def _brand_page(
    view: View,
    brand_id: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    brand = await view.get(Api.BRANDS, f"/brands/{brand_id}")
    projects, deals, payments, managers = await asyncio.gather(
        view.get(Api.BRANDS, f"/brands/{brand_id}/projects"),
        quietly(view.get(Api.BRANDS, "/deals", brand_id=brand_id)),
        quietly(view.get(Api.BRANDS, "/payments", brand_id=brand_id)),
        people(view),
    )
    project_rows = items_of(projects)
    today = today_in_beijing(datetime.now(UTC))
    return _render(
        view,
        "brands/brand.html",
        status_code=status_code,
        brand=brand,
        projects=project_rows,
        project_names={p["id"]: p["name"] for p in project_rows},
        deals=items_of(deals) if deals is not None else None,
        payments=items_of(payments) if payments is not None else None,
        names=names_in(projects, deals, payments) | managers,
        managers=sorted(managers.items(), key=lambda item: item[1]),
        errors=errors or {},
        typed=typed or {},
        today=today.isoformat(),
        may_edit=view.may(Permission.BRAND_EDIT, None),
        may_assign=view.may(Permission.BRAND_ASSIGN, None),
    )


@router.get("/brands/{brand_id}", response_class=HTMLResponse)
async def brand_page(view: Page, brand_id: Ref, done: str = "") -> HTMLResponse:
    _notice(view, done)
    return await _brand_page(view, brand_id)


async def _brand_write(
    view: View, brand_id: str, method: str, path: str, body: dict[str, Any], done: str, prefix: str, anchor: str
) -> Response:
    """A write from the brand page: back to the page with a notice, or the page again with the API's
    refusal beside the form it came from (``prefix``: the form's fields are ``<prefix>.<field>``)."""
    try:
        await view.call(Api.BRANDS, method, path, json=body)
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422, 428):
            raise
        _problem(view, exc)
        errors = {f"{prefix}.{name}": message for name, message in form_errors(exc.fields).items()}
        errors.setdefault(prefix, view.error(exc))
        typed = {f"{prefix}.{key}": str(value) for key, value in body.items() if value is not None}
        return await _brand_page(view, brand_id, status_code=exc.status, errors=errors, typed=typed)
    return view.redirect(f"/brands/{brand_id}?done={done}#{anchor}")


@router.post("/brands/{brand_id}/handover", response_class=HTMLResponse, response_model=None)
async def hand_over(view: Page, brand_id: Ref) -> Response:
    fields = await _form(view)
    body = {"to": fields.get("to", "").strip(), "reason": fields.get("reason", "").strip()}
    return await _brand_write(
        view, brand_id, "POST", f"/brands/{brand_id}/handover", body, "handed_over", "handover", "handover"
    )


@router.post("/brands/{brand_id}/deals", response_class=HTMLResponse, response_model=None)
async def create_deal(view: Page, brand_id: Ref) -> Response:
    fields = await _form(view)
    body: dict[str, Any] = {
        "brand_id": brand_id,
        "value_fen": texts.fen_of(fields.get("value", "")),
        "expected_close_on": fields.get("expected_close_on", "").strip() or None,
        "stage": fields.get("stage", "lead") or "lead",
    }
    return await _brand_write(view, brand_id, "POST", "/deals", body, "deal_created", "deal", "deals")


@router.post("/brands/{brand_id}/deals/{deal_id}/stage", response_class=HTMLResponse, response_model=None)
async def move_deal(view: Page, brand_id: Ref, deal_id: Ref) -> Response:
    fields = await _form(view)
    body: dict[str, Any] = {"stage": fields.get("stage", "")}
    if fields.get("version", "").isdigit():
        body["version"] = int(fields["version"])
    return await _brand_write(
        view, brand_id, "POST", f"/deals/{deal_id}/stage", body, "deal_moved", f"deal-{deal_id}", "deals"
    )


@router.post("/brands/{brand_id}/payments", response_class=HTMLResponse, response_model=None)
async def create_payment(view: Page, brand_id: Ref) -> Response:
    fields = await _form(view)
    amount = texts.fen_of(fields.get("amount", ""))
    body: dict[str, Any] = {
        "brand_id": brand_id,
        "project_id": fields.get("project_id", "") or None,
        "amount_fen": amount,
        "due_on": fields.get("due_on", "").strip() or None,
    }
    return await _brand_write(view, brand_id, "POST", "/payments", body, "payment_created", "payment", "payments")


@router.post("/brands/{brand_id}/payments/{payment_id}/received", response_class=HTMLResponse, response_model=None)
async def receive_payment(view: Page, brand_id: Ref, payment_id: Ref) -> Response:
    fields = await _form(view)
    body = {"received_on": fields.get("received_on", "").strip() or today_in_beijing(datetime.now(UTC)).isoformat()}
    return await _brand_write(
        view,
        brand_id,
        "POST",
        f"/payments/{payment_id}/received",
        body,
        "payment_received",
        f"payment-{payment_id}",
        "payments",
    )


# -- project forms ------------------------------------------------------------------------------------


def _project_form(
    view: View,
    form: ProjectForm,
    brand: dict[str, Any],
    *,
    project: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    accounts = view.accounts()
    if form.appid and form.appid not in {a["appid"] for a in accounts}:
        accounts.append({"appid": form.appid, "name": ""})
    return _render(
        view,
        "brands/project_form.html",
        status_code=status_code,
        form=form,
        brand=brand,
        project=project,
        errors=errors or {},
        names=names or {},
        account_choices=accounts,
    )


@router.get("/brands/{brand_id}/projects/new", response_class=HTMLResponse)
async def new_project(view: Page, brand_id: Ref) -> HTMLResponse:
    brand = await view.get(Api.BRANDS, f"/brands/{brand_id}")
    accounts = view.accounts()
    form = ProjectForm.starting(accounts[0]["appid"] if accounts else "", today_in_beijing(datetime.now(UTC)))
    return _project_form(view, form, brand, names=await people(view))


@router.post("/brands/{brand_id}/projects/new", response_class=HTMLResponse, response_model=None)
async def create_project(view: Page, brand_id: Ref) -> Response:
    form = ProjectForm.parse(await _form(view))
    try:
        created = (await view.call(Api.BRANDS, "POST", f"/brands/{brand_id}/projects", json=form.body())).body
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        _problem(view, exc)
        brand = await view.get(Api.BRANDS, f"/brands/{brand_id}")
        return _project_form(
            view, form, brand, errors=form_errors(exc.fields), names=await people(view), status_code=exc.status
        )
    return view.redirect(f"/brands/projects/{_ref(created['id'])}?done=project_created")


# -- a project ----------------------------------------------------------------------------------------


async def _project_pushes(view: View, appid: str, project_id: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The pushes composed for the project and the account's segments by name, for an operator who may
    read them on that account."""
    base = f"/accounts/{_ref(appid)}"

    async def read(permission: Permission, path: str, **params: str) -> Any:
        if not view.may(permission, appid):
            return None  # not asked: the segments API would refuse, and audit the refusal
        return await quietly(view.get(Api.SEGMENTS, base + path, **params))

    pushes, segments = await asyncio.gather(
        read(Permission.PUSH_VIEW, "/pushes", project_id=project_id), read(Permission.SEGMENT_VIEW, "/segments")
    )
    return items_of(pushes), {str(s["id"]): str(s["name"]) for s in items_of(segments)}


@router.get("/brands/projects/{project_id}", response_class=HTMLResponse)
async def project_page(view: Page, project_id: Ref, done: str = "") -> HTMLResponse:
    _notice(view, done)
    progress = await view.get(Api.BRANDS, f"/projects/{project_id}/progress")
    project = progress["project"]
    appid = str(project["appid"])
    (pushes, segment_names), names = await asyncio.gather(_project_pushes(view, appid, project_id), people(view))
    return _render(
        view,
        "brands/project.html",
        progress=progress,
        project=project,
        chart=json_block(progress_chart(progress)),
        pushes=pushes,
        push_names={str(p["id"]): str(p["name"]) for p in pushes},
        segment_names=segment_names,
        names=names,
        may_edit=view.may(Permission.BRAND_EDIT, None),
        may_see_pushes=view.may(Permission.PUSH_VIEW, appid),
        may_see_segments=view.may(Permission.SEGMENT_VIEW, appid),
    )


@router.get("/brands/projects/{project_id}/edit", response_class=HTMLResponse)
async def edit_project(view: Page, project_id: Ref) -> HTMLResponse:
    project = await view.get(Api.BRANDS, f"/projects/{project_id}")
    brand = await view.get(Api.BRANDS, f"/brands/{_ref(project['brand_id'])}")
    return _project_form(view, ProjectForm.of(project), brand, project=project, names=await people(view))


@router.post("/brands/projects/{project_id}/edit", response_class=HTMLResponse, response_model=None)
async def save_project(view: Page, project_id: Ref) -> Response:
    form = ProjectForm.parse(await _form(view))
    try:
        await view.call(Api.BRANDS, "PATCH", f"/projects/{project_id}", json=form.patch())
    except ApiError as exc:
        if exc.status not in (403, 409, 422, 428):
            raise
        _problem(view, exc)
        project = await view.get(Api.BRANDS, f"/projects/{project_id}")
        brand = await view.get(Api.BRANDS, f"/brands/{_ref(project['brand_id'])}")
        return _project_form(
            view,
            form,
            brand,
            project=project,
            errors=form_errors(exc.fields),
            names=await people(view),
            status_code=exc.status,
        )
    return view.redirect(f"/brands/projects/{project_id}?done=project_saved")


@router.get("/brands/projects/{project_id}/report", response_class=HTMLResponse)
async def value_report(view: Page, project_id: Ref) -> HTMLResponse:
    """The value report as a printable page (A4, no navigation when printed)."""
    report = await view.get(Api.BRANDS, f"/projects/{project_id}/value-report")
    progress, (pushes, segment_names) = await asyncio.gather(
        quietly(view.get(Api.BRANDS, f"/projects/{project_id}/progress")),
        _project_pushes(view, str(report["appid"]), project_id),
    )
    push_names = {str(p["id"]): str(p["name"]) for p in pushes}
    account_names = {a["appid"]: a["name"] for a in view.accounts()}
    return _render(
        view,
        "brands/report.html",
        report=report,
        chart=json_block(progress_chart(progress)) if progress else None,
        push_names=push_names,
        segment_names=segment_names,
        account_name=account_names.get(str(report["appid"]), ""),
        csv_url=f"/brands/projects/{project_id}/report.csv",
    )


@router.get("/brands/projects/{project_id}/report.csv")
async def value_report_csv(view: Page, project_id: Ref) -> Response:
    """The brands API's CSV passed through (the browser cannot call the API itself)."""
    reply = await view.call(Api.BRANDS, "GET", f"/projects/{project_id}/value-report", params={"format": "csv"})
    disposition = reply.headers.get("content-disposition") or (f'attachment; filename="value-report-{project_id}.csv"')
    return Response(
        reply.content,
        media_type=reply.headers.get("content-type", "text/csv; charset=utf-8"),
        headers={"Content-Disposition": disposition},
    )
