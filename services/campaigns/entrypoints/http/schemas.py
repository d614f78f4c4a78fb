"""The campaigns API's request and response bodies (pydantic), and their mapping to use-case inputs.

Requests are strict (unknown fields are refused) and name the field at fault; the domain checks the
rules that need more than one field (``ends_at`` after ``starts_at``, tiers ascending, placeholders).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.campaigns.domain.campaign import (
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_SLOTS,
    MAX_TIERS,
    MIN_QR_SIZE,
    POOL_NAME,
    Campaign,
    CampaignStatus,
    InviteTier,
    JoinMethods,
    Messages,
    Problem,
    QrBox,
    RewardBasis,
    Rules,
    TextSlot,
)
from services.campaigns.domain.compliance import ComplianceFlag, Severity
from services.campaigns.domain.payouts import (
    ACTIVE,
    MAX_DEADLINE_HOURS,
    MAX_DELAY_HOURS,
    PayoutState,
    RecheckMode,
    SharePayout,
    SharePayoutPolicy,
)
from services.campaigns.domain.results import MemberCampaign, mask_code
from services.campaigns.domain.rewards import MAX_GENERATED
from services.campaigns.domain.submissions import REJECT_REASONS, AuditEntry, Claim, SubmissionRecord
from services.campaigns.service_layer.activation import ActivationCheck
from services.campaigns.service_layer.management import CampaignEdit, NewCampaign, TemplateLayout
from services.campaigns.service_layer.reward_stock import PoolReport
from services.screenshots import Reason
from shared.web import AwareMoment

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
MenuKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
OpenId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
Pixels = Annotated[int, Field(ge=0, le=20_000)]


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

    def layout(self) -> TemplateLayout:
        return TemplateLayout(
            QrBox(self.qr.x, self.qr.y, self.qr.size),
            tuple(TextSlot(s.name, s.x, s.y, s.font_size, s.colour) for s in self.text_slots),
        )


class TemplateBody(LayoutBody):
    image_id: Annotated[str, Field(min_length=1, max_length=64, description="From the template upload")]


class JoinBody(_Body):
    follow_qr: bool = Field(default=True, description="Following through the campaign's own QR code joins")
    keywords: Annotated[list[Keyword], Field(max_length=20, description="Replying one of these joins")] = []
    menu_keys: Annotated[list[MenuKey], Field(max_length=20, description="Clicking a menu item with this key")] = []

    def methods(self) -> JoinMethods:
        return JoinMethods(self.follow_qr, tuple(self.keywords), tuple(self.menu_keys))


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
    share_thanked: Text = Field(
        default=Messages.share_thanked, description="Reply to an approved screenshot when the task pays nothing"
    )
    share_pending: Text = Field(default=Messages.share_pending, description="Approval reply of a delayed payout")
    share_recheck: Text = Field(default=Messages.share_recheck, description="The re-check request ({hours} to reply)")
    share_recheck_passed: Text = Messages.share_recheck_passed
    share_forfeited: Text = Field(
        default=Messages.share_forfeited, description="No reward: the re-check failed or was not sent ({reason})"
    )


class MessagesPatch(_Body):
    welcome: Text | None = None
    progress: Text | None = None
    tier_reached: Text | None = None
    ended: Text | None = None
    share_approved: Text | None = None
    share_rejected: Text | None = None
    share_review: Text | None = None
    share_thanked: Text | None = None
    share_pending: Text | None = None
    share_recheck: Text | None = None
    share_recheck_passed: Text | None = None
    share_forfeited: Text | None = None


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


class SharePayoutBody(_Body):
    """When an approved share screenshot's reward is paid, and whom a re-check is asked of."""

    delay_hours: Annotated[int, Field(ge=0, le=MAX_DELAY_HOURS, description="0: paid at approval")] = 0
    recheck: RecheckMode = Field(
        default=RecheckMode.NONE, description="none, a sample of members, or all: asked for a fresh screenshot"
    )
    recheck_percent: Annotated[int, Field(ge=1, le=100, description="The sample's share (recheck: sample)")] = 10
    recheck_after_hours: Annotated[
        int, Field(ge=1, le=MAX_DELAY_HOURS, description="Hours after the approval the re-check is asked")
    ] = 24
    recheck_deadline_hours: Annotated[
        int, Field(ge=1, le=MAX_DEADLINE_HOURS, description="Hours the member has to send it; then no reward")
    ] = 24

    def policy(self) -> SharePayoutPolicy:
        return SharePayoutPolicy(**self.model_dump())

    @classmethod
    def of(cls, policy: SharePayoutPolicy) -> SharePayoutBody:
        return cls.model_validate(policy, from_attributes=True)


