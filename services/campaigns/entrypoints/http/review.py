"""The share-screenshot review queue: what the machine could not decide, for a person to settle.

Routes under ``/accounts/{appid}/campaigns/{campaign_id}/screenshots``: list submissions (by status,
reason, age), one submission with its evidence (decoded QR codes, OCR text, where things were found)
and its audit trail, its picture (``?annotated=true`` draws the evidence boxes), and approve / reject
with the reviewer's note. Approving grants the share reward under the same key as an automatic
approval: a member gets one code however their screenshots were approved.

Permissions: the queue itself (status, reasons, counts: the backlog a campaign operator watches)
needs ``campaign:view``; a submission's evidence (OCR text of a member's post), its picture and the
decisions need ``review:decide``. The reviewer recorded is the signed-in operator (their name, which
is unique and never reused), never a body field; every decision is audited (an approval grants a reward).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from PIL import Image, ImageDraw

from services.campaigns.bootstrap_api import CampaignsApi
from services.campaigns.entrypoints.http.deps import ApiDep, AppId, CampaignId, CanDecide, Now, SubmissionId, needs
from services.campaigns.entrypoints.http.schemas import (
    AuditOut,
    ReviewBody,
    Status,
    SubmissionDetailOut,
    SubmissionOut,
    SubmissionPage,
)
from services.campaigns.service_layer import review
from services.screenshots import Decision
from shared.identity import Identity, Permission, audit

__all__ = ["TAG", "router"]

TAG = "share screenshots"
BASE = "/accounts/{appid}/campaigns/{campaign_id}/screenshots"

_BOX_COLOURS = {"qr": "#00B050", "poster": "#0070C0", "time_row": "#FFC000", "time": "#FF0000", "delete": "#7030A0"}

router = APIRouter(tags=[TAG])


@router.get(
    BASE,
    summary="Share-screenshot submissions (the review queue: status=review), oldest first",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def list_submissions(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    now: Now,
    status: Annotated[Status | None, Query(description="review, approved or rejected")] = None,
    reason: Annotated[str | None, Query(max_length=40, description="A reason code, e.g. possibly_reused")] = None,
    older_than_minutes: Annotated[int | None, Query(ge=0, le=60 * 24 * 90)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> SubmissionPage:
    found = await review.queue(
        api.campaigns,
        api.screenshots,
        appid,
        campaign_id,
        status=status,
        reason=reason,
        older_than_minutes=older_than_minutes,
        limit=limit,
        offset=offset,
        now=now,
    )
    return SubmissionPage(
        items=[SubmissionOut.of(record, now) for record in found.records],
        counts=found.counts,
        limit=limit,
        offset=offset,
    )


@router.get(
    BASE + "/{submission_id}",
    summary="One submission: evidence and audit trail",
    dependencies=needs(Permission.REVIEW_DECIDE),
)
async def read_submission(
    appid: AppId, campaign_id: CampaignId, submission_id: SubmissionId, api: ApiDep, now: Now
) -> SubmissionDetailOut:
    found = await review.submission(api.campaigns, api.screenshots, appid, campaign_id, submission_id)
    record = found.record
    picture = f"/accounts/{appid}/campaigns/{found.campaign.id}/screenshots/{record.id}/image"
    return SubmissionDetailOut(
        **SubmissionOut.of(record, now).model_dump(),
        evidence=record.evidence,
        audit=[AuditOut.of(entry) for entry in found.audit],
        image_url=picture if found.has_picture else None,
    )


@router.get(
    BASE + "/{submission_id}/image",
    summary="The submitted picture (kept for submissions that went to review)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
    dependencies=needs(Permission.REVIEW_DECIDE),
)
async def submission_image(
    appid: AppId,
    campaign_id: CampaignId,
    submission_id: SubmissionId,
    api: ApiDep,
    annotated: Annotated[bool, Query(description="Draw the evidence boxes on it")] = False,
) -> Response:
    record, content, content_type = await review.submission_picture(
        api.campaigns, api.screenshots, appid, campaign_id, submission_id
    )
    if annotated:
        return Response(_annotate(content, record.evidence.get("boxes", {})), media_type="image/jpeg")
    return Response(content, media_type=content_type)


async def _settle(
    request: Request,
    reviewer: Identity,
    appid: str,
    campaign_id: str,
    submission_id: str,
    body: ReviewBody,
    api: CampaignsApi,
    decision: Decision,
    now: datetime,
) -> SubmissionOut:
    # The reply goes out now when this service holds the account; otherwise the worker sends it.
    messenger = api.clients[appid] if appid in api.clients else None  # noqa: SIM401 (not a Mapping)
    settled = await review.settle(
        api.campaigns,
        api.screenshots,
        appid,
        campaign_id,
        submission_id,
        decision,
        reviewer=reviewer.name,
        note=body.note,
        uow=api.uow(),
        notice_store=api.notices,
        rewards=api.notices,
        codes=api.pools,
        messenger=messenger,
        now=now,
    )
    out = SubmissionOut.of(settled, now)
    # An approval grants the member a reward: a person's decision, kept with who made it.
    await audit(
        request,
        f"screenshot.{settled.status}",
        "screenshot_submission",
        settled.id,
        before={"status": "review"},
        after={"status": settled.status, "campaign_id": settled.campaign_id, "note": settled.note},
    )
    return out


@router.post(BASE + "/{submission_id}/approve", summary="Approve: grants the share reward once, replies")
async def approve_submission(
    appid: AppId,
    campaign_id: CampaignId,
    submission_id: SubmissionId,
    api: ApiDep,
    now: Now,
    request: Request,
    reviewer: CanDecide,
    body: ReviewBody | None = None,
) -> SubmissionOut:
    return await _settle(
        request, reviewer, appid, campaign_id, submission_id, body or ReviewBody(), api, Decision.APPROVE, now
    )


@router.post(BASE + "/{submission_id}/reject", summary="Reject: replies with the note (or the reason)")
async def reject_submission(
    appid: AppId,
    campaign_id: CampaignId,
    submission_id: SubmissionId,
    api: ApiDep,
    now: Now,
    request: Request,
    reviewer: CanDecide,
    body: ReviewBody | None = None,
) -> SubmissionOut:
    return await _settle(
        request, reviewer, appid, campaign_id, submission_id, body or ReviewBody(), api, Decision.REJECT, now
    )


def _annotate(content: bytes, boxes: dict[str, Any]) -> bytes:
    """The picture with the evidence boxes drawn on it, each labelled."""
    with Image.open(io.BytesIO(content)) as picture:
        canvas = picture.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    width = max(2, canvas.width // 300)
    for name, box in boxes.items():
        x, y, w, h = (int(v) for v in box)
        colour = _BOX_COLOURS.get(name, "#FF00FF")
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=width)
        draw.text((x + width, max(0, y - 12)), name, fill=colour)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=85)
    return out.getvalue()
