"""Targeted pushes: composed as drafts or scheduled to a segment, paused, resumed and cancelled, with
deliveries and stats; what a push would reach before it is sent; test sends; a member's pushes.

Permissions: reading a push, its stats, its deliveries and its eligibility breakdown needs
``push:view``. Composing is apart from sending: a draft (``"draft": true``) needs ``push:compose``, and
so do editing it (``PATCH``, with the version it edits: ``If-Match: "3"`` or ``"version": 3``),
deleting it, the test whitelist and test sends. Scheduling needs ``push:send`` too: creating a push
that is not a draft needs both, sending a draft needs ``push:send``. Pause, resume and cancel need
``push:send``. The composer is the caller's identity (``created_by``), never a body field. Every write
is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.segments.domain.pushes import Creator, Push, PushAction
from services.segments.entrypoints.http.deps import AppId, ItemId, OpenId, Pushes
from services.segments.entrypoints.http.schemas import (
    ID_PATTERN,
    PushIn,
    PushOut,
    PushPatch,
    QuietHoursIn,
    TestersIn,
)
from shared.identity import Actor, Permission, audit, require

__all__ = ["TAG", "account_router", "router"]

TAG = "pushes"
router = APIRouter(prefix="/accounts/{appid}/pushes", tags=[TAG])
#: The account's push settings and a member's pushes (outside ``/pushes``).
account_router = APIRouter(prefix="/accounts/{appid}", tags=[TAG])

_VIEW = [Depends(require(Permission.PUSH_VIEW))]
_SEND = [Depends(require(Permission.PUSH_SEND))]
_COMPOSE = [Depends(require(Permission.PUSH_COMPOSE))]

IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=40, description='The version edited, e.g. "3" (the ETag)')
]


def _expected_version(if_match: str | None, body_version: int | None = None) -> int | None:
    """The version a change is based on: from ``If-Match`` (``"3"``, ``W/"3"``), else from the body."""
    if if_match is None:
        return body_version
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise RequestValidationError(
            [{"type": "value_error", "loc": ["header", "If-Match"], "msg": 'expected a version like "3"'}]
        )
    return int(text)


def _with_etag(response: Response, doc: dict[str, Any]) -> PushOut:
    out = PushOut.of(doc)
    response.headers["ETag"] = f'"{out.version}"'
    return out


def _audited(out: PushOut) -> dict[str, Any]:
    """What an audit entry keeps of a push: its content, schedule and status, not its counters."""
    fields = {"name", "segment_id", "status", "send_at", "broadcast", "variants", "project_id"}
    fields |= {"wait_for_window_hours", "marketing"}
    return out.model_dump(mode="json", include=fields)


def _fields(body: PushIn) -> dict[str, Any]:
    """The body as the use cases take it."""
    return {
        "name": body.name,
        "segment_id": body.segment_id,
        "variants": [v.variant() for v in body.variants],
        "send_at": body.send_at,
        "quiet_hours": body.quiet_hours.hours() if isinstance(body.quiet_hours, QuietHoursIn) else body.quiet_hours,
        "cap": None if body.cap is None else body.cap.cap(),
        "broadcast": body.broadcast,
        "project_id": body.project_id,
        "wait_for_window": None if body.wait_for_window_hours is None else timedelta(hours=body.wait_for_window_hours),
        "marketing": body.marketing,
    }


async def _unsaved(appid: str, body: PushIn, pushes: Pushes, actor: Actor) -> Push:
    """An unsaved body as a push (checked as creating it would be), for a breakdown or a test send."""
    creator = Creator(id=actor.actor_id, name=actor.name)
    return await pushes.compose(appid, push_id="unsaved", **_fields(body), created_by=creator, draft=True)


@router.post(
    "",
    status_code=201,
    summary="Compose a draft, or schedule a push to a segment",
    description='`"draft": true` keeps it unsent and needs `push:compose`; otherwise it is scheduled at once '
    "and needs `push:send` as well.",
    dependencies=_COMPOSE,
)
async def create_push(
    appid: AppId, body: PushIn, pushes: Pushes, actor: Actor, request: Request, response: Response
) -> PushOut:
    if not body.draft:  # scheduling: checked (and a denial audited) as a route's own permission is
        await require(Permission.PUSH_SEND)(request, actor)
    creator = Creator(id=actor.actor_id, name=actor.name)
    doc = await pushes.create(appid, **_fields(body), created_by=creator, draft=body.draft)
    out = _with_etag(response, doc)
    await audit(request, "push.drafted" if body.draft else "push.scheduled", "push", out.id, after=_audited(out))
    return out


@router.post(
    "/eligibility",
    summary="Whom an unsaved push would reach now, step by step",
    description="Same body as creating a push; nothing is saved.",
    dependencies=_VIEW,
)
async def eligibility_unsaved(appid: AppId, body: PushIn, pushes: Pushes, actor: Actor) -> dict[str, Any]:
    return await pushes.eligibility(await _unsaved(appid, body, pushes, actor))


@router.post(
    "/test-send",
    summary="Send an unsaved push to the account's testers now",
    description="Each variant, each channel it has, to each tester; nothing is saved as a push.",
    dependencies=_COMPOSE,
)
async def test_send_unsaved(
    appid: AppId, body: PushIn, pushes: Pushes, actor: Actor, request: Request
) -> dict[str, Any]:
    results = await pushes.test_send(await _unsaved(appid, body, pushes, actor), actor.actor_id)
    await audit(request, "push.test_sent", "push", "unsaved", after={"name": body.name, "sends": len(results)})
    return {"push_id": None, "results": results}


@router.get("", summary="The account's pushes, newest first", dependencies=_VIEW)
async def list_pushes(
    appid: AppId,
    pushes: Pushes,
    project_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="Only this project's pushes")
    ] = None,
) -> list[PushOut]:
    return [PushOut.of(doc) for doc in await pushes.of_account(appid, project_id=project_id)]


@router.get("/{push_id}", summary="A push with its status and stats (its version is the ETag)", dependencies=_VIEW)
async def get_push(appid: AppId, push_id: ItemId, pushes: Pushes, response: Response) -> PushOut:
    return _with_etag(response, await pushes.get(appid, push_id))


@router.patch(
    "/{push_id}",
    summary="Edit a draft (If-Match or version required)",
    description="The fields given replace the draft's. Only a draft is edited (409 otherwise).",
    dependencies=_COMPOSE,
)
async def edit_draft(
    appid: AppId,
    push_id: ItemId,
    body: PushPatch,
    pushes: Pushes,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> PushOut:
    expected = _expected_version(if_match, body.version)
    if expected is None:
        raise HTTPException(428, detail='send the version you edit: If-Match: "<version>" or "version" in the body')
    current = PushOut.of(await pushes.get(appid, push_id))
    merged = current.model_dump(include={"name", "segment_id", "variants", "send_at", "quiet_hours", "cap"})
    merged |= {"broadcast": current.broadcast, "project_id": current.project_id}
    merged |= {"wait_for_window_hours": current.wait_for_window_hours, "marketing": current.marketing}
    merged |= body.model_dump(exclude_unset=True, exclude={"version"})
    try:
        edited = PushIn.model_validate(merged)
    except ValidationError as exc:  # the merged draft does not make a push: said against the body
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    creator = None if current.created_by is None else Creator(**current.created_by)
    push = await pushes.compose(appid, push_id=push_id, **_fields(edited), created_by=creator, draft=True)
    out = _with_etag(response, await pushes.edit(push, expected))
    changed = body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    await audit(
        request, "push.edited", "push", push_id, before={"version": expected}, after={"version": out.version, **changed}
    )
    return out


@router.post("/{push_id}/send", summary="Schedule a draft (at its send_at if ahead, else now)", dependencies=_SEND)
async def send_draft(
    appid: AppId, push_id: ItemId, pushes: Pushes, request: Request, response: Response, if_match: IfMatch = None
) -> PushOut:
    out = _with_etag(response, await pushes.send(appid, push_id, _expected_version(if_match)))
    await audit(request, "push.scheduled", "push", push_id, before={"status": "draft"}, after=_audited(out))
    return out


@router.delete("/{push_id}", status_code=204, summary="Delete a draft", dependencies=_COMPOSE)
async def delete_draft(
    appid: AppId, push_id: ItemId, pushes: Pushes, request: Request, if_match: IfMatch = None
) -> None:
    before = PushOut.of(await pushes.delete(appid, push_id, _expected_version(if_match)))
    await audit(request, "push.deleted", "push", push_id, before=_audited(before))


@router.get("/{push_id}/eligibility", summary="Whom the push would reach now, step by step", dependencies=_VIEW)
async def eligibility(appid: AppId, push_id: ItemId, pushes: Pushes) -> dict[str, Any]:
    return await pushes.eligibility_of(appid, push_id)


@router.post(
    "/{push_id}/test-send",
    summary="Send the push (draft or not) to the account's testers now",
    description="Each variant, each channel it has, to each tester. Not a delivery: no stats, no record.",
    dependencies=_COMPOSE,
)
async def test_send(appid: AppId, push_id: ItemId, pushes: Pushes, actor: Actor, request: Request) -> dict[str, Any]:
    results = await pushes.test_send_of(appid, push_id, actor.actor_id)
    await audit(request, "push.test_sent", "push", push_id, after={"sends": len(results)})
    return {"push_id": push_id, "results": results}


@router.post("/{push_id}/pause", summary="Stop sending until resumed", dependencies=_SEND)
async def pause(appid: AppId, push_id: ItemId, pushes: Pushes, request: Request) -> PushOut:
    return await _act(appid, push_id, pushes, request, PushAction.PAUSE)


@router.post("/{push_id}/resume", summary="Go on where it stopped (paused or quota)", dependencies=_SEND)
async def resume(appid: AppId, push_id: ItemId, pushes: Pushes, request: Request) -> PushOut:
    return await _act(appid, push_id, pushes, request, PushAction.RESUME)


@router.post("/{push_id}/cancel", summary="Stop for good", dependencies=_SEND)
async def cancel(appid: AppId, push_id: ItemId, pushes: Pushes, request: Request) -> PushOut:
    return await _act(appid, push_id, pushes, request, PushAction.CANCEL)


_AUDIT_ACTIONS = {
    PushAction.PAUSE: "push.paused",
    PushAction.RESUME: "push.resumed",
    PushAction.CANCEL: "push.cancelled",
}


async def _act(appid: str, push_id: str, pushes: Pushes, request: Request, action: PushAction) -> PushOut:
    before = await pushes.get(appid, push_id)
    out = PushOut.of(await pushes.act(appid, push_id, action))
    await audit(
        request,
        _AUDIT_ACTIONS[action],
        "push",
        push_id,
        before={"status": before["status"]},
        after={"status": out.status},
    )
    return out


@router.get("/{push_id}/deliveries", summary="Delivery records (channel, status, code)", dependencies=_VIEW)
async def deliveries(
    appid: AppId,
    push_id: ItemId,
    pushes: Pushes,
    status: Annotated[str | None, Query(pattern=r"^(skipped|queued|sending|sent|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return await pushes.deliveries(appid, push_id, status, limit)


@account_router.get("/push-testers", summary="The account's test whitelist", dependencies=_VIEW)
async def testers(appid: AppId, pushes: Pushes) -> TestersIn:
    return TestersIn.model_validate({"testers": await pushes.testers(appid)})


@account_router.put("/push-testers", summary="Replace the account's test whitelist (at most 20)", dependencies=_COMPOSE)
async def set_testers(appid: AppId, body: TestersIn, pushes: Pushes, request: Request) -> TestersIn:
    before = await pushes.testers(appid)
    saved = await pushes.set_testers(appid, [t.model_dump() for t in body.testers])
    await audit(request, "push.testers_set", "account", appid, before={"testers": before}, after={"testers": saved})
    return TestersIn.model_validate({"testers": saved})


@account_router.get("/members/{openid}/pushes", summary="The pushes a member was in, newest first", dependencies=_VIEW)
async def member_pushes(
    appid: AppId, openid: OpenId, pushes: Pushes, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    return await pushes.of_member(appid, openid, limit)
