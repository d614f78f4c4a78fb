"""Targeted pushes: scheduled to a segment, paused, resumed and cancelled, with deliveries and stats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.segments.domain.pushes import PushAction
from services.segments.entrypoints.http.deps import AppId, ItemId, Pushes
from services.segments.entrypoints.http.schemas import PushIn, PushOut, QuietHoursIn

__all__ = ["TAG", "router"]

TAG = "pushes"
router = APIRouter(prefix="/accounts/{appid}/pushes", tags=[TAG])


@router.post("", status_code=201, summary="Schedule a push to a segment")
async def create_push(appid: AppId, body: PushIn, pushes: Pushes) -> PushOut:
    doc = await pushes.create(
        appid,
        name=body.name,
        segment_id=body.segment_id,
        variants=[v.variant() for v in body.variants],
        send_at=body.send_at,
        quiet_hours=body.quiet_hours.hours() if isinstance(body.quiet_hours, QuietHoursIn) else body.quiet_hours,
        cap=None if body.cap is None else body.cap.cap(),
        broadcast=body.broadcast,
    )
    return PushOut.of(doc)


@router.get("", summary="The account's pushes, newest first")
async def list_pushes(appid: AppId, pushes: Pushes) -> list[PushOut]:
    return [PushOut.of(doc) for doc in await pushes.of_account(appid)]


@router.get("/{push_id}", summary="A push with its status and stats")
async def get_push(appid: AppId, push_id: ItemId, pushes: Pushes) -> PushOut:
    return PushOut.of(await pushes.get(appid, push_id))


@router.post("/{push_id}/pause", summary="Stop sending until resumed")
async def pause(appid: AppId, push_id: ItemId, pushes: Pushes) -> PushOut:
    return PushOut.of(await pushes.act(appid, push_id, PushAction.PAUSE))


@router.post("/{push_id}/resume", summary="Go on where it stopped (paused or quota)")
async def resume(appid: AppId, push_id: ItemId, pushes: Pushes) -> PushOut:
    return PushOut.of(await pushes.act(appid, push_id, PushAction.RESUME))


@router.post("/{push_id}/cancel", summary="Stop for good")
async def cancel(appid: AppId, push_id: ItemId, pushes: Pushes) -> PushOut:
    return PushOut.of(await pushes.act(appid, push_id, PushAction.CANCEL))


@router.get("/{push_id}/deliveries", summary="Delivery records (channel, status, code)")
async def deliveries(
    appid: AppId,
    push_id: ItemId,
    pushes: Pushes,
    status: Annotated[str | None, Query(pattern=r"^(skipped|queued|sending|sent|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return await pushes.deliveries(appid, push_id, status, limit)
