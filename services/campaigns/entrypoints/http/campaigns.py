"""Campaign definitions: create, list, read, edit, and the lifecycle moves (activate, pause, end).

Concurrency: every campaign carries a ``version``, also sent as its ``ETag``. ``PATCH`` needs the version
it edits (``If-Match: "3"`` or ``"version": 3`` in the body); the status moves take ``If-Match``
optionally. A write from a stale read is refused with 409 instead of overwriting someone's change.

Reading needs ``campaign:view``, creating, cloning and editing ``campaign:edit``, the lifecycle moves
``campaign:launch``; every write is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from services.campaigns.domain.campaign import Campaign, CampaignStatus
from services.campaigns.domain.compliance import check_campaign, flags_of
from services.campaigns.entrypoints.http.deps import (
    ApiDep,
    AppId,
    CampaignId,
    CanEdit,
    CanLaunch,
    IfMatch,
    Now,
    expected_version,
    needs,
    required_version,
)
from services.campaigns.entrypoints.http.schemas import (
    ActivationCheckOut,
    ActivationOut,
    CampaignCreate,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    ComplianceDraft,
    ComplianceOut,
    EndedOut,
    ProblemOut,
)
from services.campaigns.service_layer import activation, management
from shared.identity import Permission, audit

__all__ = ["TAG", "router", "with_etag"]

TAG = "campaigns"
BASE = "/accounts/{appid}/campaigns"
ONE = BASE + "/{campaign_id}"

router = APIRouter(tags=[TAG])


def with_etag(response: Response, campaign: Campaign) -> CampaignOut:
    response.headers["ETag"] = f'"{campaign.version}"'
    return CampaignOut.of(campaign)


@router.post(BASE, status_code=201, summary="Create a campaign (as a draft)")
async def create_campaign(
    appid: AppId, body: CampaignCreate, api: ApiDep, response: Response, now: Now, request: Request, _: CanEdit
) -> CampaignOut:
    campaign = await management.create_campaign(api.campaigns, appid, body.command(), now)
    response.headers["Location"] = f"/accounts/{appid}/campaigns/{campaign.id}"
    out = with_etag(response, campaign)
    await audit(request, "campaign.created", "campaign", campaign.id, after=out.model_dump(mode="json"))
    return out


@router.get(BASE, summary="List an account's campaigns, newest first", dependencies=needs(Permission.CAMPAIGN_VIEW))
async def list_campaigns(
    appid: AppId,
    api: ApiDep,
    status: CampaignStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    archived: Annotated[bool, Query(description="true: only archived campaigns; false: the others")] = False,
) -> CampaignPage:
    campaigns = await api.campaigns.list(appid, status=status, limit=limit, offset=offset, archived=archived)
    return CampaignPage(items=[CampaignOut.of(c) for c in campaigns], limit=limit, offset=offset)


@router.get(ONE, summary="One campaign (its version is the ETag)", dependencies=needs(Permission.CAMPAIGN_VIEW))
async def read_campaign(appid: AppId, campaign_id: CampaignId, api: ApiDep, response: Response) -> CampaignOut:
    return with_etag(response, await management.load_campaign(api.campaigns, appid, campaign_id))


@router.patch(
    ONE,
    summary="Edit a campaign (If-Match or version required)",
    description="Draft and paused campaigns take any change. An active one takes only a new name, new "
    "message texts, a later end and blacklist additions (409 otherwise); an ended one takes none.",
)
async def edit_campaign(
    appid: AppId,
    campaign_id: CampaignId,
    body: CampaignPatch,
    api: ApiDep,
    response: Response,
    now: Now,
    request: Request,
    _: CanEdit,
    if_match: IfMatch = None,
) -> CampaignOut:
    expected = expected_version(if_match, body.version)
    if expected is None:
        raise HTTPException(428, detail='send the version you edit: If-Match: "<version>" or "version" in the body')
    campaign = await management.edit_campaign(
        api.campaigns, api.templates, appid, campaign_id, expected, body.edit(), now
    )
    # The diff: what the body changed, against the version it was based on.
    await audit(
        request,
        "campaign.edited",
        "campaign",
        campaign_id,
        before={"version": expected},
        after={"version": campaign.version, **body.model_dump(mode="json", exclude_unset=True, exclude={"version"})},
    )
    return with_etag(response, campaign)


@router.post(
    ONE + "/clone",
    status_code=201,
    summary="Copy a campaign as a new draft",
    description="Same settings, tiers, texts, rules, reward basis and a copy of the poster template (image "
    'and layout); the name gets the suffix " copy". No participants and no reward codes come along. '
    "Dates are kept while the original's end is ahead; past it, the copy starts now and lasts as long as "
    "the original did: set its dates before activating.",
)
async def clone_campaign(
    appid: AppId, campaign_id: CampaignId, api: ApiDep, response: Response, now: Now, request: Request, _: CanEdit
) -> CampaignOut:
    clone = await management.clone_campaign(api.campaigns, api.templates, appid, campaign_id, now)
    response.headers["Location"] = f"/accounts/{appid}/campaigns/{clone.id}"
    out = with_etag(response, clone)
    after = out.model_dump(mode="json")
    await audit(request, "campaign.cloned", "campaign", clone.id, before={"source": campaign_id}, after=after)
    return out


@router.post(
    BASE + "/compliance",
    summary="Check unsaved campaign texts for wording WeChat forbids (诱导分享, 诱导关注)",
    description="Takes the create body's shape, every field optional (the wizard's current texts); only "
    "`name`, `messages`, `reward_basis` and `share_screenshot_task` are read. Nothing is stored.",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def check_draft_wording(appid: AppId, body: ComplianceDraft) -> ComplianceOut:
    return ComplianceOut.of(
        check_campaign(
            body.name,
            body.messages,
            reward_basis=body.reward_basis,
            share_screenshot_task=body.share_screenshot_task,
        )
    )


@router.get(
    ONE + "/compliance",
    summary="Check a campaign's texts for wording WeChat forbids (诱导分享, 诱导关注)",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def check_wording(appid: AppId, campaign_id: CampaignId, api: ApiDep) -> ComplianceOut:
    return ComplianceOut.of(flags_of(await management.load_campaign(api.campaigns, appid, campaign_id)))


#: The audit action of each move, in the past tense.
_MOVED = {
    "/activate": "campaign.activated",
    "/pause": "campaign.paused",
    "/end": "campaign.ended",
    "/archive": "campaign.archived",
}


def _move(path: str, summary: str, move: Callable[[Campaign, datetime], None], name: str, description: str) -> None:
    async def endpoint(
        appid: AppId,
        campaign_id: CampaignId,
        api: ApiDep,
        response: Response,
        now: Now,
        request: Request,
        _: CanLaunch,
        if_match: IfMatch = None,
    ) -> CampaignOut:
        # Pause and end are the brakes: they work whatever the version.
        expected = expected_version(if_match)
        campaign = await management.move_campaign(api.campaigns, appid, campaign_id, expected, move, now)
        await audit(
            request,
            _MOVED[path],
            "campaign",
            campaign_id,
            before=None if expected is None else {"version": expected},
            after={"status": campaign.status.value, "version": campaign.version},
        )
        return with_etag(response, campaign)

    endpoint.__name__ = name
    router.post(ONE + path, summary=summary, description=description)(endpoint)


@router.post(
    ONE + "/activate",
    summary="Activate a draft or resume a paused campaign",
    description="Needs a poster template (its image still stored), at least one invite tier and an end in "
    "the future: what is missing comes back at once as 422 `{detail, problems: [{field, problem}]}`. A "
    "campaign that is neither a draft nor paused is 409. Answered with the campaign and `warnings` (same "
    "shape, never blocking): tiers whose reward pool has no codes left, a start still ahead, join keywords "
    "or menu keys another running campaign answers too, wording the compliance check blocks. "
    "`GET …/activation-check` asks without activating. "
    '`If-Match: "<version>"` is required: 428 without it, 409 when the campaign changed since it was read. '
    "Pause and end take `If-Match` too but do not need it: stopping a campaign never waits for a reload.",
)
async def activate_campaign(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    response: Response,
    now: Now,
    request: Request,
    _: CanLaunch,
    if_match: IfMatch = None,
) -> ActivationOut:
    # Activating publishes what was reviewed, so it names the version reviewed.
    expected = required_version(if_match)
    done = await activation.activate_campaign(
        api.campaigns, api.pools, api.templates, appid, campaign_id, expected, now
    )
    campaign = done.campaign
    warnings = ProblemOut.all(done.warnings)
    await audit(
        request,
        _MOVED["/activate"],
        "campaign",
        campaign_id,
        before=None if expected is None else {"version": expected},
        after={
            "status": campaign.status.value,
            "version": campaign.version,
            "warnings": [w.model_dump() for w in warnings],
        },
    )
    return ActivationOut(**with_etag(response, campaign).model_dump(), warnings=warnings)


@router.get(
    ONE + "/activation-check",
    summary="Could the campaign start now? Every problem and warning, nothing changed",
    description="`problems` is what `POST …/activate` would refuse (all of it; also a status that cannot "
    "start), `warnings` what it would answer with (empty reward pools, a start still ahead, join keywords "
    "another running campaign answers too, wording the compliance check blocks).",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def activation_check(appid: AppId, campaign_id: CampaignId, api: ApiDep, now: Now) -> ActivationCheckOut:
    check = await activation.check_activation(api.campaigns, api.pools, api.templates, appid, campaign_id, now)
    return ActivationCheckOut.of(check)


_move("/pause", "Pause an active campaign", Campaign.pause, "pause_campaign", "Members stop joining and earning.")
_move(
    "/archive",
    "Archive an ended campaign",
    Campaign.archive,
    "archive_campaign",
    "Only an ended campaign, once (409 otherwise). Its records, stats and rewards stay; the account's list "
    "leaves it out unless asked with `archived=true`.",
)


@router.post(
    ONE + "/end",
    summary="End a campaign (final), optionally telling its participants",
    description="An ended campaign cannot restart. `notify=true` queues the campaign's `ended` text for "
    "every participant (once each, however often it is asked); the campaigns worker sends them, and a "
    "member whose customer-service window is shut gets it with their next message. `If-Match` is taken "
    "but not needed: stopping a campaign never waits for a reload.",
)
async def end_campaign(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    response: Response,
    now: Now,
    request: Request,
    _: CanLaunch,
    if_match: IfMatch = None,
    notify: bool = False,
) -> EndedOut:
    expected = expected_version(if_match)
    campaign = await management.move_campaign(api.campaigns, appid, campaign_id, expected, Campaign.end, now)
    notified = await management.announce_end(campaign, api.notices, now) if notify else None
    await audit(
        request,
        _MOVED["/end"],
        "campaign",
        campaign_id,
        before=None if expected is None else {"version": expected},
        after={"status": campaign.status.value, "version": campaign.version, "participants_notified": notified},
    )
    return EndedOut(**with_etag(response, campaign).model_dump(), participants_notified=notified)


@router.delete(
    ONE,
    status_code=204,
    summary="Delete a draft",
    description="Only a draft (409 for a campaign that ran: end and archive it instead), with its template "
    "image. `If-Match` is taken but not needed.",
)
async def delete_campaign(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    request: Request,
    _: CanEdit,
    if_match: IfMatch = None,
) -> Response:
    expected = expected_version(if_match)
    deleted = await management.delete_draft(api.campaigns, api.templates, appid, campaign_id, expected)
    await audit(
        request,
        "campaign.deleted",
        "campaign",
        campaign_id,
        before={"name": deleted.name, "status": deleted.status.value, "version": deleted.version},
    )
    return Response(status_code=204)
