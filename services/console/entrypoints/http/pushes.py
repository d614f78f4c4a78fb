"""Pushes: the account's list, the composer (drafts, A/B variants, schedule, the eligibility breakdown
and a phone preview as the form changes, test sends to the account's testers) and a push's page (live
progress, failures with WeChat's codes, clicks per link and variant, deliveries, pause/resume/cancel).

Everything goes through the segments API as the operator: composing needs ``push:compose``, sending
``push:send``, and the API refuses whoever lacks them; the page only hides the buttons.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain import pushes as texts
from services.console.domain.pushes import ACTIVE, PushForm, form_errors, quiet_until
from services.console.entrypoints.http.brands import items_of, quietly
from services.console.entrypoints.http.deps import AccountPage, View
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 50
#: The deliveries API answers at most this many records at once.
_MAX_DELIVERIES = 1000


#: The labels and WeChat rules the push templates show.
_TEXTS: dict[str, Any] = {
    name: getattr(texts, name)
    for name in (
        "KINDS",
        "KIND_LABELS",
        "KIND_RULES",
        "BROADCAST_RULE",
        "FALLBACK_RULE",
        "STEP_LABELS",
        "SKIP_REASONS",
        "ERRCODES",
        "CHANNEL_LABELS",
    )
}


def _render(view: View, template: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    return view.render(template, status_code, **_TEXTS, **extra)


def _base(view: View) -> str:
    return view.account_path("/pushes")


async def _quietly(view: View, path: str, **params: Any) -> Any:
    """Data a page can do without (a refusal or an outage leaves it out)."""
    try:
        return await view.get(Api.SEGMENTS, view.account_path(path), **params)
    except (ApiError, ApiUnavailable):
        return None


async def _segments(view: View) -> list[dict[str, Any]]:
    found = await _quietly(view, "/segments")
    return list(found or [])


async def _projects(view: View) -> list[dict[str, Any]] | None:
    """The account's active brand projects a push may count for (the brands API, as the operator);
    None when they cannot be listed (the select is left out, and the push is composed without one)."""
    if not view.may(Permission.PUSH_COMPOSE):
        return None  # the brands API lists them to composers only (and would audit the refusal)
    try:
        found = await view.get(Api.BRANDS, view.account_path("/projects"), active="true")
    except (ApiError, ApiUnavailable):
        return None
    return items_of(found)


async def _projects_of(view: View) -> list[dict[str, Any]]:
    """Every project on the account (ended ones too: a push keeps its link after its project ends)."""
    if not view.may(Permission.PUSH_COMPOSE):
        return []
    return items_of(await quietly(view.get(Api.BRANDS, view.account_path("/projects"))))


async def _form(view: View) -> list[tuple[str, str]]:
    data = await view.request.form()
    return [(key, value) for key, value in data.multi_items() if isinstance(value, str)]


# -- the list -----------------------------------------------------------------------------------------


@router.get("/accounts/{appid}/pushes", response_class=HTMLResponse)
async def push_list(view: AccountPage) -> HTMLResponse:
    pushes = await view.get(Api.SEGMENTS, view.account_path("/pushes"))
    names = {s["id"]: s["name"] for s in await _segments(view)}
    return _render(view, "pushes/list.html", pushes=pushes, segment_names=names)


# -- the composer -------------------------------------------------------------------------------------


def _composer(
    view: View,
    form: PushForm,
    segments: list[dict[str, Any]],
    *,
    push: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    testers: list[dict[str, str]] | None = None,
    projects: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    action = f"{_base(view)}/{push['id']}/edit" if push else f"{_base(view)}/new"
    return _render(
        view,
        "pushes/composer.html",
        status_code=status_code,
        form=form,
        push=push,
        segments=segments,
        errors=errors or {},
        problem=problem,
        testers=testers or [],
        projects=projects,
        save_url=action,
    )


async def _testers(view: View) -> list[dict[str, str]]:
    found = await _quietly(view, "/push-testers")
    return list((found or {}).get("testers", []))


@router.get("/accounts/{appid}/pushes/new", response_class=HTMLResponse)
async def new_push(view: AccountPage, segment: str = "") -> HTMLResponse:
    form = PushForm(segment_id=segment)
    return _composer(view, form, await _segments(view), testers=await _testers(view), projects=await _projects(view))


@router.get("/accounts/{appid}/pushes/{push_id}/edit", response_class=HTMLResponse, response_model=None)
async def edit_push(view: AccountPage, push_id: str) -> Response:
    push = await view.get(Api.SEGMENTS, f"{_base(view)}/{push_id}")
    if push["status"] != "draft":
        return view.redirect(f"{_base(view)}/{push_id}")
    return _composer(
        view,
        PushForm.of(push),
        await _segments(view),
        push=push,
        testers=await _testers(view),
        projects=await _projects(view),
    )


def _refusal(view: View, exc: ApiError, *, sending: bool, saved: bool) -> str:
    """What the composer says when the API refuses: sending without ``push:send`` gets its own words."""
    if exc.status == 403 and sending:
        hint = (
            view.gettext("Your draft is saved.")
            if saved
            else view.gettext("Save it as a draft: someone allowed to send pushes can send it.")
        )
        return f"{view.gettext('Sending needs the push:send permission (a project manager).')} {hint} ({exc.message})"
    return view.error(exc)


async def _save(view: View, push: dict[str, Any] | None) -> Response:
    items = await _form(view)
    form = PushForm.parse(items)
    sending = dict(items).get("action") == "send"
    saved = push
    try:
        if push is None:
            reply = await view.call(Api.SEGMENTS, "POST", _base(view), json=form.body(draft=not sending))
            saved = reply.body
        else:
            reply = await view.call(
                Api.SEGMENTS,
                "PATCH",
                f"{_base(view)}/{push['id']}",
                json=form.patch(),
                headers={"If-Match": f'"{form.version or push["version"]}"'},
            )
            saved = reply.body
            if sending:
                await view.call(
                    Api.SEGMENTS,
                    "POST",
                    f"{_base(view)}/{push['id']}/send",
                    headers={"If-Match": f'"{saved["version"]}"'},
                )
    except ApiError as exc:
        if exc.status not in (403, 409, 422, 428):
            raise
        if saved is not None:
            form.version = str(saved["version"])
        problem = _refusal(view, exc, sending=sending, saved=saved is not None and push is not None)
        return _composer(
            view,
            form,
            await _segments(view),
            push=saved,
            errors=form_errors(exc.fields),
            problem=problem,
            testers=await _testers(view),
            projects=await _projects(view),
            status_code=200 if view.request.headers.get("HX-Request") else exc.status,
        )
    assert saved is not None
    return view.redirect(f"{_base(view)}/{saved['id']}")


@router.post("/accounts/{appid}/pushes/new", response_model=None)
async def create_push(view: AccountPage) -> Response:
    return await _save(view, None)


@router.post("/accounts/{appid}/pushes/{push_id}/edit", response_model=None)
async def save_draft(view: AccountPage, push_id: str) -> Response:
    push = await view.get(Api.SEGMENTS, f"{_base(view)}/{push_id}")
    return await _save(view, push)


@router.post("/accounts/{appid}/pushes/compose/live", response_class=HTMLResponse)
async def live(view: AccountPage) -> HTMLResponse:
    """The eligibility breakdown of the form as it stands (and its phone preview, out of band)."""
    form = PushForm.parse(await _form(view))
    eligibility, problem = None, ""
    if not form.segment_id:
        problem = view.gettext("Choose a segment to see whom the push would reach.")
    else:
        try:
            eligibility = (
                await view.call(
                    Api.SEGMENTS, "POST", f"{_base(view)}/eligibility", json=form.body(draft=True) | {"name": "…"}
                )
            ).body
        except ApiError as exc:
            if exc.status not in (403, 404, 409, 422):
                raise
            problem = f"{view.gettext('Complete the push to see whom it would reach.')} ({exc.message})"
    quiet_now = quiet_until((eligibility or {}).get("quiet_hours"), datetime.now(UTC))
    return _render(
        view, "pushes/_live.html", form=form, eligibility=eligibility, problem=problem, quiet_now=quiet_now, oob=True
    )


@router.post("/accounts/{appid}/pushes/compose/variants", response_class=HTMLResponse)
async def variants(view: AccountPage, op: Literal["add", "remove"] = "add", index: int = -1) -> HTMLResponse:
    """The variants' fields with one added or removed (the rest of the form as posted)."""
    form = PushForm.parse(await _form(view))
    if op == "add":
        form.add_variant()
    else:
        form.remove_variant(index)
    return _render(view, "pushes/_variants_swap.html", form=form, errors={}, oob=True)


