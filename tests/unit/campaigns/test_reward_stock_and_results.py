"""Reward pools, the join code and results: the use cases behind those routes, on in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaignResults,
    InMemoryCampaigns,
    InMemoryReferrals,
    InMemoryRewardPools,
    InMemoryTemplates,
)
from services.campaigns.domain.campaign import Campaign, EditNotAllowed, InviteTier, JoinMethods, QrBox
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.results import mask_code
from services.campaigns.domain.rewards import ParsedCodes
from services.campaigns.service_layer import results
from services.campaigns.service_layer.management import (
    CampaignNotFound,
    NewCampaign,
    TemplateLayout,
    create_campaign,
    move_campaign,
    upload_template,
)
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.service_layer.reward_stock import add_codes, generate_codes, pool_stock
from tests.unit.campaigns.fakes import StubJoinCodes

APPID = "wx1"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def campaign_with_tiers(campaigns: InMemoryCampaigns, *, follow_qr: bool = True) -> Campaign:
    new = NewCampaign(
        name="新客邀请",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=7),
        join=JoinMethods(follow_qr=follow_qr, keywords=() if follow_qr else ("邀请",)),
        tiers=(InviteTier(3, "A"), InviteTier(10, "B"), InviteTier(20, "A")),
    )
    return await create_campaign(campaigns, APPID, new, NOW)


async def activate(campaigns: InMemoryCampaigns, campaign: Campaign) -> None:
    image = (b"png", ImageInfo("image/png", 750, 1334, 3))
    layout = TemplateLayout(QrBox(500, 1100, 200))
    await upload_template(campaigns, InMemoryTemplates(), APPID, campaign.id, None, image, layout, NOW)
    await move_campaign(campaigns, APPID, campaign.id, None, Campaign.activate, NOW)


async def test_stock_names_every_pool_a_tier_draws_from_even_before_codes_arrive() -> None:
    campaigns, pools = InMemoryCampaigns(), InMemoryRewardPools()
    campaign = await campaign_with_tiers(campaigns)
    reports = await pool_stock(campaigns, pools, APPID, campaign.id)
    assert [(r.stock.pool, r.stock.total, r.tiers) for r in reports] == [("A", 0, (3, 20)), ("B", 0, (10,))]

    added, report = await add_codes(campaigns, pools, APPID, campaign.id, "A", ParsedCodes(("AAA111", "BBB222"), 0, ()))
    assert (added.added, report.stock.total, report.tiers) == (2, 2, (3, 20))
    again, _ = await add_codes(campaigns, pools, APPID, campaign.id, "A", ParsedCodes(("AAA111",), 0, ()))
    assert (again.added, again.already_in_pool) == (0, 1)

    generated, spare = await generate_codes(campaigns, pools, APPID, campaign.id, "spare", 5)
    assert (generated, spare.stock.total, spare.tiers) == (5, 5, ())
    names = [r.stock.pool for r in await pool_stock(campaigns, pools, APPID, campaign.id)]
    assert names == ["A", "B", "spare"]


async def test_an_ended_campaigns_pools_are_closed() -> None:
    campaigns, pools = InMemoryCampaigns(), InMemoryRewardPools()
    campaign = await campaign_with_tiers(campaigns)
    await activate(campaigns, campaign)
    await move_campaign(campaigns, APPID, campaign.id, None, Campaign.end, NOW)
    with pytest.raises(EditNotAllowed, match="closed"):
        await generate_codes(campaigns, pools, APPID, campaign.id, "A", 1)
    with pytest.raises(EditNotAllowed):
        await add_codes(campaigns, pools, APPID, campaign.id, "A", ParsedCodes(("AAA111",), 0, ()))
    assert await pools.stock(campaign.id) == []


async def test_the_join_code_is_only_for_an_active_campaign_joined_through_its_code() -> None:
    campaigns, codes = InMemoryCampaigns(), StubJoinCodes()
    campaign = await campaign_with_tiers(campaigns)
    with pytest.raises(results.JoinCodeUnavailable, match="draft; activate it first"):
        await results.join_code(campaigns, codes, APPID, campaign.id, NOW)
    await activate(campaigns, campaign)
    code = await results.join_code(campaigns, codes, APPID, campaign.id, NOW)
    assert code.scene == f"j.{campaign.id}" and codes.asked == [campaign.id]

    closed = await campaign_with_tiers(campaigns, follow_qr=False)
    await activate(campaigns, closed)
    with pytest.raises(results.JoinCodeUnavailable, match="switched off"):
        await results.join_code(campaigns, codes, APPID, closed.id, NOW)


async def test_results_are_read_only_for_a_campaign_of_the_account() -> None:
    campaigns = InMemoryCampaigns()
    campaign = await campaign_with_tiers(campaigns)
    records = CampaignRecords()
    for minute, openid in enumerate(["o1", "o2"]):
        joined = Participant(campaign.id, APPID, openid, f"code{openid}", NOW + timedelta(minutes=minute), "poster")
        await InMemoryReferrals(records).add_participant(joined)
    found = InMemoryCampaignResults(records)
    assert (await results.stats(campaigns, found, APPID, campaign.id, top=5)).participants == 2
    campaign_id, rows = await results.participants(campaigns, found, APPID, campaign.id)
    assert campaign_id == campaign.id and [row["openid"] async for row in rows] == ["o1", "o2"]
    with pytest.raises(CampaignNotFound):
        await results.participants(campaigns, found, "wx2", campaign.id)


async def test_stats_put_each_tiers_rewards_next_to_its_pools_stock() -> None:
    campaigns, pools, records = InMemoryCampaigns(), InMemoryRewardPools(), CampaignRecords()
    campaign = await campaign_with_tiers(campaigns)
    await pools.add_codes(campaign.id, "A", ["A1", "A2", "A3"])
    await pools.allocate(campaign.id, "A", "grant-1")
    store = InMemoryReferrals(records)
    await store.grant_reward(campaign.id, "o_mom", 3, "A", NOW)
    found = await results.stats(campaigns, InMemoryCampaignResults(records), APPID, campaign.id, top=5, pools=pools)
    assert [(r.tier, r.pool, r.granted, r.issued, r.pool_total, r.pool_remaining) for r in found.rewards_by_tier] == [
        (3, "A", 1, 0, 3, 2),
        (10, "B", 0, 0, None, None),
        (20, "A", 0, 0, 3, 2),
    ]
    assert [step.step for step in found.funnel][-2:] == ["reached_tier", "rewarded"]
    assert found.members_reached_tier == 1
    without = await results.stats(campaigns, InMemoryCampaignResults(records), APPID, campaign.id, top=5)
    assert without.rewards_by_tier == []


async def test_a_members_campaigns_come_with_each_campaign_and_codes_are_masked() -> None:
    campaigns, records = InMemoryCampaigns(), CampaignRecords()
    campaign = await campaign_with_tiers(campaigns)
    store = InMemoryReferrals(records)
    await store.add_participant(Participant(campaign.id, APPID, "o_mom", "code1", NOW, "keyword"))
    await store.add_participant(Participant("gone", APPID, "o_mom", "code2", NOW - timedelta(days=1), "menu"))
    found = await results.member_campaigns(campaigns, InMemoryCampaignResults(records), APPID, "o_mom", limit=10)
    assert [(row.campaign_id, None if c is None else c.name) for row, c in found] == [
        (campaign.id, "新客邀请"),
        ("gone", None),
    ]
    rows, total = await results.participant_page(
        campaigns, InMemoryCampaignResults(records), APPID, campaign.id, openid_prefix="o_", limit=5, offset=0
    )
    assert ([r.openid for r in rows], total) == (["o_mom"], 1)
    with pytest.raises(CampaignNotFound):
        await results.participant_page(
            campaigns, InMemoryCampaignResults(records), "wx2", campaign.id, openid_prefix=None, limit=5, offset=0
        )
    assert (mask_code("ABCD-1234"), mask_code("123"), mask_code(None)) == ("*****1234", "123", None)
