"""Campaign management API (the console and ops scripts use it): campaigns, poster templates, reward pools.

Errors: a payload that breaks a rule is 422 naming the field (pydantic's shape, also for the rules the
domain checks); an unknown campaign is 404; a move or change the campaign's status does not allow, or a
write based on a stale version, is 409 with the reason.

Concurrency: every campaign carries a ``version``, also sent as its ``ETag``. ``PATCH`` needs the version
it edits (``If-Match: "3"`` or ``"version": 3`` in the body); the status moves take ``If-Match``
optionally. A write from a stale read is refused with 409 instead of overwriting someone's change.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from services.campaigns.adapters.templates import MAX_STORED_BYTES, TemplateImageRejected, inspect_image
from services.campaigns.bootstrap_api import CampaignsApi, bootstrap
from services.campaigns.domain.campaign import (
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_SLOTS,
    MAX_TIERS,
    MIN_QR_SIZE,
    POOL_NAME,
    Campaign,
    CampaignChanges,
    CampaignInvalid,
    CampaignStatus,
    EditNotAllowed,
    IllegalTransition,
    InviteTier,
    JoinMethods,
    Messages,
    PosterTemplate,
    QrBox,
    RewardBasis,
    Rules,
    TextSlot,
    VersionConflict,
)
from services.campaigns.domain.rewards import (
    MAX_GENERATED,
    CodeUploadInvalid,
    PoolStock,
    parse_codes_csv,
)
from services.campaigns.entrypoints.params import ApiDep, AppId, CampaignId
from services.campaigns.entrypoints.review_http import TAG_REVIEW, review_router
from services.campaigns.service_layer.ports import UnknownAccount
from services.campaigns.settings import CampaignsSettings
from shared.observability import OPENTELEMETRY_OFF, instrument_app
from shared.request_bodies import FormPart, MultipartError, parse_multipart, read_body
from shared.storage import StorageError

PoolName = Annotated[str, Path(pattern=POOL_NAME.pattern, description="Reward pool, as named by the tiers")]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=40, description='The version edited, e.g. "3" (the ETag)')
]

#: A code list larger than this is refused (100k codes of 20 characters fit easily).
MAX_CSV_BYTES = 4 * 1024 * 1024
#: Room for the multipart framing and a layout part around the image.
_FORM_OVERHEAD = 64 * 1024

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
MenuKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
OpenId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
Pixels = Annotated[int, Field(ge=0, le=20_000)]

TAG_CAMPAIGNS = "campaigns"
TAG_TEMPLATES = "poster templates"
TAG_POOLS = "reward pools"
TAG_RESULTS = "joining and results"


# -- request bodies ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QrBoxBody(_Body):
    x: Pixels
    y: Pixels
    size: Annotated[int, Field(ge=MIN_QR_SIZE, le=20_000)]


class TextSlotBody(_Body):
    name: Literal["nickname", "campaign_name", "ends_on"]
    x: Pixels
    y: Pixels
    font_size: Annotated[int, Field(ge=8, le=200)]
    colour: Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")] = "#000000"


class LayoutBody(_Body):
    """Where the member's QR code and the texts go on the template image."""

    qr: QrBoxBody
    text_slots: Annotated[list[TextSlotBody], Field(max_length=MAX_TEXT_SLOTS)] = []


class TemplateBody(LayoutBody):
    image_id: Annotated[str, Field(min_length=1, max_length=64, description="From the template upload")]


class JoinBody(_Body):
    follow_qr: bool = Field(default=True, description="Following through the campaign's own QR code joins")
    keywords: Annotated[list[Keyword], Field(max_length=20, description="Replying one of these joins")] = []
    menu_keys: Annotated[list[MenuKey], Field(max_length=20, description="Clicking a menu item with this key")] = []


class TierBody(_Body):
    count: Annotated[int, Field(ge=1, le=100_000, description="Credited invites that reach the tier")]
    pool: Annotated[str, Field(pattern=POOL_NAME.pattern, description="Reward pool a code is drawn from")]