@router.post("/accounts/{appid}/pushes/compose/test-send", response_class=HTMLResponse)
async def test_send_unsaved(view: AccountPage) -> HTMLResponse:
    form = PushForm.parse(await _form(view))
    body = form.body(draft=True) | {"name": form.name or "test"}
    return await _test_send(view, f"{_base(view)}/test-send", body)


@router.post("/accounts/{appid}/pushes/{push_id}/test-send", response_class=HTMLResponse)
async def test_send_saved(view: AccountPage, push_id: str) -> HTMLResponse:
    return await _test_send(view, f"{_base(view)}/{push_id}/test-send", None)


async def _test_send(view: View, path: str, body: dict[str, Any] | None) -> HTMLResponse:
    try:
        results = (await view.call(Api.SEGMENTS, "POST", path, json=body)).body["results"]
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        return _render(view, "pushes/_test_results.html", results=[], problem=view.error(exc))
    return _render(view, "pushes/_test_results.html", results=results, problem="")


@router.post("/accounts/{appid}/pushes/testers", response_class=HTMLResponse)
async def testers(view: AccountPage) -> HTMLResponse:
    """Add or remove one tester: the whole list goes back to the API (it keeps at most 20)."""
    fields = dict(await _form(view))
    current = await _testers(view)
    openid = fields.get("openid", "").strip()
    if fields.get("op") == "remove":
        wanted = [t for t in current if t["openid"] != openid]
    else:
        wanted = [t for t in current if t["openid"] != openid]
        wanted.append({"openid": openid, "label": fields.get("label", "").strip()})
    problem = ""
    try:
        current = (
            await view.call(Api.SEGMENTS, "PUT", view.account_path("/push-testers"), json={"testers": wanted})
        ).body["testers"]
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        problem = view.error(exc)
    return _render(view, "pushes/_testers.html", testers=current, testers_problem=problem)


