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

The console's review desk works account-wide under ``/accounts/{appid}/screenshots``: the queue across
campaigns, the reject reason codes, and claims. A reviewer claims a submission (or the oldest free one,
``claim-next``) for five minutes, renewed by claiming again; while the claim is live nobody else can
claim or decide it (409 naming the holder), and a decision drops it. Claims are not audited (every
opened item would be an entry); the decisions are.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from PIL import Image, ImageDraw

from services.campaigns.bootstrap_api import CampaignsApi
from services.campaigns.domain.submissions import REJECT_REASONS
from services.campaigns.entrypoints.http.deps import (
    ID_PATTERN,
    ApiDep,
    AppId,
    CampaignId,
    CanDecide,
    Now,
    SubmissionId,
    needs,
)
from services.campaigns.entrypoints.http.schemas import (
    AccountSubmissionPage,
    AuditOut,
    ClaimOut,
    HistoryItemOut,
    MomentsEvidenceOut,
    OpenId,
    PosterEvidenceOut,
    QrCodeOut,
    QrEvidenceOut,
    QueueItemOut,
    RejectBody,
    RejectReasonOut,
    RejectReasonsOut,
    ReuseEvidenceOut,
    ReviewBody,
    Status,
    SubmissionDetailOut,
    SubmissionOut,
    SubmissionPage,
)
from services.campaigns.service_layer import review
from services.screenshots import Decision, Reason
from shared.identity import Identity, Permission, audit

__all__ = ["TAG", "router"]

TAG = "share screenshots"
BASE = "/accounts/{appid}/campaigns/{campaign_id}/screenshots"
ACCOUNT = "/accounts/{appid}/screenshots"

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
    openid: Annotated[OpenId | None, Query(description="One member's submissions")] = None,
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
        openid=openid,
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
    return await _detail(found, api, now)


def _picture(appid: str, campaign_id: str, submission_id: str) -> str:
    return f"/accounts/{appid}/campaigns/{campaign_id}/screenshots/{submission_id}/image"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


async def _detail(found: review.Reviewed, api: CampaignsApi, now: datetime) -> SubmissionDetailOut:
    """The submission with its evidence spelled out (``evidence`` stays, raw, for anything else)."""
    record, raw = found.record, found.record.evidence
    seen = await review.evidence(found, api.screenshots, api.participants)
    earlier = seen.reused_from
    before = None if earlier is None else earlier.record
    return SubmissionDetailOut(
        **SubmissionOut.of(record, now).model_dump(),
        evidence=raw,
        audit=[AuditOut.of(entry) for entry in found.audit],
        image_url=_picture(record.appid, found.campaign.id, record.id) if found.has_picture else None,
        campaign_name=found.campaign.name,
        qr=QrEvidenceOut(
            match=raw.get("qr"),
            codes=[
                QrCodeOut(
                    payload=owner.payload,
                    owner_openid=owner.openid,
                    owner_campaign_id=owner.campaign_id,
                    is_submitter=owner.is_submitter,
                )
                for owner in seen.qr_owners
            ],
        ),
        poster=PosterEvidenceOut(
            match_score=_number(raw.get("artwork_score")),
            located_without_qr=bool(raw.get("poster_located_without_qr", False)),
            screen_share=_number(raw.get("poster_share")),
        ),
        moments=MomentsEvidenceOut(
            checked=bool(raw.get("moments_checked", False)),
            time_row=raw.get("time_word"),
            delete_word=bool(raw.get("delete_word", False)),
            title=raw.get("title"),
            locked=bool(raw.get("lock_marker", False)),
            ocr_text=str(raw.get("ocr_text", "")),
        ),
        reuse=ReuseEvidenceOut(
            match=raw.get("reuse"),
            similarity=_number(raw.get("reuse_similarity")),
            earlier_submission_id=None if earlier is None else earlier.id,
            earlier_openid=None if before is None else before.openid,
            earlier_status=None if before is None else before.status,
            earlier_decision=None if before is None else before.decision,
            earlier_image_url=(
                _picture(before.appid, before.campaign_id, before.id)
                if earlier is not None and before is not None and earlier.has_picture
                else None
            ),
        ),
        history=[
            HistoryItemOut(
                id=other.id,
                status=other.status,
                reasons=other.reasons,
                review_reason=other.review_reason,
                at=other.received_at,
                decided_by=other.decided_by,
            )
            for other in seen.history
        ],
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
    campaign_id: str | None,
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
        reviewer_id=reviewer.actor_id,
        reason=Reason(body.reason) if isinstance(body, RejectBody) and body.reason is not None else None,
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
        after={
            "status": settled.status,
            "campaign_id": settled.campaign_id,
            "note": settled.note,
            "reason": settled.review_reason,
        },
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
    body: RejectBody | None = None,
) -> SubmissionOut:
    return await _settle(
        request, reviewer, appid, campaign_id, submission_id, body or RejectBody(), api, Decision.REJECT, now
    )