class MessagesBody(_Body):
    welcome: Text = Messages.welcome
    progress: Text = Messages.progress
    tier_reached: Text = Messages.tier_reached
    ended: Text = Messages.ended
    share_approved: Text = Messages.share_approved
    share_rejected: Text = Messages.share_rejected
    share_review: Text = Messages.share_review


class MessagesPatch(_Body):
    welcome: Text | None = None
    progress: Text | None = None
    tier_reached: Text | None = None
    ended: Text | None = None
    share_approved: Text | None = None
    share_rejected: Text | None = None
    share_review: Text | None = None


class RulesBody(_Body):
    first_time_followers_only: bool = True
    allow_self_invite: Literal[False] = Field(default=False, description="Fixed: self-invites never count")
    one_inviter_per_invitee: Literal[True] = Field(default=True, description="Fixed: the first inviter keeps it")
    revoke_if_unfollowed_within_hours: Annotated[int, Field(ge=0, le=2160)] = 48
    per_inviter_daily_cap: Annotated[int | None, Field(ge=1, le=100_000)] = None
    blacklist: Annotated[list[OpenId], Field(max_length=10_000)] = []


class RulesPatch(_Body):
    """Only the fields given change; ``blacklist`` replaces the whole list."""

    first_time_followers_only: bool | None = None
    allow_self_invite: Literal[False] | None = None
    one_inviter_per_invitee: Literal[True] | None = None
    revoke_if_unfollowed_within_hours: Annotated[int | None, Field(ge=0, le=2160)] = None
    per_inviter_daily_cap: Annotated[int | None, Field(ge=1, le=100_000)] = None
    blacklist: Annotated[list[OpenId] | None, Field(max_length=10_000)] = None


class CampaignCreate(_Body):
    name: Name
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    join: JoinBody = JoinBody()
    tiers: Annotated[list[TierBody], Field(max_length=MAX_TIERS)] = []
    messages: MessagesBody = MessagesBody()
    rules: RulesBody = RulesBody()
    reward_basis: RewardBasis = RewardBasis.VERIFIED_FOLLOWERS
    share_screenshot_task: bool = False
    share_reward_pool: Annotated[
        str | None, Field(pattern=POOL_NAME.pattern, description="Pool an approved share screenshot draws from")
    ] = None


class CampaignPatch(_Body):
    """Fields left out stay as they are."""

    name: Name | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    join: JoinBody | None = None
    template: TemplateBody | None = None
    tiers: Annotated[list[TierBody] | None, Field(max_length=MAX_TIERS)] = None
    messages: MessagesPatch | None = None
    rules: RulesPatch | None = None
    reward_basis: RewardBasis | None = None
    share_screenshot_task: bool | None = None
    share_reward_pool: Annotated[str | None, Field(pattern=POOL_NAME.pattern)] = None
    version: int | None = Field(default=None, description="The version edited (or send If-Match)")


class GenerateBody(_Body):
    count: Annotated[int, Field(ge=1, le=MAX_GENERATED)]


# -- responses -----------------------------------------------------------------------------------------


class TemplateOut(BaseModel):
    image_id: str
    width: int
    height: int
    qr: QrBoxBody
    text_slots: list[TextSlotBody]


class RulesOut(BaseModel):
    first_time_followers_only: bool
    allow_self_invite: bool
    one_inviter_per_invitee: bool
    revoke_if_unfollowed_within_hours: int
    per_inviter_daily_cap: int | None
    blacklist: list[str]