# -- a push -------------------------------------------------------------------------------------------


def _chart(report: dict[str, Any]) -> str:
    """The per-variant numbers the chart draws (JSON in the page, drawn by pushes.js)."""
    variants = report.get("variants") or {}
    data = {
        "variants": list(variants),
        "series": {
            key: [int((v or {}).get(key, 0)) for v in variants.values()]
            for key in ("sent", "failed", "skipped", "clicked")
        },
        "links": [[row["url"], row["clicks"]] for row in (report.get("clicks") or {}).get("by_link", [])],
    }
    # Inside a <script type="application/json">: "</" must not end the block early.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _numbers_context(push: dict[str, Any]) -> dict[str, Any]:
    report = push.get("report") or {}
    return {
        "push": push,
        "report": report,
        "live": push["status"] in ACTIVE,
        "chart": _chart(report),
        "quiet_until": quiet_until(push.get("quiet_hours"), datetime.now(UTC)),
    }


@router.get("/accounts/{appid}/pushes/{push_id}", response_class=HTMLResponse)
async def push_page(
    view: AccountPage,
    push_id: str,
    page: int = Query(1, ge=1, le=_MAX_DELIVERIES // PAGE_SIZE),
    status: Literal["", "skipped", "queued", "sending", "sent", "delivered", "failed"] = "",
) -> HTMLResponse:
    path = f"{_base(view)}/{push_id}"
    push = await view.get(Api.SEGMENTS, path)
    params: dict[str, Any] = {"limit": min(_MAX_DELIVERIES, page * PAGE_SIZE + 1)}
    if status:
        params["status"] = status
    records = [] if push["status"] == "draft" else await view.get(Api.SEGMENTS, path + "/deliveries", **params)
    start = (page - 1) * PAGE_SIZE
    segment = await _quietly(view, f"/segments/{push['segment_id']}")
    eligibility = await _quietly(view, f"/pushes/{push_id}/eligibility") if push["status"] == "draft" else None
    project = None
    if push.get("project_id"):
        # Its name, when the brands API lists it to this operator; otherwise the page shows the id.
        project = next((p for p in await _projects_of(view) if p.get("id") == push["project_id"]), None)
    return _render(
        view,
        "pushes/push.html",
        **_numbers_context(push),
        segment=segment,
        deliveries=records[start : start + PAGE_SIZE],
        page=page,
        more=len(records) > start + PAGE_SIZE,
        status_filter=status,
        eligibility=eligibility,
        project=project,
        quiet_now=quiet_until((eligibility or {}).get("quiet_hours"), datetime.now(UTC)),
        form=PushForm.of(push),
    )


@router.get("/accounts/{appid}/pushes/{push_id}/numbers", response_class=HTMLResponse)
async def push_numbers(view: AccountPage, push_id: str) -> HTMLResponse:
    push = await view.get(Api.SEGMENTS, f"{_base(view)}/{push_id}")
    return _render(view, "pushes/_numbers.html", **_numbers_context(push))


@router.post("/accounts/{appid}/pushes/{push_id}/delete", response_model=None)
async def delete_draft(view: AccountPage, push_id: str) -> Response:
    version = dict(await _form(view)).get("version", "")
    headers = {"If-Match": f'"{version}"'} if version.isdigit() else None
    await view.call(Api.SEGMENTS, "DELETE", f"{_base(view)}/{push_id}", headers=headers)
    return view.redirect(_base(view))


@router.post("/accounts/{appid}/pushes/{push_id}/{action}", response_model=None)
async def act(view: AccountPage, push_id: str, action: Literal["send", "pause", "resume", "cancel"]) -> Response:
    """Send a draft, pause, resume or cancel: the API decides whether this operator may."""
    version = dict(await _form(view)).get("version", "")
    headers = {"If-Match": f'"{version}"'} if action == "send" and version.isdigit() else None
    await view.call(Api.SEGMENTS, "POST", f"{_base(view)}/{push_id}/{action}", headers=headers)
    return view.redirect(f"{_base(view)}/{push_id}")
