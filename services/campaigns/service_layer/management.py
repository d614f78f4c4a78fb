"""Managing campaign definitions: create, read, edit, move through the lifecycle, attach a poster template.

What the management API calls, one use case per operator action. Each loads the campaign by account
(:class:`CampaignNotFound` if it is not there), checks the version the operator edited when one is
given (a stale write is a :class:`~services.campaigns.domain.campaign.VersionConflict`), lets the
domain apply its rules, and saves. Times are kept as MongoDB keeps them (:func:`as_stored`), so what
is answered now is what a read returns later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.campaigns.domain.campaign import (
    MAX_NAME_CHARS,
    Campaign,
    CampaignChanges,
    CampaignInvalid,
    CampaignStatus,
    EditNotAllowed,
    InviteTier,
    JoinMethods,
    Messages,
    PosterTemplate,
    QrBox,
    RewardBasis,
    Rules,
    TextSlot,
    VersionConflict,
    new_campaign_id,
)
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.payouts import SharePayoutPolicy
from services.campaigns.service_layer.ports import (
    Announcements,
    CampaignRepository,
    ImageInfo,
    TemplateImage,
    TemplateStore,
)

__all__ = [
    "CampaignEdit",
    "CampaignNotFound",
    "NewCampaign",
    "TemplateLayout",
    "UploadedTemplate",
    "as_stored",
    "clone_campaign",
    "create_campaign",
    "edit_campaign",
    "load_campaign",
    "move_campaign",
    "upload_template",
]


class CampaignNotFound(LookupError):
    def __init__(self, appid: str, campaign_id: str) -> None:
        super().__init__(f"no campaign {campaign_id!r} in account {appid!r}")


def as_stored(moment: datetime) -> datetime:
    """UTC to the millisecond, as MongoDB keeps it: what is answered now is what a read returns later."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


async def load_campaign(
    campaigns: CampaignRepository, appid: str, campaign_id: str, expected_version: int | None = None
) -> Campaign:
    """The campaign, if it is at ``expected_version`` (when one is given)."""
    campaign = await campaigns.get(appid, campaign_id)
    if campaign is None:
        raise CampaignNotFound(appid, campaign_id)
    if expected_version is not None and expected_version != campaign.version:
        raise VersionConflict(f"campaign is at version {campaign.version}, not {expected_version}; reload and retry")
    return campaign


@dataclass(frozen=True)
class NewCampaign:
    """A campaign as an operator defines it; the domain checks it when it is created."""

    name: str
    starts_at: datetime
    ends_at: datetime
    join: JoinMethods = field(default_factory=JoinMethods)
    tiers: tuple[InviteTier, ...] = ()
    messages: Messages = field(default_factory=Messages)
    rules: Rules = field(default_factory=Rules)
    reward_basis: RewardBasis = RewardBasis.VERIFIED_FOLLOWERS
    share_screenshot_task: bool = False
    share_reward_pool: str | None = None
    share_payout: SharePayoutPolicy | None = None


async def create_campaign(campaigns: CampaignRepository, appid: str, new: NewCampaign, now: datetime) -> Campaign:
    """A new draft in ``appid``."""
    campaign = Campaign.create(
        appid=appid,
        name=new.name,
        starts_at=as_stored(new.starts_at),
        ends_at=as_stored(new.ends_at),
        now=as_stored(now),
        join=new.join,
        tiers=new.tiers,
        messages=new.messages,
        rules=new.rules,
        reward_basis=new.reward_basis,
        share_screenshot_task=new.share_screenshot_task,
        share_reward_pool=new.share_reward_pool,
        share_payout=new.share_payout,
    )
    await campaigns.add(campaign)
    return campaign


@dataclass(frozen=True)
class TemplateLayout:
    """Where the QR code and the texts go, before it is known on which image."""

    qr: QrBox
    text_slots: tuple[TextSlot, ...] = ()

    @classmethod
    def of(cls, template: PosterTemplate) -> TemplateLayout:
        return cls(template.qr, template.text_slots)

    def on(self, image_id: str, width: int, height: int) -> PosterTemplate:
        return PosterTemplate(image_id=image_id, width=width, height=height, qr=self.qr, text_slots=self.text_slots)