class CampaignOut(BaseModel):
    id: str
    appid: str
    name: str
    status: CampaignStatus
    starts_at: datetime
    ends_at: datetime
    join: JoinBody
    template: TemplateOut | None
    tiers: list[TierBody]
    messages: MessagesBody
    rules: RulesOut
    reward_basis: RewardBasis
    share_screenshot_task: bool
    share_reward_pool: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        template = c.template
        return cls(
            id=c.id,
            appid=c.appid,
            name=c.name,
            status=c.status,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            join=JoinBody(follow_qr=c.join.follow_qr, keywords=list(c.join.keywords), menu_keys=list(c.join.menu_keys)),
            template=None
            if template is None
            else TemplateOut(
                image_id=template.image_id,
                width=template.width,
                height=template.height,
                qr=QrBoxBody.model_validate(template.qr, from_attributes=True),
                text_slots=[TextSlotBody.model_validate(s, from_attributes=True) for s in template.text_slots],
            ),
            tiers=[TierBody(count=t.count, pool=t.pool) for t in c.tiers],
            messages=MessagesBody.model_validate(c.messages, from_attributes=True),
            rules=RulesOut(
                first_time_followers_only=c.rules.first_time_followers_only,
                allow_self_invite=c.rules.allow_self_invite,
                one_inviter_per_invitee=c.rules.one_inviter_per_invitee,
                revoke_if_unfollowed_within_hours=c.rules.revoke_if_unfollowed_within_hours,
                per_inviter_daily_cap=c.rules.per_inviter_daily_cap,
                blacklist=sorted(c.rules.blacklist),
            ),
            reward_basis=c.reward_basis,
            share_screenshot_task=c.share_screenshot_task,
            share_reward_pool=c.share_reward_pool,
            version=c.version,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    limit: int
    offset: int


class TemplateImageOut(BaseModel):
    image_id: str
    content_type: str
    width: int
    height: int
    size: int


class TemplateUploadOut(BaseModel):
    image: TemplateImageOut
    campaign: CampaignOut


class PoolStockOut(BaseModel):
    pool: str
    total: int
    allocated: int
    remaining: int
    #: The tier counts that draw from this pool.
    tiers: list[int]


class RejectedLineOut(BaseModel):
    line: int
    text: str
    reason: str


class CodesUploadOut(BaseModel):
    pool: str
    added: int
    already_in_pool: int
    duplicates: int
    rejected: list[RejectedLineOut]
    rejected_more: int
    stock: PoolStockOut


class GenerateOut(BaseModel):
    pool: str
    added: int
    stock: PoolStockOut


# -- helpers -------------------------------------------------------------------------------------------

_TEMPLATE_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary", "description": "PNG or JPEG"},
                        "layout": {
                            "type": "string",
                            "description": "JSON: where the QR code and texts go (LayoutBody). Left out: the "
                            "campaign's current layout is kept, if it has one.",
                        },
                    },
                }
            }
        },
    }
}
_CODES_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


class JoinCodeOut(BaseModel):
    scene: str
    ticket: str
    url: str = Field(description="What the QR code encodes")
    image_url: str = Field(description="The QR code picture (showqrcode), to print or share")
    expires_at: datetime


class LeaderboardRowOut(BaseModel):
    rank: int
    openid: str
    credited: int
    revoked: int
    tiers_granted: list[int]
    joined_at: datetime


class RewardOut(BaseModel):
    openid: str
    tier: int
    pool: str
    granted_at: datetime
    code: str | None = Field(description="Issued when the tier notice is delivered; None until then or out of stock")
    status: str = Field(description="granted, issued, or awaiting_stock")


class StatsOut(BaseModel):
    participants: int
    posters_sent: int
    joined_via: dict[str, int] = Field(description="campaign_qr, referral, keyword, menu, ...")
    invites_credited: int = Field(description="Standing credits (revoked ones not counted)")
    invites_revoked: int
    rejections: dict[str, int] = Field(description="Follows and scans that earned no credit, by rule")
    rewards_granted: dict[int, int] = Field(description="Grants per tier (invite count)")
    share_rewards_granted: int = Field(description="Share-screenshot rewards (one per member at most)")
    screenshots: dict[str, int] = Field(description="Share-screenshot submissions by status")
    rewards_awaiting_stock: int = Field(description="Grants whose pool ran dry; top the pool up")
    k_factor: float = Field(description="Credited invites per participant")
    leaderboard: list[LeaderboardRowOut]


_CSV_COLUMNS = (
    "openid", "code", "joined_at", "joined_via", "credited", "revoked", "tiers_granted", "poster_sent_at",
)  # fmt: skip


def _csv_line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


