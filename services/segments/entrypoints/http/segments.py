"""Segments: rules saved with versions, previews while editing, and why a member is (or is not) in one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.segments.entrypoints.http.deps import AppId, ItemId, OpenId, Segments
from services.segments.entrypoints.http.schemas import (
    ExplainOut,
    ExplanationOut,
    PreviewIn,
    PreviewOut,
    SegmentIn,
    SegmentOut,
    VersionOut,
)

__all__ = ["TAG", "router"]

TAG = "segments"
router = APIRouter(prefix="/accounts/{appid}/segments", tags=[TAG])


@router.post("/preview", summary="Size and a sample of an unsaved rule")
async def preview(appid: AppId, body: PreviewIn, segments: Segments) -> PreviewOut:
    return PreviewOut.of(await segments.preview(appid, body.rule, body.sample))


@router.post("", status_code=201, summary="Save a new segment (version 1)")
async def create_segment(appid: AppId, body: SegmentIn, segments: Segments) -> SegmentOut:
    return SegmentOut.of(await segments.create(appid, body.name, body.description, body.rule))


@router.get("", summary="The account's segments with their current sizes")
async def list_segments(appid: AppId, segments: Segments) -> list[SegmentOut]:
    return [SegmentOut.of(view) for view in await segments.of_account(appid)]


@router.get("/{segment_id}", summary="One segment, its size now")
async def get_segment(appid: AppId, segment_id: ItemId, segments: Segments) -> SegmentOut:
    return SegmentOut.of(await segments.get(appid, segment_id))


@router.put("/{segment_id}", summary="Save a new version")
async def update_segment(appid: AppId, segment_id: ItemId, body: SegmentIn, segments: Segments) -> SegmentOut:
    return SegmentOut.of(await segments.update(appid, segment_id, body.name, body.description, body.rule))


@router.delete("/{segment_id}", status_code=204, summary="Delete (versions stay)")
async def delete_segment(appid: AppId, segment_id: ItemId, segments: Segments) -> None:
    await segments.delete(appid, segment_id)


@router.get("/{segment_id}/versions", summary="Every saved version, newest first")
async def versions(appid: AppId, segment_id: ItemId, segments: Segments) -> list[VersionOut]:
    return [VersionOut(**version) for version in await segments.versions(appid, segment_id)]


@router.get("/{segment_id}/preview", summary="Size and a sample of a saved segment")
async def preview_saved(
    appid: AppId, segment_id: ItemId, segments: Segments, sample: Annotated[int, Query(ge=0, le=200)] = 20
) -> PreviewOut:
    return PreviewOut.of(await segments.preview_saved(appid, segment_id, sample))


@router.get(
    "/{segment_id}/members/{openid}", summary="Why a member is (or is not) in the segment, condition by condition"
)
async def explain_member(
    appid: AppId, segment_id: ItemId, openid: OpenId, segments: Segments, lang: Literal["en", "zh"] = "en"
) -> ExplainOut:
    why = await segments.explain(appid, segment_id, openid, lang)
    return ExplainOut(openid=openid, in_segment=why.held, explanation=ExplanationOut.of(why))
