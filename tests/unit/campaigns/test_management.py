"""Managing campaign definitions: the use cases behind the management API, on in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.adapters.memory import InMemoryCampaigns, InMemoryTemplates
from services.campaigns.domain.campaign import (
    Campaign,
    CampaignInvalid,
    CampaignStatus,
    EditNotAllowed,
    IllegalTransition,
    InviteTier,
    QrBox,
    Rules,
    TextSlot,
    VersionConflict,
)
from services.campaigns.service_layer.management import (
    CampaignEdit,
    CampaignNotFound,
    NewCampaign,
    TemplateLayout,
    as_stored,
    clone_campaign,
    create_campaign,
    edit_campaign,
    load_campaign,
    move_campaign,
    upload_template,
)
from services.campaigns.service_layer.ports import ImageInfo
from tests.unit.campaigns.fakes import RacingCampaigns, RecordingTemplates

APPID = "wx1"
NOW = datetime(2026, 11, 23, 8, 0, 0, 123_456, tzinfo=UTC)
LAYOUT = TemplateLayout(QrBox(500, 1100, 200), (TextSlot("nickname", 40, 40, 32),))
IMAGE = (b"png bytes", ImageInfo("image/png", 750, 1334, 9))


def new_campaign(**overrides: object) -> NewCampaign:
    values: dict[str, object] = {
        "name": "新客邀请",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=14),
        "tiers": (InviteTier(3, "A"), InviteTier(10, "B")),
        "rules": Rules(per_inviter_daily_cap=20, blacklist=frozenset({"o-cheat"})),
    } | overrides
    return NewCampaign(**values)  # type: ignore[arg-type]


async def draft(campaigns: InMemoryCampaigns, **overrides: object) -> Campaign:
    return await create_campaign(campaigns, APPID, new_campaign(**overrides), NOW)


async def test_a_new_campaign_is_a_draft_kept_to_the_millisecond() -> None:
    campaigns = InMemoryCampaigns()
    campaign = await draft(campaigns)
    assert campaign.status is CampaignStatus.DRAFT and campaign.version == 1
    assert campaign.created_at == as_stored(NOW) and campaign.created_at.microsecond == 123_000
    assert (await load_campaign(campaigns, APPID, campaign.id)).name == "新客邀请"


async def test_a_campaign_that_breaks_a_rule_is_not_stored() -> None:
    campaigns = InMemoryCampaigns()
    with pytest.raises(CampaignInvalid) as refused:
        await draft(campaigns, tiers=(InviteTier(3, "A"), InviteTier(3, "B")))
    assert refused.value.field == "tiers.1.count"
    assert await campaigns.list(APPID) == []


async def test_loading_checks_the_account_and_the_version() -> None:
    campaigns = InMemoryCampaigns()
    campaign = await draft(campaigns)
    with pytest.raises(CampaignNotFound, match="no campaign 'nope' in account 'wx1'"):
        await load_campaign(campaigns, APPID, "nope")
    with pytest.raises(CampaignNotFound):
        await load_campaign(campaigns, "wx2", campaign.id)
    with pytest.raises(VersionConflict, match="version 1, not 7"):
        await load_campaign(campaigns, APPID, campaign.id, expected_version=7)


async def test_an_edit_merges_messages_and_patches_only_the_rules_given() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    campaign = await draft(campaigns)
    edit = CampaignEdit(
        name="第二期",
        messages={"progress": "已邀请 {count}/{target}"},
        rules={"blacklist": ["o-bot"], "first_time_followers_only": None},
    )
    edited = await edit_campaign(campaigns, templates, APPID, campaign.id, 1, edit, NOW)
    assert edited.name == "第二期" and edited.version == 2
    assert edited.messages.progress == "已邀请 {count}/{target}"
    assert edited.messages.welcome == campaign.messages.welcome  # texts not given stay
    assert edited.rules.blacklist == frozenset({"o-bot"})  # replaced as a whole
    assert edited.rules.first_time_followers_only is True  # null for a flag: left as it is
    assert edited.rules.per_inviter_daily_cap == 20

    uncapped = await edit_campaign(
        campaigns, templates, APPID, campaign.id, 2, CampaignEdit(rules={"per_inviter_daily_cap": None}), NOW
    )
    assert uncapped.rules.per_inviter_daily_cap is None  # null for the cap: no cap


async def test_an_edit_attaches_only_an_image_uploaded_for_the_campaign() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    campaign = await draft(campaigns)
    other = await draft(campaigns)
    elsewhere = await templates.put(APPID, other.id, *IMAGE)
    with pytest.raises(CampaignInvalid) as refused:
        await edit_campaign(
            campaigns, templates, APPID, campaign.id, 1, CampaignEdit(template=(elsewhere.id, LAYOUT)), NOW
        )
    assert refused.value.field == "template.image_id"

    own = await templates.put(APPID, campaign.id, *IMAGE)
    edited = await edit_campaign(
        campaigns, templates, APPID, campaign.id, 1, CampaignEdit(template=(own.id, LAYOUT)), NOW
    )
    assert edited.template is not None and (edited.template.image_id, edited.template.width) == (own.id, 750)


async def test_lifecycle_moves_go_through_the_domain_and_check_the_version() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    campaign = await draft(campaigns)
    with pytest.raises(IllegalTransition, match="template"):
        await move_campaign(campaigns, APPID, campaign.id, None, Campaign.activate, NOW)
    await upload_template(campaigns, templates, APPID, campaign.id, None, IMAGE, LAYOUT, NOW)
    with pytest.raises(VersionConflict):
        await move_campaign(campaigns, APPID, campaign.id, 1, Campaign.activate, NOW)
    active = await move_campaign(campaigns, APPID, campaign.id, 2, Campaign.activate, NOW)
    assert active.status is CampaignStatus.ACTIVE and active.version == 3


async def test_an_uploaded_template_becomes_the_campaigns_with_its_layout() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    campaign = await draft(campaigns)
    uploaded = await upload_template(campaigns, templates, APPID, campaign.id, 1, IMAGE, LAYOUT, NOW)
    assert uploaded.campaign.template is not None and uploaded.campaign.template.image_id == uploaded.image.id
    assert uploaded.campaign.version == 2

    # A new image without a layout keeps the current one, now on the new image.
    bigger = (b"bigger", ImageInfo("image/png", 800, 1400, 6))
    swapped = await upload_template(campaigns, templates, APPID, campaign.id, None, bigger, None, NOW)
    template = swapped.campaign.template
    assert template is not None and (template.width, template.qr) == (800, LAYOUT.qr)


async def test_an_image_alone_is_stored_for_a_later_edit() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    campaign = await draft(campaigns)
    uploaded = await upload_template(campaigns, templates, APPID, campaign.id, None, IMAGE, None, NOW)
    assert uploaded.campaign.template is None and uploaded.campaign.version == 1
    assert uploaded.image.id in templates.images


async def test_an_image_no_campaign_takes_is_deleted_again() -> None:
    campaigns, templates = RacingCampaigns(), RecordingTemplates()
    campaign = await draft(campaigns)
    too_small = (b"small", ImageInfo("image/png", 400, 400, 5))
    with pytest.raises(CampaignInvalid):  # the QR box lies outside the image
        await upload_template(campaigns, templates, APPID, campaign.id, None, too_small, LAYOUT, NOW)
    campaigns.conflict_next_save = True
    with pytest.raises(VersionConflict):  # someone else saved in between
        await upload_template(campaigns, templates, APPID, campaign.id, None, IMAGE, LAYOUT, NOW)
    assert templates.images == {} and len(templates.deleted) == 2
    assert (await load_campaign(campaigns, APPID, campaign.id)).template is None


async def test_a_live_or_ended_campaigns_template_cannot_change() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    campaign = await draft(campaigns)
    await upload_template(campaigns, templates, APPID, campaign.id, None, IMAGE, LAYOUT, NOW)
    await move_campaign(campaigns, APPID, campaign.id, None, Campaign.activate, NOW)
    with pytest.raises(EditNotAllowed, match="pause it"):
        await upload_template(campaigns, templates, APPID, campaign.id, None, IMAGE, LAYOUT, NOW)
    assert len(templates.images) == 1  # nothing stored for the refused upload


async def test_a_clone_is_a_new_draft_with_the_settings_and_its_own_copy_of_the_template() -> None:
    campaigns, templates = InMemoryCampaigns(), RecordingTemplates()
    source = await draft(campaigns)
    await upload_template(campaigns, templates, APPID, source.id, None, IMAGE, LAYOUT, NOW)
    await move_campaign(campaigns, APPID, source.id, None, Campaign.activate, NOW)
    clone = await clone_campaign(campaigns, templates, APPID, source.id, NOW + timedelta(days=1))

    original = await load_campaign(campaigns, APPID, source.id)
    assert clone.id != original.id and clone.status is CampaignStatus.DRAFT and clone.version == 1
    assert clone.name == "新客邀请 copy"
    assert (clone.starts_at, clone.ends_at) == (original.starts_at, original.ends_at)
    assert (clone.tiers, clone.rules, clone.messages, clone.join) == (
        original.tiers,
        original.rules,
        original.messages,
        original.join,
    )
    assert clone.template is not None and original.template is not None
    assert clone.template.image_id != original.template.image_id
    assert clone.template.qr == original.template.qr and clone.template.text_slots == original.template.text_slots
    copied = await templates.get(clone.id, clone.template.image_id)
    assert copied is not None and await templates.read(copied.id) == IMAGE[0]
    assert await load_campaign(campaigns, APPID, clone.id) == clone


async def test_a_clone_of_a_finished_campaign_starts_now_for_as_long_as_the_original_ran() -> None:
    campaigns, templates = InMemoryCampaigns(), RecordingTemplates()
    source = await draft(campaigns, name="x" * 100)
    later = NOW + timedelta(days=30)
    clone = await clone_campaign(campaigns, templates, APPID, source.id, later)
    assert (clone.starts_at, clone.ends_at) == (as_stored(later), as_stored(later) + timedelta(days=14))
    assert clone.name == "x" * 95 + " copy" and clone.template is None
    with pytest.raises(CampaignNotFound):
        await clone_campaign(campaigns, templates, "wx2", source.id, NOW)


async def test_a_clone_that_cannot_be_stored_leaves_no_image_behind() -> None:
    campaigns, templates = RacingCampaigns(), RecordingTemplates()
    source = await draft(campaigns)
    await upload_template(campaigns, templates, APPID, source.id, None, IMAGE, LAYOUT, NOW)

    async def refuse(campaign: Campaign) -> None:
        raise VersionConflict("taken")

    campaigns.add = refuse  # type: ignore[method-assign]
    with pytest.raises(VersionConflict):
        await clone_campaign(campaigns, templates, APPID, source.id, NOW)
    assert len(templates.deleted) == 1 and len(templates.images) == 1