def _as_stored(moment: datetime) -> datetime:
    """UTC to the millisecond, as MongoDB keeps it: what is answered now is what a read returns later."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _field_error(loc: list[str | int], message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ["body", *loc], "msg": message, "input": None}])


def _loc(field: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in field.split(".")]


def _expected_version(if_match: str | None, body_version: int | None = None) -> int | None:
    if if_match is None:
        return body_version
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise RequestValidationError(
            [{"type": "value_error", "loc": ["header", "If-Match"], "msg": 'expected a version like "3"'}]
        )
    return int(text)


async def _load(api: CampaignsApi, appid: str, campaign_id: str, expected: int | None = None) -> Campaign:
    campaign = await api.campaigns.get(appid, campaign_id)
    if campaign is None:
        raise HTTPException(404, detail=f"no campaign {campaign_id!r} in account {appid!r}")
    if expected is not None and expected != campaign.version:
        raise VersionConflict(f"campaign is at version {campaign.version}, not {expected}; reload and retry")
    return campaign


def _with_etag(response: Response, campaign: Campaign) -> CampaignOut:
    response.headers["ETag"] = f'"{campaign.version}"'
    return CampaignOut.of(campaign)


def _layout_of(body: LayoutBody, image_id: str, width: int, height: int) -> PosterTemplate:
    return PosterTemplate(
        image_id=image_id,
        width=width,
        height=height,
        qr=QrBox(body.qr.x, body.qr.y, body.qr.size),
        text_slots=tuple(TextSlot(s.name, s.x, s.y, s.font_size, s.colour) for s in body.text_slots),
    )


def _rules_patch(current: Rules, patch: RulesPatch) -> Rules:
    """``current`` with the fields the patch gives; null means "no cap" only for the daily cap."""
    values: dict[str, Any] = {}
    for name in patch.model_fields_set & {f.name for f in fields(Rules)}:
        value = getattr(patch, name)
        if value is not None or name == "per_inviter_daily_cap":
            values[name] = frozenset(value) if name == "blacklist" else value
    return replace(current, **values)


async def _stock_of(api: CampaignsApi, campaign: Campaign, pool: str | None = None) -> list[PoolStockOut]:
    stocks = {s.pool: s for s in await api.pools.stock(campaign.id)}
    for tier in campaign.tiers:
        stocks.setdefault(tier.pool, PoolStock(tier.pool, 0, 0))
    if pool is not None:
        stocks.setdefault(pool, PoolStock(pool, 0, 0))
    return [
        PoolStockOut(
            pool=s.pool,
            total=s.total,
            allocated=s.allocated,
            remaining=s.remaining,
            tiers=[tier.count for tier in campaign.tiers if tier.pool == s.pool],
        )
        for name, s in sorted(stocks.items())
        if pool is None or name == pool
    ]


def _refuse_if_ended(campaign: Campaign) -> None:
    if campaign.status is CampaignStatus.ENDED:
        raise EditNotAllowed("the campaign has ended; its reward pools are closed")


# -- the app -------------------------------------------------------------------------------------------


def create_app(settings: CampaignsSettings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The campaign management API. ``clock`` (tests) replaces the wall clock for status moves."""

    def now() -> datetime:
        return _as_stored(clock() if clock is not None else datetime.now(UTC))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings) as api:
            app.state.campaigns = api
            yield

    app = FastAPI(
        title="SCRM campaigns API",
        summary="Share-poster referral campaigns (任务宝): definitions, poster templates and reward pools.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=OPENTELEMETRY_OFF,
        openapi_tags=[
            {"name": TAG_CAMPAIGNS, "description": "Define campaigns and move them through their lifecycle."},
            {"name": TAG_TEMPLATES, "description": "The poster background and where the QR code goes."},
            {"name": TAG_POOLS, "description": "Coupon codes the invite tiers grant; never oversold."},
            {"name": TAG_RESULTS, "description": "The campaign's join QR code, stats, leaderboard and export."},
            {"name": TAG_REVIEW, "description": "Share-screenshot decisions and the human review queue."},
        ],
    )

    async def mongodb_ready() -> None:
        await app.state.campaigns.ready()

    known_accounts = {account.appid for account in settings.wechat_accounts}

    @app.middleware("http")
    async def refuse_unknown_accounts(request: Request, call_next: Any) -> Any:
        # Every campaign belongs to an account this service holds credentials for (WECHAT_ACCOUNTS):
        # without them no poster, QR code or message could ever go out.
        parts = request.url.path.split("/")
        if len(parts) > 2 and parts[1] == "accounts" and parts[2] not in known_accounts:
            return JSONResponse({"detail": f"unknown account {parts[2]!r}"}, status_code=404)
        return await call_next(request)

    instrument_app(app, settings.service_name, checks={"mongodb": mongodb_ready})
    app.include_router(review_router(now))

    @app.exception_handler(CampaignInvalid)
    async def invalid(request: Request, exc: CampaignInvalid) -> JSONResponse:
        detail = [{"type": "value_error", "loc": ["body", *_loc(exc.field)], "msg": exc.message}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(IllegalTransition)
    @app.exception_handler(EditNotAllowed)
    @app.exception_handler(VersionConflict)
    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(StorageError)
    async def storage(request: Request, exc: StorageError) -> JSONResponse:
        return JSONResponse({"detail": "storage unavailable, retry later"}, status_code=503)

    base = "/accounts/{appid}/campaigns"
    one = base + "/{campaign_id}"

    # -- campaigns -------------------------------------------------------------------------------------

    @app.post(base, status_code=201, tags=[TAG_CAMPAIGNS], summary="Create a campaign (as a draft)")
    async def create_campaign(appid: AppId, body: CampaignCreate, api: ApiDep, response: Response) -> CampaignOut:
        campaign = Campaign.create(
            appid=appid,
            name=body.name,
            starts_at=_as_stored(body.starts_at),
            ends_at=_as_stored(body.ends_at),
            now=now(),
            join=JoinMethods(body.join.follow_qr, tuple(body.join.keywords), tuple(body.join.menu_keys)),
            tiers=[InviteTier(t.count, t.pool) for t in body.tiers],
            messages=Messages(**body.messages.model_dump()),
            rules=Rules(
                first_time_followers_only=body.rules.first_time_followers_only,
                revoke_if_unfollowed_within_hours=body.rules.revoke_if_unfollowed_within_hours,
                per_inviter_daily_cap=body.rules.per_inviter_daily_cap,
                blacklist=frozenset(body.rules.blacklist),
            ),
            reward_basis=body.reward_basis,
            share_screenshot_task=body.share_screenshot_task,
            share_reward_pool=body.share_reward_pool,
        )
        await api.campaigns.add(campaign)
        response.headers["Location"] = f"/accounts/{appid}/campaigns/{campaign.id}"
        return _with_etag(response, campaign)

    @app.get(base, tags=[TAG_CAMPAIGNS], summary="List an account's campaigns, newest first")
    async def list_campaigns(
        appid: AppId,
        api: ApiDep,
        status: CampaignStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> CampaignPage:
        campaigns = await api.campaigns.list(appid, status=status, limit=limit, offset=offset)
        return CampaignPage(items=[CampaignOut.of(c) for c in campaigns], limit=limit, offset=offset)

    @app.get(one, tags=[TAG_CAMPAIGNS], summary="One campaign (its version is the ETag)")
    async def read_campaign(appid: AppId, campaign_id: CampaignId, api: ApiDep, response: Response) -> CampaignOut:
        return _with_etag(response, await _load(api, appid, campaign_id))

    @app.patch(
        one,
        tags=[TAG_CAMPAIGNS],
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
        if_match: IfMatch = None,
    ) -> CampaignOut:
        expected = _expected_version(if_match, body.version)
        if expected is None:
            raise HTTPException(428, detail='send the version you edit: If-Match: "<version>" or "version" in the body')
        campaign = await _load(api, appid, campaign_id, expected)
        template = None
        if body.template is not None:
            image = await api.templates.get(campaign.id, body.template.image_id)
            if image is None:
                raise _field_error(["template", "image_id"], "no image with this id was uploaded for this campaign")
            template = _layout_of(body.template, image.id, image.info.width, image.info.height)
        messages = None
        if body.messages is not None:
            given = body.messages.model_dump(exclude_none=True)
            messages = Messages(**({n: getattr(campaign.messages, n) for n in Messages.PLACEHOLDERS} | given))
        changes = CampaignChanges(
            name=body.name,
            starts_at=None if body.starts_at is None else _as_stored(body.starts_at),
            ends_at=None if body.ends_at is None else _as_stored(body.ends_at),
            join=None
            if body.join is None
            else JoinMethods(body.join.follow_qr, tuple(body.join.keywords), tuple(body.join.menu_keys)),
            template=template,
            tiers=None if body.tiers is None else tuple(InviteTier(t.count, t.pool) for t in body.tiers),
            messages=messages,
            rules=None if body.rules is None else _rules_patch(campaign.rules, body.rules),
            reward_basis=body.reward_basis,
            share_screenshot_task=body.share_screenshot_task,
            share_reward_pool=body.share_reward_pool,
        )
        campaign.edit(changes, now())
        await api.campaigns.save(campaign)
        return _with_etag(response, campaign)

    def _transition(
        path: str, summary: str, move: Callable[[Campaign, datetime], None], name: str, description: str
    ) -> None:
        async def endpoint(
            appid: AppId, campaign_id: CampaignId, api: ApiDep, response: Response, if_match: IfMatch = None
        ) -> CampaignOut:
            campaign = await _load(api, appid, campaign_id, _expected_version(if_match))
            move(campaign, now())
            await api.campaigns.save(campaign)
            return _with_etag(response, campaign)

        endpoint.__name__ = name
        app.post(one + path, tags=[TAG_CAMPAIGNS], summary=summary, description=description)(endpoint)

    _transition(
        "/activate",
        "Activate a draft or resume a paused campaign",
        Campaign.activate,
        "activate_campaign",
        "Needs a poster template, at least one invite tier and an end in the future (409 otherwise).",
    )
    _transition(
        "/pause", "Pause an active campaign", Campaign.pause, "pause_campaign", "Members stop joining and earning."
    )
    _transition("/end", "End a campaign (final)", Campaign.end, "end_campaign", "An ended campaign cannot restart.")

    # -- poster template -------------------------------------------------------------------------------

    @app.post(
        one + "/template",
        status_code=201,
        tags=[TAG_TEMPLATES],
        summary="Upload the poster background (PNG or JPEG) and its layout",
        description="Multipart form: `image` (the file) and optionally `layout` (JSON: `qr` box and "
        "`text_slots`, which must lie inside the image). Without `layout` the campaign's current layout "
        "moves to the new image; a campaign without one keeps no template until a PATCH sets `template`.",
        openapi_extra=_TEMPLATE_FORM,
    )
    async def upload_template(
        appid: AppId, campaign_id: CampaignId, request: Request, api: ApiDep, if_match: IfMatch = None
    ) -> TemplateUploadOut:
        limit = min(settings.max_template_bytes, MAX_STORED_BYTES)
        body = await read_body(request.scope, request.receive, limit + _FORM_OVERHEAD)
        if body is None:
            raise _field_error(["image"], f"image too large: at most {limit} bytes accepted")
        try:
            form = _by_name(parse_multipart(body, request.headers.get("content-type", "")))
        except MultipartError as exc:
            raise _field_error(["image"], str(exc)) from None
        if "image" not in form:
            raise _field_error(["image"], "a form field 'image' with the file is required")
        layout = None
        if "layout" in form:
            try:
                layout = LayoutBody.model_validate_json(form["layout"].content)
            except ValidationError as exc:
                raise RequestValidationError(
                    [{**e, "loc": ("body", "layout", *e["loc"])} for e in exc.errors(include_url=False)]
                ) from None
        data = form["image"].content
        try:
            info = await asyncio.to_thread(inspect_image, data, max_bytes=limit)
        except TemplateImageRejected as exc:
            raise _field_error(["image"], str(exc)) from None
        campaign = await _load(api, appid, campaign_id, _expected_version(if_match))
        if campaign.status in (CampaignStatus.ACTIVE, CampaignStatus.ENDED):
            raise EditNotAllowed(f"the poster template of an {campaign.status} campaign cannot change; pause it")
        if layout is None and campaign.template is not None:
            layout = LayoutBody.model_validate(campaign.template, from_attributes=True)
        image = await api.templates.put(appid, campaign.id, data, info)
        try:
            if layout is not None:
                template = _layout_of(layout, image.id, info.width, info.height)
                campaign.edit(CampaignChanges(template=template), now())
                await api.campaigns.save(campaign)
        except BaseException:
            await api.templates.delete(image.id)
            raise
        return TemplateUploadOut(
            image=TemplateImageOut(
                image_id=image.id,
                content_type=info.content_type,
                width=info.width,
                height=info.height,
                size=info.size,
            ),
            campaign=CampaignOut.of(campaign),
        )

    # -- reward pools ----------------------------------------------------------------------------------

    @app.get(one + "/reward-pools", tags=[TAG_POOLS], summary="Stock of every reward pool")
    async def read_stock(appid: AppId, campaign_id: CampaignId, api: ApiDep) -> list[PoolStockOut]:
        campaign = await _load(api, appid, campaign_id)
        return await _stock_of(api, campaign)

    @app.post(
        one + "/reward-pools/{pool}/codes",
        tags=[TAG_POOLS],
        summary="Upload coupon codes (CSV)",
        description="A `text/csv` body, or a multipart form with the file as `file`. One code per line, or a "
        "header row with a `code` column. UTF-8 (BOM allowed) or GB18030. Blank lines are skipped, "
        "repeats kept once, codes already in the pool ignored; invalid lines are reported.",
        openapi_extra=_CODES_FORM,
    )
    async def upload_codes(
        appid: AppId, campaign_id: CampaignId, pool: PoolName, request: Request, api: ApiDep
    ) -> CodesUploadOut:
        body = await read_body(request.scope, request.receive, MAX_CSV_BYTES)
        if body is None:
            raise _field_error(["file"], f"file larger than {MAX_CSV_BYTES} bytes; split it")
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/"):
            try:
                form = _by_name(parse_multipart(body, content_type))
            except MultipartError as exc:
                raise _field_error(["file"], str(exc)) from None
            if "file" not in form:
                raise _field_error(["file"], "a form field 'file' with the CSV is required")
            body = form["file"].content
        try:
            parsed = parse_codes_csv(body)
        except CodeUploadInvalid as exc:
            raise _field_error(["file"], str(exc)) from None
        if not parsed.codes:
            reasons = "; ".join(f"line {r.line}: {r.reason}" for r in parsed.rejected[:5])
            raise _field_error(["file"], "no valid codes in the file" + (f" ({reasons})" if reasons else ""))
        campaign = await _load(api, appid, campaign_id)
        _refuse_if_ended(campaign)
        added = await api.pools.add_codes(campaign.id, pool, parsed.codes)
        (stock,) = await _stock_of(api, campaign, pool)
        return CodesUploadOut(
            pool=pool,
            added=added.added,
            already_in_pool=added.already_in_pool,
            duplicates=parsed.duplicates,
            rejected=[RejectedLineOut(line=r.line, text=r.text, reason=r.reason) for r in parsed.rejected],
            rejected_more=parsed.rejected_more,
            stock=stock,
        )

    @app.post(
        one + "/reward-pools/{pool}/generate",
        status_code=201,
        tags=[TAG_POOLS],
        summary="Generate coupon codes",
        description="Random codes from a secure source, in an alphabet without look-alike characters.",
    )
    async def generate_codes(
        appid: AppId, campaign_id: CampaignId, pool: PoolName, body: GenerateBody, api: ApiDep
    ) -> GenerateOut:
        campaign = await _load(api, appid, campaign_id)
        _refuse_if_ended(campaign)
        added = await api.pools.generate(campaign.id, pool, body.count)
        (stock,) = await _stock_of(api, campaign, pool)
        return GenerateOut(pool=pool, added=added, stock=stock)

    # -- joining and results ---------------------------------------------------------------------------

    @app.get(
        one + "/join-qr",
        tags=[TAG_RESULTS],
        summary="The campaign's own QR code (following or scanning it joins)",
        description="Created on first request and renewed when less than a day is left (temporary codes "
        "last at most 30 days). Only for an active campaign.",
    )
    async def join_qr(appid: AppId, campaign_id: CampaignId, api: ApiDep) -> JoinCodeOut:
        campaign = await _load(api, appid, campaign_id)
        if campaign.status is not CampaignStatus.ACTIVE:
            raise HTTPException(409, detail=f"the campaign is {campaign.status}; activate it first")
        if not campaign.join.follow_qr:
            raise HTTPException(409, detail="joining through the campaign's QR code is switched off (join.follow_qr)")
        try:
            code = await api.join_codes.current(appid, campaign.id, ends_at=campaign.ends_at, now=now())
        except UnknownAccount:
            raise HTTPException(404, detail=f"unknown account {appid!r}") from None
        return JoinCodeOut(
            scene=code.scene, ticket=code.ticket, url=code.url, image_url=code.image_url, expires_at=code.expires_at
        )

    @app.get(one + "/stats", tags=[TAG_RESULTS], summary="Participants, posters, invites, rewards, K-factor")
    async def stats(
        appid: AppId, campaign_id: CampaignId, api: ApiDep, top: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> StatsOut:
        campaign = await _load(api, appid, campaign_id)
        found = await api.stats.of(campaign.id, top=top)
        return StatsOut(
            participants=found.participants,
            posters_sent=found.posters_sent,
            joined_via=found.joined_via,
            invites_credited=found.invites_credited,
            invites_revoked=found.invites_revoked,
            rejections=found.rejections,
            rewards_granted=found.rewards_granted,
            share_rewards_granted=found.share_rewards_granted,
            screenshots=found.screenshots,
            rewards_awaiting_stock=found.rewards_awaiting_stock,
            k_factor=found.k_factor,
            leaderboard=[LeaderboardRowOut(**row.__dict__) for row in found.leaderboard],
        )

    @app.get(one + "/leaderboard", tags=[TAG_RESULTS], summary="Top inviters by standing credit")
    async def leaderboard(
        appid: AppId, campaign_id: CampaignId, api: ApiDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[LeaderboardRowOut]:
        campaign = await _load(api, appid, campaign_id)
        return [LeaderboardRowOut(**row.__dict__) for row in await api.stats.leaderboard(campaign.id, limit=limit)]

    @app.get(one + "/rewards", tags=[TAG_RESULTS], summary="Rewards granted, with their coupon codes")
    async def rewards(
        appid: AppId,
        campaign_id: CampaignId,
        api: ApiDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> list[RewardOut]:
        campaign = await _load(api, appid, campaign_id)
        return [
            RewardOut(
                openid=doc["inviter"],
                tier=doc["tier"],
                pool=doc["pool"],
                granted_at=doc["granted_at"],
                code=doc.get("code"),
                status=doc.get("status", "granted"),
            )
            for doc in await api.stats.rewards(campaign.id, limit=limit, offset=offset)
        ]

    @app.get(
        one + "/participants.csv",
        tags=[TAG_RESULTS],
        summary="Every participant as CSV",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}}}},
    )
    async def export_participants(appid: AppId, campaign_id: CampaignId, api: ApiDep) -> StreamingResponse:
        campaign = await _load(api, appid, campaign_id)

        async def rows() -> AsyncIterator[str]:
            yield "\ufeff" + _csv_line(list(_CSV_COLUMNS))  # BOM: Excel opens UTF-8 Chinese text correctly
            async for doc in api.stats.participants(campaign.id):
                values = [doc.get(column) for column in _CSV_COLUMNS]
                values[_CSV_COLUMNS.index("tiers_granted")] = " ".join(str(t) for t in doc.get("tiers_granted", []))
                yield _csv_line(values)

        filename = f"campaign-{campaign.id}-participants.csv"
        return StreamingResponse(
            rows(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return app


def _by_name(parts: list[FormPart]) -> dict[str, FormPart]:
    """Form fields by name; the first of a repeated name wins."""
    fields: dict[str, FormPart] = {}
    for part in parts:
        fields.setdefault(part.name, part)
    return fields
