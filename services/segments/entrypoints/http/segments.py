"""Segments: rules saved with versions, previews while editing, and why a member is (or is not) in one.

Permissions: reading, previewing and sampling need ``segment:view``; saving and deleting need
``segment:edit`` (audited with the rule before and after). Explaining why a member is in a segment
shows that member's profile facts (stage, tags, consents), so it needs ``member:view`` as well as
``segment:view``, and each explanation is audited as a read of that member.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from services.segments.entrypoints.http.deps import AppId, ItemId, OpenId, Pushes, Segments
from services.segments.entrypoints.http.schemas import (
    ExplainOut,
    ExplanationOut,
    PreviewIn,
    PreviewOut,
    PushUse,
    SegmentIn,
    SegmentOut,
    VersionOut,
)
from shared.identity import Permission, audit, require

__all__ = ["TAG", "router"]

TAG = "segments"
router = APIRouter(prefix="/accounts/{appid}/segments", tags=[TAG])

_VIEW = [Depends(require(Permission.SEGMENT_VIEW))]
_EDIT = [Depends(require(Permission.SEGMENT_EDIT))]
_EXPLAIN = [Depends(require(Permission.SEGMENT_VIEW)), Depends(require(Permission.MEMBER_VIEW))]


def _saved(out: SegmentOut) -> dict[str, object]:
    """What an audit entry keeps of a segment: what an operator wrote, not its size now."""
    return {"name": out.name, "description": out.description, "version": out.version, "rule": out.rule}


@router.post("/preview", summary="Size and a sample of an unsaved rule", dependencies=_VIEW)
async def preview(appid: AppId, body: PreviewIn, segments: Segments) -> PreviewOut:
    return PreviewOut.of(await segments.preview(appid, body.rule, body.sample))


@router.post("", status_code=201, summary="Save a new segment (version 1)", dependencies=_EDIT)
async def create_segment(appid: AppId, body: SegmentIn, segments: Segments, request: Request) -> SegmentOut:
    out = SegmentOut.of(await segments.create(appid, body.name, body.description, body.rule))
    await audit(request, "segment.created", "segment", out.id, after=_saved(out))
    return out


@router.get("", summary="The account's segments with their current sizes", dependencies=_VIEW)
async def list_segments(appid: AppId, segments: Segments) -> list[SegmentOut]:
    return [SegmentOut.of(view) for view in await segments.of_account(appid)]


@router.get("/{segment_id}", summary="One segment, its size now and the pushes that use it", dependencies=_VIEW)
async def get_segment(appid: AppId, segment_id: ItemId, segments: Segments, pushes: Pushes) -> SegmentOut:
    out = SegmentOut.of(await segments.get(appid, segment_id))
    return out.model_copy(update={"used_by": [PushUse(**use) for use in await pushes.of_segment(appid, segment_id)]})


@router.get("/{segment_id}/usage", summary="The pushes that target the segment, newest first", dependencies=_VIEW)
async def usage(appid: AppId, segment_id: ItemId, segments: Segments, pushes: Pushes) -> list[PushUse]:
    await segments.found(appid, segment_id)
    return [PushUse(**use) for use in await pushes.of_segment(appid, segment_id)]


@router.put("/{segment_id}", summary="Save a new version", dependencies=_EDIT)
async def update_segment(
    appid: AppId, segment_id: ItemId, body: SegmentIn, segments: Segments, request: Request
) -> SegmentOut:
    before = SegmentOut.of(await segments.get(appid, segment_id))
    out = SegmentOut.of(await segments.update(appid, segment_id, body.name, body.description, body.rule))
    await audit(request, "segment.updated", "segment", segment_id, before=_saved(before), after=_saved(out))
    return out


@router.delete(
    "/{segment_id}",
    status_code=204,
    summary="Delete (versions stay)",
    description="409 naming the pushes while a push still to send (scheduled, sending, paused...) targets it.",
    dependencies=_EDIT,
)
async def delete_segment(
    appid: AppId, segment_id: ItemId, segments: Segments, pushes: Pushes, request: Request
) -> None:
    before = SegmentOut.of(await segments.get(appid, segment_id))
    await pushes.check_segment_unused(appid, segment_id)
    await segments.delete(appid, segment_id)
    await audit(request, "segment.deleted", "segment", segment_id, before=_saved(before))


@router.get("/{segment_id}/versions", summary="Every saved version, newest first", dependencies=_VIEW)
async def versions(appid: AppId, segment_id: ItemId, segments: Segments) -> list[VersionOut]:
    return [VersionOut(**version) for version in await segments.versions(appid, segment_id)]


@router.get("/{segment_id}/preview", summary="Size and a sample of a saved segment", dependencies=_VIEW)
async def preview_saved(
    appid: AppId, segment_id: ItemId, segments: Segments, sample: Annotated[int, Query(ge=0, le=200)] = 20
) -> PreviewOut:
    return PreviewOut.of(await segments.preview_saved(appid, segment_id, sample))


@router.get(
    "/{segment_id}/members/{openid}",
    summary="Why a member is (or is not) in the segment, condition by condition",
    description="Shows the member's profile facts: needs `member:view` as well as `segment:view`.",
    dependencies=_EXPLAIN,
)
async def explain_member(
    appid: AppId,
    segment_id: ItemId,
    openid: OpenId,
    segments: Segments,
    request: Request,
    lang: Literal["en", "zh"] = "en",
) -> ExplainOut:
    why = await segments.explain(appid, segment_id, openid, lang)
    await audit(request, "segment.member_explained", "member", openid, after={"segment_id": segment_id})
    return ExplainOut(openid=openid, in_segment=why.held, explanation=ExplanationOut.of(why))