class CampaignCreate(_Body):
    name: Name
    starts_at: AwareMoment
    ends_at: AwareMoment
    join: JoinBody = JoinBody()
    tiers: Annotated[list[TierBody], Field(max_length=MAX_TIERS)] = []
    messages: MessagesBody = MessagesBody()
    rules: RulesBody = RulesBody()
    reward_basis: RewardBasis = RewardBasis.VERIFIED_FOLLOWERS
    share_screenshot_task: bool = False
    share_reward_pool: Annotated[
        str | None, Field(pattern=POOL_NAME.pattern, description="Pool an approved share screenshot draws from")
    ] = None
    share_payout: SharePayoutBody = SharePayoutBody()

    def command(self) -> NewCampaign:
        return NewCampaign(
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            join=self.join.methods(),
            tiers=tuple(InviteTier(t.count, t.pool) for t in self.tiers),
            messages=Messages(**self.messages.model_dump()),
            rules=Rules(
                first_time_followers_only=self.rules.first_time_followers_only,
                revoke_if_unfollowed_within_hours=self.rules.revoke_if_unfollowed_within_hours,
                per_inviter_daily_cap=self.rules.per_inviter_daily_cap,
                blacklist=frozenset(self.rules.blacklist),
            ),
            reward_basis=self.reward_basis,
            share_screenshot_task=self.share_screenshot_task,
            share_reward_pool=self.share_reward_pool,
            share_payout=self.share_payout.policy(),
        )


class CampaignPatch(_Body):
    """Fields left out stay as they are."""

    name: Name | None = None
    starts_at: AwareMoment | None = None
    ends_at: AwareMoment | None = None
    join: JoinBody | None = None
    template: TemplateBody | None = None
    tiers: Annotated[list[TierBody] | None, Field(max_length=MAX_TIERS)] = None
    messages: MessagesPatch | None = None
    rules: RulesPatch | None = None
    reward_basis: RewardBasis | None = None
    share_screenshot_task: bool | None = None
    share_reward_pool: Annotated[str | None, Field(pattern=POOL_NAME.pattern)] = None
    share_payout: SharePayoutBody | None = Field(default=None, description="Replaces the whole payout policy")
    version: int | None = Field(default=None, description="The version edited (or send If-Match)")

    def edit(self) -> CampaignEdit:
        rules = self.rules
        return CampaignEdit(
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            join=None if self.join is None else self.join.methods(),
            template=None if self.template is None else (self.template.image_id, self.template.layout()),
            tiers=None if self.tiers is None else tuple(InviteTier(t.count, t.pool) for t in self.tiers),
            messages=None if self.messages is None else self.messages.model_dump(exclude_none=True),
            # Only the fields given: a null daily cap means "no cap", left out means "as it is".
            rules=None if rules is None else {name: getattr(rules, name) for name in rules.model_fields_set},
            reward_basis=self.reward_basis,
            share_screenshot_task=self.share_screenshot_task,
            share_reward_pool=self.share_reward_pool,
            share_payout=None if self.share_payout is None else self.share_payout.policy(),
        )


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
    share_payout: SharePayoutBody
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = Field(default=None, description="When the ended campaign was archived")

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
            share_payout=SharePayoutBody.of(c.share_payout),
            version=c.version,
            created_at=c.created_at,
            updated_at=c.updated_at,
            archived_at=c.archived_at,
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
    notes: list[ProblemOut] = Field(
        default_factory=list,
        description="What to know about the layout's slots (never blocking): a nickname slot is dropped "
        "from members' posters, since WeChat no longer gives accounts nicknames",
    )


