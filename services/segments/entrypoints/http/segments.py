"""Segments: rules saved with versions, previews while editing, and why a member is (or is not) in one.

Permissions: reading, previewing and sampling need ``segment:view``; saving and deleting need
``segment:edit`` (audited with the rule before and after). Explaining why a member is in a segment
shows that member's profile facts (stage, tags, consents), so it needs ``member:view`` as well as
``segment:view``, and each explanation is audited as a read of that member.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError

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
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=40, description='The version edited, e.g. "3" (the ETag)')
]
_EXPLAIN = [Depends(require(Permission.SEGMENT_VIEW)), Depends(require(Permission.MEMBER_VIEW))]


def _with_etag(response: Response, out: SegmentOut) -> SegmentOut:
    """The version as the ETag: what a PUT sends back as ``If-Match``."""
    response.headers["ETag"] = f'"{out.version}"'
    return out


def expected_version(if_match: str | None) -> int | None:
    """The version in ``If-Match`` (``"3"`` or ``W/"3"``); 422 naming the header when it is not one."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise RequestValidationError(
            [{"type": "value_error", "loc": ["header", "If-Match"], "msg": 'expected a version like "3"'}]
        )
    return int(text)


def _saved(out: SegmentOut) -> dict[str, object]:
    """What an audit entry keeps of a segment: what an operator wrote, not its size now."""
    return {"name": out.name, "description": out.description, "version": out.version, "rule": out.rule}


@router.post("/preview", summary="Size and a sample of an unsaved rule", dependencies=_VIEW)
async def preview(appid: AppId, body: PreviewIn, segments: Segments) -> PreviewOut:
    return PreviewOut.of(await segments.preview(appid, body.rule, body.sample))


@router.post("", status_code=201, summary="Save a new segment (version 1)", dependencies=_EDIT)
async def create_segment(
    appid: AppId, body: SegmentIn, segments: Segments, request: Request, response: Response
) -> SegmentOut:
    out = _with_etag(response, SegmentOut.of(await segments.create(appid, body.name, body.description, body.rule)))
    await audit(request, "segment.created", "segment", out.id, after=_saved(out))
    return out


@router.get("", summary="The account's segments with their current sizes", dependencies=_VIEW)
async def list_segments(appid: AppId, segments: Segments) -> list[SegmentOut]:
    return [SegmentOut.of(view) for view in await segments.of_account(appid)]


@router.get("/{segment_id}", summary="One segment, its size now and the pushes that use it", dependencies=_VIEW)
async def get_segment(
    appid: AppId, segment_id: ItemId, segments: Segments, pushes: Pushes, response: Response
) -> SegmentOut:
    out = _with_etag(response, SegmentOut.of(await segments.get(appid, segment_id)))
    return out.model_copy(update={"used_by": [PushUse(**use) for use in await pushes.of_segment(appid, segment_id)]})


@router.get("/{segment_id}/usage", summary="The pushes that target the segment, newest first", dependencies=_VIEW)
async def usage(appid: AppId, segment_id: ItemId, segments: Segments, pushes: Pushes) -> list[PushUse]:
    await segments.found(appid, segment_id)
    return [PushUse(**use) for use in await pushes.of_segment(appid, segment_id)]


@router.put(
    "/{segment_id}",
    summary="Save a new version (If-Match required)",
    description='`If-Match: "<version>"`, the version the edit started from (the `ETag` of the segment '
    "read): 428 without it, 409 when the segment was saved since, so one edit never silently undoes another.",
    dependencies=_EDIT,
)
async def update_segment(
    appid: AppId,
    segment_id: ItemId,
    body: SegmentIn,
    segments: Segments,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> SegmentOut:
    expected = expected_version(if_match)
    if expected is None:
        raise HTTPException(428, detail='send the version you edit: If-Match: "<version>" (the ETag of the segment)')
    before = SegmentOut.of(await segments.get(appid, segment_id))
    saved = await segments.update(appid, segment_id, body.name, body.description, body.rule, expected)
    out = _with_etag(response, SegmentOut.of(saved))
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
