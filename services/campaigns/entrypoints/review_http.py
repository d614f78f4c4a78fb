"""The share-screenshot review queue: what the machine could not decide, for a person to settle.

Routes under ``/accounts/{appid}/campaigns/{campaign_id}/screenshots``: list submissions (by status,
reason, age), one submission with its evidence (decoded QR codes, OCR text, where things were found)
and its audit trail, its picture (``?annotated=true`` draws the evidence boxes), and approve / reject
with the reviewer's note. Approving grants the share reward under the same key as an automatic
approval: a member gets one code however their screenshots were approved.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field, StringConstraints

from services.campaigns.bootstrap_api import CampaignsApi
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.submissions import AuditEntry, SubmissionRecord
from services.campaigns.entrypoints.params import ApiDep, AppId, CampaignId
from services.campaigns.service_layer import notices
from services.campaigns.service_layer.share_screenshots import AlreadySettled, settle_review
from services.screenshots import Decision, Reason

__all__ = ["TAG_REVIEW", "review_router"]

TAG_REVIEW = "share screenshots"

SubmissionId = Annotated[str, Path(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9_:.-]+$")]
Status = Annotated[str, StringConstraints(pattern=r"^(review|approved|rejected)$")]

_BOX_COLOURS = {"qr": "#00B050", "poster": "#0070C0", "time_row": "#FFC000", "time": "#FF0000", "delete": "#7030A0"}


class ReasonOut(BaseModel):
    code: str
    text: str


class SubmissionOut(BaseModel):
    id: str
    campaign_id: str
    openid: str
    received_at: datetime
    status: str = Field(description="review, approved or rejected")
    decision: str
    reasons: list[ReasonOut]
    decided_by: str = Field(description="auto, or the reviewer")
    decided_at: datetime
    note: str | None
    ms: float = Field(description="Analysis time")
    waiting_minutes: float | None = Field(description="For submissions in review: how long they have waited")

    @classmethod
    def of(cls, record: SubmissionRecord, now: datetime) -> SubmissionOut:
        waiting = (now - record.received_at).total_seconds() / 60 if record.status == "review" else None
        return cls(
            id=record.id,
            campaign_id=record.campaign_id,
            openid=record.openid,
            received_at=record.received_at,
            status=record.status,
            decision=record.decision,
            reasons=[_reason(code) for code in record.reasons],
            decided_by=record.decided_by,
            decided_at=record.decided_at,
            note=record.note,
            ms=record.ms,
            waiting_minutes=None if waiting is None else round(waiting, 1),
        )


class AuditOut(BaseModel):
    actor: str
    decision: str
    reasons: list[str]
    note: str | None
    at: datetime

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(actor=entry.actor, decision=entry.decision, reasons=entry.reasons, note=entry.note, at=entry.at)


class SubmissionDetailOut(SubmissionOut):
    evidence: dict[str, Any] = Field(description="Decoded QR codes, OCR text, scores and boxes (x, y, w, h)")
    audit: list[AuditOut]
    image_url: str | None = Field(description="The picture, kept while a person has to look at it")


class SubmissionPage(BaseModel):
    items: list[SubmissionOut]
    counts: dict[str, int] = Field(description="All submissions of the campaign by status")
    limit: int
    offset: int


class ReviewBody(BaseModel):
    reviewer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        default=None, description="Kept in the audit trail; on a rejection it is also what the member reads"
    )


def _reason(code: str) -> ReasonOut:
    try:
        return ReasonOut(code=code, text=Reason(code).text)
    except ValueError:
        return ReasonOut(code=code, text=code)


async def _campaign(api: CampaignsApi, appid: str, campaign_id: str) -> Campaign:
    campaign = await api.campaigns.get(appid, campaign_id)
    if campaign is None:
        raise HTTPException(404, detail=f"no campaign {campaign_id!r} in account {appid!r}")
    return campaign


async def _submission(api: CampaignsApi, campaign: Campaign, submission_id: str) -> SubmissionRecord:
    record = await api.screenshots.get(submission_id)
    if record is None or record.campaign_id != campaign.id:
        raise HTTPException(404, detail=f"no submission {submission_id!r} in campaign {campaign.id!r}")
    return record


def _annotate(content: bytes, boxes: dict[str, Any]) -> bytes:
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


def review_router(now: Callable[[], datetime]) -> APIRouter:
    """``now()`` is the API's clock (tests move it)."""
    router = APIRouter(tags=[TAG_REVIEW])
    base = "/accounts/{appid}/campaigns/{campaign_id}/screenshots"

    @router.get(base, summary="Share-screenshot submissions (the review queue: status=review), oldest first")
    async def list_submissions(
        appid: AppId,
        campaign_id: CampaignId,
        api: ApiDep,
        status: Annotated[Status | None, Query(description="review, approved or rejected")] = None,
        reason: Annotated[str | None, Query(max_length=40, description="A reason code, e.g. possibly_reused")] = None,
        older_than_minutes: Annotated[int | None, Query(ge=0, le=60 * 24 * 90)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> SubmissionPage:
        if reason is not None and reason not in {r.value for r in Reason}:
            raise HTTPException(422, detail=[{"loc": ["query", "reason"], "msg": "unknown reason code"}])
        campaign = await _campaign(api, appid, campaign_id)
        moment = now()
        before = None if older_than_minutes is None else moment - timedelta(minutes=older_than_minutes)
        records = await api.screenshots.listing(
            campaign.id, status=status, reason=reason, received_before=before, limit=limit, offset=offset
        )
        return SubmissionPage(
            items=[SubmissionOut.of(record, moment) for record in records],
            counts=await api.screenshots.counts(campaign.id),
            limit=limit,
            offset=offset,
        )

    @router.get(base + "/{submission_id}", summary="One submission: evidence and audit trail")
    async def read_submission(
        appid: AppId, campaign_id: CampaignId, submission_id: SubmissionId, api: ApiDep
    ) -> SubmissionDetailOut:
        campaign = await _campaign(api, appid, campaign_id)
        record = await _submission(api, campaign, submission_id)
        has_image = await api.screenshots.image(record.id) is not None
        summary = SubmissionOut.of(record, now())
        return SubmissionDetailOut(
            **summary.model_dump(),
            evidence=record.evidence,
            audit=[AuditOut.of(entry) for entry in await api.screenshots.trail(record.id)],
            image_url=f"/accounts/{appid}/campaigns/{campaign.id}/screenshots/{record.id}/image" if has_image else None,
        )

    @router.get(
        base + "/{submission_id}/image",
        summary="The submitted picture (kept for submissions that went to review)",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
    )
    async def submission_image(
        appid: AppId,
        campaign_id: CampaignId,
        submission_id: SubmissionId,
        api: ApiDep,
        annotated: Annotated[bool, Query(description="Draw the evidence boxes on it")] = False,
    ) -> Response:
        campaign = await _campaign(api, appid, campaign_id)
        record = await _submission(api, campaign, submission_id)
        stored = await api.screenshots.image(record.id)
        if stored is None:
            raise HTTPException(404, detail="the picture is kept only for submissions that went to review")
        content, content_type = stored
        if annotated:
            return Response(_annotate(content, record.evidence.get("boxes", {})), media_type="image/jpeg")
        return Response(content, media_type=content_type)

    async def _settle(
        appid: str, campaign_id: str, submission_id: str, body: ReviewBody, api: CampaignsApi, decision: Decision
    ) -> SubmissionOut:
        campaign = await _campaign(api, appid, campaign_id)
        record = await _submission(api, campaign, submission_id)
        moment = now()
        try:
            event_id = await settle_review(
                record, campaign, decision, reviewer=body.reviewer, note=body.note, uow=api.uow(), now=moment
            )
        except AlreadySettled:
            current = await api.screenshots.get(record.id)
            by = current.decided_by if current else record.decided_by
            status = current.status if current else record.status
            raise HTTPException(
                409, detail=f"already {status} by {by}; only submissions in review can be settled"
            ) from None
        queued = await api.notices.queued_by(event_id)
        if queued and campaign.appid in api.clients:
            await notices.deliver(
                queued,
                store=api.notices,
                codes=api.pools,
                rewards=api.notices,
                messenger_for=lambda appid: api.clients[appid],
                now=moment,
            )
        settled = await api.screenshots.get(record.id)
        assert settled is not None
        return SubmissionOut.of(settled, moment)

    @router.post(base + "/{submission_id}/approve", summary="Approve: grants the share reward once, replies")
    async def approve_submission(
        appid: AppId, campaign_id: CampaignId, submission_id: SubmissionId, body: ReviewBody, api: ApiDep
    ) -> SubmissionOut:
        return await _settle(appid, campaign_id, submission_id, body, api, Decision.APPROVE)

    @router.post(base + "/{submission_id}/reject", summary="Reject: replies with the note (or the reason)")
    async def reject_submission(
        appid: AppId, campaign_id: CampaignId, submission_id: SubmissionId, body: ReviewBody, api: ApiDep
    ) -> SubmissionOut:
        return await _settle(appid, campaign_id, submission_id, body, api, Decision.REJECT)

    return router