class PoolStockOut(BaseModel):
    pool: str
    total: int
    allocated: int
    remaining: int
    #: The tier counts that draw from this pool.
    tiers: list[int]

    @classmethod
    def of(cls, report: PoolReport) -> PoolStockOut:
        stock = report.stock
        return cls(
            pool=stock.pool,
            total=stock.total,
            allocated=stock.allocated,
            remaining=stock.remaining,
            tiers=list(report.tiers),
        )


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


class SharePayoutCountsOut(BaseModel):
    """A campaign's delayed share-reward payouts (all zero when it pays at approval)."""

    pending: int = Field(default=0, description="Not paid yet and not forfeited: waiting, re-check asked or passed")
    paid: int = 0
    rechecks_requested: int = Field(default=0, description="Members asked for a re-check (whatever came of it)")
    rechecks_awaited: int = Field(default=0, description="Asked, not answered yet")
    rechecks_passed: int = Field(default=0, description="Passed (paid since, or waiting for the pay time)")
    rechecks_failed: int = 0
    rechecks_expired: int = Field(default=0, description="Not sent by the deadline")

    @classmethod
    def of(cls, tally: dict[str, int]) -> SharePayoutCountsOut:
        asked = tally.get("recheck_asked", 0)
        failed = tally.get(PayoutState.RECHECK_FAILED.value, 0)
        expired = tally.get(PayoutState.RECHECK_EXPIRED.value, 0)
        awaited = tally.get(PayoutState.RECHECK_REQUESTED.value, 0)
        return cls(
            pending=sum(tally.get(state.value, 0) for state in ACTIVE),
            paid=tally.get(PayoutState.PAID.value, 0),
            rechecks_requested=asked,
            rechecks_awaited=awaited,
            rechecks_passed=asked - awaited - failed - expired,
            rechecks_failed=failed,
            rechecks_expired=expired,
        )


class SharePayoutOut(BaseModel):
    openid: str
    state: PayoutState
    submission_id: str = Field(description="The approved screenshot whose reward this is")
    approved_at: datetime
    pay_at: datetime = Field(description="When it may be paid (approval + delay)")
    due_at: datetime | None = Field(description="When the sweep next acts on it; None once settled")
    recheck_at: datetime | None = Field(description="When the re-check is asked (None: not asked of this member)")
    recheck_requested_at: datetime | None
    recheck_deadline_at: datetime | None
    recheck_submission: str | None = Field(description="The re-check screenshot that passed or failed")
    recheck_reasons: list[str] = Field(description="Why it was forfeited")
    settled_at: datetime | None

    @classmethod
    def of(cls, payout: SharePayout) -> SharePayoutOut:
        return cls(
            openid=payout.openid,
            state=payout.state,
            submission_id=payout.submission_id,
            approved_at=payout.approved_at,
            pay_at=payout.pay_at,
            due_at=payout.due_at,
            recheck_at=payout.recheck_at,
            recheck_requested_at=payout.recheck_requested_at,
            recheck_deadline_at=payout.recheck_deadline_at,
            recheck_submission=payout.recheck_submission,
            recheck_reasons=list(payout.recheck_reasons),
            settled_at=payout.settled_at,
        )


class SharePayoutPage(BaseModel):
    items: list[SharePayoutOut]
    counts: SharePayoutCountsOut
    limit: int
    offset: int


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
    funnel: list[FunnelStepOut] = Field(
        description="In order: poster_sent (members), scanned (follows and scans through members' poster "
        "codes, credited or not), followed (new follows among them), credited (standing + revoked), "
        "reached_tier (members with a tier grant), rewarded (members with a tier reward's code delivered; "
        "share-screenshot rewards not counted)"
    )
    rewards_by_tier: list[TierRewardsOut]
    invites_confirmed: int = Field(
        default=0, description="Standing credits past the revocation window: what tiers count (verified_followers)"
    )
    invites_pending: int = Field(default=0, description="Standing credits still inside the revocation window")
    share_payouts: SharePayoutCountsOut = Field(
        default_factory=SharePayoutCountsOut, description="Delayed share-reward payouts and their re-checks"
    )


