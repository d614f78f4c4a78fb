"""Targeted pushes: scheduled to a segment, paused, resumed and cancelled, with deliveries and stats.

Permissions: reading a push, its stats and its deliveries needs ``push:view``. Creating a push also
schedules it (it goes out at ``send_at``, or now), so there is no unsent draft to compose apart from
sending: creating needs both ``push:compose`` and ``push:send``. Pause, resume and cancel need
``push:send``. The composer is the caller's identity (``created_by``), never a body field. Every
creation (a send) and every control is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.segments.domain.pushes import Creator, PushAction
from services.segments.entrypoints.http.deps import AppId, ItemId, Pushes
from services.segments.entrypoints.http.schemas import PushIn, PushOut, QuietHoursIn
from shared.identity import Actor, Permission, audit, require

__all__ = ["TAG", "router"]

TAG = "pushes"
router = APIRouter(prefix="/accounts/{appid}/pushes", tags=[TAG])

_VIEW = [Depends(require(Permission.PUSH_VIEW))]
_SEND = [Depends(require(Permission.PUSH_SEND))]
#: Creating schedules the push: composing and sending in one step.
_COMPOSE_AND_SEND = [Depends(require(Permission.PUSH_COMPOSE)), Depends(require(Permission.PUSH_SEND))]


def _audited(out: PushOut) -> dict[str, Any]:
    """What an audit entry keeps of a push: its content, schedule and status, not its counters."""
    return out.model_dump(mode="json", include={"name", "segment_id", "status", "send_at", "broadcast", "variants"})


@router.post(
    "",
    status_code=201,
    summary="Schedule a push to a segment",
    description="Composes and schedules at once: needs `push:compose` and `push:send`.",
    dependencies=_COMPOSE_AND_SEND,
)
async def create_push(appid: AppId, body: PushIn, pushes: Pushes, actor: Actor, request: Request) -> PushOut:
    doc = await pushes.create(
        appid,
        name=body.name,
        segment_id=body.segment_id,
        variants=[v.variant() for v in body.variants],
        send_at=body.send_at,
        quiet_hours=body.quiet_hours.hours() if isinstance(body.quiet_hours, QuietHoursIn) else body.quiet_hours,
        cap=None if body.cap is None else body.cap.cap(),
        broadcast=body.broadcast,
        created_by=Creator(id=actor.actor_id, name=actor.name),
    )
    out = PushOut.of(doc)
    await audit(request, "push.scheduled", "push", out.id, after=_audited(out))
    return out


@router.get("", summary="The account's pushes, newest first", dependencies=_VIEW)
async def list_pushes(appid: AppId, pushes: Pushes) -> list[PushOut]:
    return [PushOut.of(doc) for doc in await pushes.of_account(appid)]


@router.get("/{push_id}", summary="A push with its status and stats", dependencies=_VIEW)
async def get_push(appid: AppId, push_id: ItemId, pushes: Pushes) -> PushOut:
    return PushOut.of(await pushes.get(appid, push_id))


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