# -- the account-wide review desk (the console) ---------------------------------------------------------

CampaignFilter = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="One campaign's only")
]


@router.get(
    ACCOUNT,
    summary="Submissions across the account's campaigns: the review queue oldest first, decided newest first",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def list_account_submissions(
    appid: AppId,
    api: ApiDep,
    now: Now,
    status: Annotated[Status | None, Query(description="review, approved or rejected")] = None,
    campaign_id: CampaignFilter = None,
    reason: Annotated[str | None, Query(max_length=40, description="A reason code, e.g. possibly_reused")] = None,
    openid: Annotated[OpenId | None, Query(description="One member's submissions")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> AccountSubmissionPage:
    found = await review.account_queue(
        api.campaigns,
        api.screenshots,
        appid,
        campaign_id=campaign_id,
        status=status,
        reason=reason,
        openid=openid,
        limit=limit,
        offset=offset,
    )
    items = [
        QueueItemOut(
            **SubmissionOut.of(record, now).model_dump(), campaign_name=found.campaign_names[record.campaign_id]
        )
        for record in found.records
    ]
    return AccountSubmissionPage(items=items, counts=found.counts, limit=limit, offset=offset)


@router.get(
    ACCOUNT + "/reasons",
    summary="The reason codes a reviewer can reject with, and what the member reads for each",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def reject_reasons(appid: AppId) -> RejectReasonsOut:
    return RejectReasonsOut(
        reasons=[RejectReasonOut(code=code.value, zh=code.text, en=label) for code, label in REJECT_REASONS.items()]
    )


@router.post(
    ACCOUNT + "/claim-next",
    summary="Claim the oldest submission in review nobody else holds, with its evidence (204: none left)",
    response_model=SubmissionDetailOut,
    responses={204: {"description": "Nothing in review that another reviewer does not hold"}},
)
async def claim_next(
    appid: AppId, api: ApiDep, now: Now, reviewer: CanDecide, campaign_id: CampaignFilter = None
) -> SubmissionDetailOut | Response:
    found = await review.claim_next(
        api.campaigns,
        api.screenshots,
        appid,
        campaign_id=campaign_id,
        holder_id=reviewer.actor_id,
        holder_name=reviewer.name,
        now=now,
    )
    if found is None:
        return Response(status_code=204)
    return await _detail(found, api, now)


@router.get(
    ACCOUNT + "/{submission_id}",
    summary="One submission of any campaign: evidence and audit trail",
    dependencies=needs(Permission.REVIEW_DECIDE),
)
async def read_account_submission(
    appid: AppId, submission_id: SubmissionId, api: ApiDep, now: Now
) -> SubmissionDetailOut:
    found = await review.account_submission(api.campaigns, api.screenshots, appid, submission_id)
    return await _detail(found, api, now)


@router.post(ACCOUNT + "/{submission_id}/claim", summary="Claim (or renew one's claim on) a submission for 5 minutes")
async def claim_submission(
    appid: AppId, submission_id: SubmissionId, api: ApiDep, now: Now, reviewer: CanDecide
) -> ClaimOut:
    claimed = await review.claim(
        api.campaigns,
        api.screenshots,
        appid,
        submission_id,
        holder_id=reviewer.actor_id,
        holder_name=reviewer.name,
        now=now,
    )
    assert claimed.claim is not None
    return ClaimOut.of(claimed.id, claimed.claim)


@router.delete(
    ACCOUNT + "/{submission_id}/claim",
    summary="Release one's claim (or a lapsed one)",
    status_code=204,
    response_class=Response,
)
async def release_submission(
    appid: AppId, submission_id: SubmissionId, api: ApiDep, now: Now, reviewer: CanDecide
) -> Response:
    await review.release(api.campaigns, api.screenshots, appid, submission_id, holder_id=reviewer.actor_id, now=now)
    return Response(status_code=204)


@router.post(
    ACCOUNT + "/{submission_id}/approve", summary="Approve a submission of any campaign (see the campaign's route)"
)
async def approve_account_submission(
    appid: AppId,
    submission_id: SubmissionId,
    api: ApiDep,
    now: Now,
    request: Request,
    reviewer: CanDecide,
    body: ReviewBody | None = None,
) -> SubmissionOut:
    return await _settle(
        request, reviewer, appid, None, submission_id, body or ReviewBody(), api, Decision.APPROVE, now
    )


@router.post(
    ACCOUNT + "/{submission_id}/reject", summary="Reject a submission of any campaign (see the campaign's route)"
)
async def reject_account_submission(
    appid: AppId,
    submission_id: SubmissionId,
    api: ApiDep,
    now: Now,
    request: Request,
    reviewer: CanDecide,
    body: RejectBody | None = None,
) -> SubmissionOut:
    return await _settle(request, reviewer, appid, None, submission_id, body or RejectBody(), api, Decision.REJECT, now)


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