@dataclass(frozen=True)
class CampaignEdit:
    """The fields an operator changes; None leaves a field as it is.

    ``messages`` holds only the texts given; ``rules`` only the fields given, where None clears the daily
    cap (and is ignored for the others); ``blacklist`` replaces the whole list.
    """

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    join: JoinMethods | None = None
    #: An uploaded image (by id) and the layout on it.
    template: tuple[str, TemplateLayout] | None = None
    tiers: tuple[InviteTier, ...] | None = None
    messages: Mapping[str, str] | None = None
    rules: Mapping[str, Any] | None = None
    reward_basis: RewardBasis | None = None
    share_screenshot_task: bool | None = None
    share_reward_pool: str | None = None
    share_payout: SharePayoutPolicy | None = None


async def edit_campaign(
    campaigns: CampaignRepository,
    templates: TemplateStore,
    appid: str,
    campaign_id: str,
    expected_version: int,
    edit: CampaignEdit,
    now: datetime,
) -> Campaign:
    """Apply ``edit`` if the campaign is still at ``expected_version`` and its status allows it."""
    campaign = await load_campaign(campaigns, appid, campaign_id, expected_version)
    template = None
    if edit.template is not None:
        image_id, layout = edit.template
        image = await templates.get(campaign.id, image_id)
        if image is None:
            raise CampaignInvalid("template.image_id", "no image with this id was uploaded for this campaign")
        template = layout.on(image.id, image.info.width, image.info.height)
    messages = None
    if edit.messages is not None:
        current = {name: getattr(campaign.messages, name) for name in Messages.PLACEHOLDERS}
        messages = Messages(**(current | dict(edit.messages)))
    changes = CampaignChanges(
        name=edit.name,
        starts_at=None if edit.starts_at is None else as_stored(edit.starts_at),
        ends_at=None if edit.ends_at is None else as_stored(edit.ends_at),
        join=edit.join,
        template=template,
        tiers=edit.tiers,
        messages=messages,
        rules=None if edit.rules is None else _patched_rules(campaign.rules, edit.rules),
        reward_basis=edit.reward_basis,
        share_screenshot_task=edit.share_screenshot_task,
        share_reward_pool=edit.share_reward_pool,
        share_payout=edit.share_payout,
    )
    campaign.edit(changes, as_stored(now))
    await campaigns.save(campaign)
    return campaign


def _patched_rules(current: Rules, given: Mapping[str, Any]) -> Rules:
    values: dict[str, Any] = {}
    for name in given.keys() & {f.name for f in fields(Rules)}:
        value = given[name]
        if value is not None or name == "per_inviter_daily_cap":
            values[name] = frozenset(value) if name == "blacklist" else value
    return replace(current, **values)


async def move_campaign(
    campaigns: CampaignRepository,
    appid: str,
    campaign_id: str,
    expected_version: int | None,
    move: Callable[[Campaign, datetime], None],
    now: datetime,
) -> Campaign:
    """A lifecycle move (:meth:`Campaign.activate`, ``pause``, ``end``); the domain says if it is allowed."""
    campaign = await load_campaign(campaigns, appid, campaign_id, expected_version)
    move(campaign, as_stored(now))
    await campaigns.save(campaign)
    return campaign


@dataclass(frozen=True)
class UploadedTemplate:
    image: TemplateImage
    campaign: Campaign