class FunnelStepOut(BaseModel):
    step: str
    count: int


class TierRewardsOut(BaseModel):
    tier: int = Field(description="The tier's invite count")
    pool: str
    granted: int
    issued: int = Field(description="Codes delivered to the member")
    awaiting_stock: int
    pool_total: int | None = Field(description="Codes in the tier's pool (shared by tiers drawing from it)")
    pool_remaining: int | None


# -- participants and a member's campaigns -------------------------------------------------------------


class ParticipantOut(BaseModel):
    openid: str
    joined_at: datetime
    joined_via: str
    credited: int = Field(description="Standing credits")
    revoked: int
    tiers_granted: list[int]
    poster_sent_at: datetime | None


class ParticipantPage(BaseModel):
    items: list[ParticipantOut]
    total: int = Field(description="Participants matching the query, all pages")
    limit: int
    offset: int


class InviteeOut(BaseModel):
    openid: str
    status: str = Field(description="credited, revoked (unfollowed within the window) or refused")
    rule: str | None = Field(description="For refused: the rule that refused the credit")
    at: datetime = Field(description="Credited, revoked or refused at")


class MemberRewardOut(BaseModel):
    tier: int = Field(description="The tier's invite count; 0 is the share-screenshot reward")
    kind: str = Field(description="tier or share")
    pool: str
    granted_at: datetime
    status: str = Field(description="granted (not delivered yet), issued or awaiting_stock")
    code_masked: str | None = Field(description="The coupon code, all but its last 4 characters hidden")


class MemberCampaignOut(BaseModel):
    campaign_id: str
    name: str | None = Field(description="None if the campaign is gone")
    status: CampaignStatus | None
    joined_at: datetime
    joined_via: str
    invites_credited: int
    invites_revoked: int
    invitees: list[InviteeOut] = Field(description="Oldest first, at most 200")
    invitees_more: bool = Field(description="True when more than 200 were left out")
    tiers_reached: list[int]
    rewards: list[MemberRewardOut]
    share_submissions: int
    share_payout: SharePayoutOut | None = Field(default=None, description="A delayed share reward's payout")

    @classmethod
    def of(
        cls, found: MemberCampaign, campaign: Campaign | None, payout: SharePayout | None = None
    ) -> MemberCampaignOut:
        return cls(
            campaign_id=found.campaign_id,
            name=None if campaign is None else campaign.name,
            status=None if campaign is None else campaign.status,
            joined_at=found.joined_at,
            joined_via=found.joined_via,
            invites_credited=found.credited,
            invites_revoked=found.revoked,
            invitees=[InviteeOut(**row.__dict__) for row in found.invitees],
            invitees_more=found.invitees_more,
            tiers_reached=sorted(found.tiers_granted),
            rewards=[
                MemberRewardOut(
                    tier=r.tier,
                    kind="share" if r.tier == 0 else "tier",
                    pool=r.pool,
                    granted_at=r.granted_at,
                    status=r.status,
                    code_masked=mask_code(r.code),
                )
                for r in found.rewards
            ],
            share_submissions=found.share_submissions,
            share_payout=None if payout is None else SharePayoutOut.of(payout),
        )


class MemberCampaignsOut(BaseModel):
    openid: str
    items: list[MemberCampaignOut] = Field(description="Latest join first")


# -- wording compliance --------------------------------------------------------------------------------


_TextName = Annotated[str, StringConstraints(max_length=40)]
_DraftText = Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)]