async def upload_template(
    campaigns: CampaignRepository,
    templates: TemplateStore,
    appid: str,
    campaign_id: str,
    expected_version: int | None,
    image: tuple[bytes, ImageInfo],
    layout: TemplateLayout | None,
    now: datetime,
) -> UploadedTemplate:
    """Store a checked poster background and, with ``layout`` (or the campaign's current one), make it
    the campaign's template. Without either, the image is only stored, for a later edit to attach."""
    campaign = await load_campaign(campaigns, appid, campaign_id, expected_version)
    if campaign.status in (CampaignStatus.ACTIVE, CampaignStatus.ENDED):
        raise EditNotAllowed(f"the poster template of an {campaign.status} campaign cannot change; pause it")
    if layout is None and campaign.template is not None:
        layout = TemplateLayout.of(campaign.template)
    data, info = image
    stored = await templates.put(appid, campaign.id, data, info)
    try:
        if layout is not None:
            campaign.edit(CampaignChanges(template=layout.on(stored.id, info.width, info.height)), as_stored(now))
            await campaigns.save(campaign)
    except BaseException:
        # The layout does not fit, or the save lost a race: no campaign refers to the image, so it goes.
        await templates.delete(stored.id)
        raise
    return UploadedTemplate(stored, campaign)


#: Appended to a clone's name (the original's is shortened to leave room for it).
CLONE_SUFFIX = " copy"


async def clone_campaign(
    campaigns: CampaignRepository, templates: TemplateStore, appid: str, campaign_id: str, now: datetime
) -> Campaign:
    """A new draft with the campaign's settings: name (suffixed :data:`CLONE_SUFFIX`), join methods,
    tiers, texts, rules, reward basis and share task, and a copy of its poster template (image and
    layout). Nothing members did comes along: no participants, no reward codes (the pools start empty).

    Dates: kept while the original's end is still ahead. Past it, the copy starts now and runs as long
    as the original did (a campaign's end must lie in the future); the operator sets the real dates
    before activating it.
    """
    source = await load_campaign(campaigns, appid, campaign_id)
    now = as_stored(now)
    starts_at, ends_at = source.starts_at, source.ends_at
    if ends_at <= now:
        starts_at, ends_at = now, now + max(source.ends_at - source.starts_at, timedelta(days=1))
    clone_id = new_campaign_id()
    template = None
    copied: TemplateImage | None = None
    if source.template is not None:
        data = await templates.read(source.template.image_id)
        original = await templates.get(source.id, source.template.image_id)
        if data is not None and original is not None:
            copied = await templates.put(appid, clone_id, data, original.info)
            template = replace(source.template, image_id=copied.id)
    try:
        clone = Campaign.create(
            appid=appid,
            campaign_id=clone_id,
            name=source.name[: MAX_NAME_CHARS - len(CLONE_SUFFIX)] + CLONE_SUFFIX,
            starts_at=starts_at,
            ends_at=ends_at,
            now=now,
            join=source.join,
            template=template,
            tiers=source.tiers,
            messages=source.messages,
            rules=source.rules,
            reward_basis=source.reward_basis,
            share_screenshot_task=source.share_screenshot_task,
            share_reward_pool=source.share_reward_pool,
            share_payout=source.share_payout,
        )
        await campaigns.add(clone)
    except BaseException:
        if copied is not None:  # no campaign refers to the copied image
            await templates.delete(copied.id)
        raise
    return clone


async def delete_draft(
    campaigns: CampaignRepository, templates: TemplateStore, appid: str, campaign_id: str, expected_version: int | None
) -> Campaign:
    """Delete a draft (and its template image); a campaign that ran is ended and archived instead."""
    campaign = await load_campaign(campaigns, appid, campaign_id, expected_version)
    campaign.check_deletable()
    if not await campaigns.delete_draft(appid, campaign_id, campaign.version):
        raise VersionConflict("the campaign changed while it was being deleted; reload and retry")
    if campaign.template is not None:
        await templates.delete(campaign.template.image_id)
    return campaign


async def announce_end(campaign: Campaign, announcements: Announcements, now: datetime) -> int:
    """Queue the campaign's ``ended`` text for every participant (the worker sends them; a member whose
    customer-service window is shut gets it with their next interaction). Once per member."""

    def text_for(member: Participant) -> str:
        return campaign.messages.render("ended", campaign=campaign.name, nickname="", count=member.credited)

    return await announcements.to_participants(campaign, ENDED_NOTICE, text_for, as_stored(now))


#: The kind of the notice ending a campaign queues for its participants.
ENDED_NOTICE = "ended"