class ComplianceDraft(BaseModel):
    """A campaign's texts before it is saved: the create body's shape, every field optional; the fields
    that carry no member-facing text (dates, tiers, rules…) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)] | None = None
    messages: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=40)],
            Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)],
        ],
        Field(max_length=20),
    ] = {}
    reward_basis: RewardBasis | None = None
    share_screenshot_task: bool | None = None


class ComplianceFlagOut(BaseModel):
    field: str = Field(description="name, messages.<text>, reward_basis or share_screenshot_task")
    phrase: str = Field(description="The wording found")
    rule: str = Field(description="induced_sharing or induced_following")
    severity: str = Field(description="block (fix before launching) or warn (look again)")
    explanation_zh: str
    explanation_en: str
    suggestion_zh: str
    suggestion_en: str

    @classmethod
    def of(cls, flag: ComplianceFlag) -> ComplianceFlagOut:
        return cls(**{**flag.__dict__, "rule": flag.rule.value, "severity": flag.severity.value})


class ComplianceOut(BaseModel):
    ok: bool = Field(description="No blocking flag")
    blocking: int
    warnings: int
    flags: list[ComplianceFlagOut]

    @classmethod
    def of(cls, flags: list[ComplianceFlag]) -> ComplianceOut:
        blocking = sum(1 for f in flags if f.severity is Severity.BLOCK)
        return cls(
            ok=blocking == 0,
            blocking=blocking,
            warnings=len(flags) - blocking,
            flags=[ComplianceFlagOut.of(f) for f in flags],
        )


# -- the share-screenshot review queue -----------------------------------------------------------------

Status = Annotated[str, StringConstraints(pattern=r"^(review|approved|rejected)$")]


class ReasonOut(BaseModel):
    code: str
    text: str


class HolderOut(BaseModel):
    id: str = Field(description="The operator's id")
    name: str


class ClaimOut(BaseModel):
    submission_id: str
    by: HolderOut
    until: datetime = Field(description="The claim lapses then unless its holder claims again")

    @classmethod
    def of(cls, submission_id: str, claim: Claim) -> ClaimOut:
        return cls(
            submission_id=submission_id, by=HolderOut(id=claim.holder_id, name=claim.holder_name), until=claim.until
        )


class SubmissionOut(BaseModel):
    id: str
    campaign_id: str
    openid: str
    received_at: datetime
    status: str = Field(description="review, approved or rejected")
    decision: str
    reasons: list[ReasonOut] = Field(description="The machine's reasons, most important first")
    decided_by: str = Field(description="auto, or the reviewing operator's name")
    decided_at: datetime
    note: str | None
    ms: float = Field(description="Analysis time")
    waiting_minutes: float | None = Field(description="For submissions in review: how long they have waited")
    age_seconds: int = Field(description="Seconds since it was received")
    review_reason: ReasonOut | None = Field(default=None, description="The reason a reviewer rejected it with")
    claim: ClaimOut | None = Field(default=None, description="A reviewer's live claim on it, if any")

    @classmethod
    def of(cls, record: SubmissionRecord, now: datetime) -> SubmissionOut:
        waiting = (now - record.received_at).total_seconds() / 60 if record.status == "review" else None
        claim = record.claim if record.claim is not None and record.claim.live(now) else None
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
            age_seconds=max(0, int((now - record.received_at).total_seconds())),
            review_reason=None if record.review_reason is None else _reason(record.review_reason),
            claim=None if claim is None else ClaimOut.of(record.id, claim),
        )


class QueueItemOut(SubmissionOut):
    campaign_name: str


class AccountSubmissionPage(BaseModel):
    items: list[QueueItemOut]
    counts: dict[str, int] = Field(description="The account's (or the campaign's) submissions by status")
    limit: int
    offset: int


class AuditOut(BaseModel):
    actor: str
    decision: str
    reasons: list[str]
    note: str | None
    at: datetime

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(actor=entry.actor, decision=entry.decision, reasons=entry.reasons, note=entry.note, at=entry.at)


class QrCodeOut(BaseModel):
    payload: str = Field(description="The decoded QR payload (a referral QR code's URL)")
    owner_openid: str | None = Field(description="Whose referral code it is; None: nobody's in this account")
    owner_campaign_id: str | None
    is_submitter: bool = Field(description="The submitter's own code in this campaign")


class QrEvidenceOut(BaseModel):
    match: str | None = Field(description="own, foreign or none (the machine's reading)")
    codes: list[QrCodeOut]


class PosterEvidenceOut(BaseModel):
    match_score: float | None = Field(description="Artwork correlation with the issued poster (0..1)")
    located_without_qr: bool
    screen_share: float | None = Field(description="Poster width over screenshot width")


class MomentsEvidenceOut(BaseModel):
    checked: bool = Field(description="Whether the Moments UI around the poster was read")
    time_row: str | None = Field(description="The time text read under the post (刚刚, 3分钟前, ...)")
    delete_word: bool = Field(description="删除 was read (shown on one's own posts only)")
    title: str | None
    locked: bool = Field(description="The lock of a private or restricted post was seen")
    ocr_text: str


class ReuseEvidenceOut(BaseModel):
    match: str | None = Field(description="none, close or copy")
    similarity: float | None
    earlier_submission_id: str | None
    earlier_openid: str | None
    earlier_status: str | None
    earlier_decision: str | None
    earlier_image_url: str | None = Field(description="The earlier picture, when it was kept")


class HistoryItemOut(BaseModel):
    id: str
    status: str
    reasons: list[str]
    review_reason: str | None
    at: datetime = Field(description="When it was received")
    decided_by: str


class SubmissionDetailOut(SubmissionOut):
    evidence: dict[str, Any] = Field(description="Decoded QR codes, OCR text, scores and boxes (x, y, w, h)")
    audit: list[AuditOut]
    image_url: str | None = Field(description="The picture, kept while a person has to look at it")
    campaign_name: str | None = None
    qr: QrEvidenceOut | None = None
    poster: PosterEvidenceOut | None = None
    moments: MomentsEvidenceOut | None = None
    reuse: ReuseEvidenceOut | None = None
    history: list[HistoryItemOut] = Field(
        default_factory=list, description="The member's other submissions in this campaign, oldest first"
    )


class SubmissionPage(BaseModel):
    items: list[SubmissionOut]
    counts: dict[str, int] = Field(description="All submissions of the campaign by status")
    limit: int
    offset: int


class ReviewBody(BaseModel):
    """The reviewer is the signed-in operator: a ``reviewer`` field old clients still send is ignored."""

    note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        default=None, description="Kept in the audit trail; on a rejection it is also what the member reads"
    )


class RejectBody(ReviewBody):
    reason: str | None = Field(
        default=None,
        max_length=40,
        description="A reject reason code (GET /accounts/{appid}/screenshots/reasons); the member reads its "
        "text unless a note is given",
    )

    @field_validator("reason")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in {reason.value for reason in REJECT_REASONS}:
            raise ValueError("unknown reject reason code")
        return value


class RejectReasonOut(BaseModel):
    code: str
    zh: str = Field(description="What the member reads")
    en: str


class RejectReasonsOut(BaseModel):
    reasons: list[RejectReasonOut]


def _reason(code: str) -> ReasonOut:
    try:
        return ReasonOut(code=code, text=Reason(code).text)
    except ValueError:
        return ReasonOut(code=code, text=code)


# -- activation ----------------------------------------------------------------------------------------


class ProblemOut(BaseModel):
    field: str = Field(description="The campaign's field at fault, dotted (tiers.0.pool)")
    problem: str

    @classmethod
    def all(cls, problems: Iterable[Problem]) -> list[ProblemOut]:
        return [cls(field=p.field, problem=p.problem) for p in problems]


class EndedOut(CampaignOut):
    """The campaign once ended, and how many participants its ``ended`` text was queued for."""

    participants_notified: int | None = Field(description="None: not asked to notify (`notify=false`)")


class ActivationOut(CampaignOut):
    """The campaign once active, and what to know about it now (never blocking)."""

    warnings: list[ProblemOut] = Field(
        description="Tiers whose reward pool is empty, a start still ahead, join keywords another running "
        "campaign answers too, wording the compliance check blocks"
    )


class ActivationCheckOut(BaseModel):
    ready: bool = Field(description="It would start now: no problem")
    status: CampaignStatus
    version: int
    problems: list[ProblemOut] = Field(description="What activation would refuse, all of it (422 if tried)")
    warnings: list[ProblemOut]

    @classmethod
    def of(cls, check: ActivationCheck) -> ActivationCheckOut:
        return cls(
            ready=check.ready,
            status=check.campaign.status,
            version=check.campaign.version,
            problems=ProblemOut.all(check.problems),
            warnings=ProblemOut.all(check.warnings),
        )
