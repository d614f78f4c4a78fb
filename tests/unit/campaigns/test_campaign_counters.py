"""The campaign counters equal a recount of the records after random campaign flows.

Seeded random sequences run through the worker's routing and the review desk on the in-memory
adapters: joins by keyword, menu and the campaign's QR code, follows and scans through members' codes,
unfollows, share screenshots (approved, rejected, queued), reviewers' decisions, reward pools running
dry and being refilled, customer-service windows closing (held notices and posters, QR codes renewed),
and pushes redelivered. After every step the stats, the screenshot counts and the participant total
read from the counters equal what walking the records gives; a rebuild recomputes the same counters.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.campaigns.adapters.directory import CampaignDirectoryAdapter
from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaignResults,
    InMemoryCampaigns,
    InMemoryCounterRebuild,
    InMemoryNotices,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
    InMemoryRewardPools,
    InMemoryShareScreenshots,
    InMemoryTemplates,
)
from services.campaigns.bootstrap_worker import CampaignsWorker
from services.campaigns.domain.campaign import Campaign, InviteTier, JoinMethods, PosterTemplate, QrBox
from services.campaigns.domain.counters import (
    participant_change,
    recount,
    reward_change,
    stats_figures,
    submission_change,
)
from services.campaigns.domain.referrals import JoinScene, ReferralScene
from services.campaigns.service_layer import review
from services.campaigns.service_layer.counters import Rebuilt, rebuild_counters
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from services.screenshots import Decision, Reason
from shared.contracts import (
    ImageMessageReceived,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    QrCodeScanned,
    TextMessageReceived,
)
from shared.events import Envelope, Message
from shared.wechat_client import MemoryTokenStore, WeChatClients
from tests.fakes.campaign_worker import Analyses, Renderer, WeChatApi

APPID = "wx1"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
MEMBERS = [f"o{n}" for n in range(14)]


class FlakyApi(WeChatApi):
    """The worker's WeChat API with short-lived QR codes (every poster given again renews its code, which
    unsends the poster until it is sent) and a customer-service window the test closes and opens."""

    def __init__(self) -> None:
        super().__init__()
        self.window_closed = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        api = request.url.path.removeprefix("/cgi-bin/")
        answer = super().__call__(request)
        if api == "qrcode/create":
            return httpx.Response(200, json=answer.json() | {"expire_seconds": 3600})
        if api == "message/custom/send" and self.window_closed:
            return httpx.Response(200, json={"errcode": 45015, "errmsg": "response out of time limit"})
        return answer


@dataclass
class Flow:
    worker: CampaignsWorker
    records: CampaignRecords
    campaigns: InMemoryCampaigns
    pools: InMemoryRewardPools
    api: FlakyApi
    clients: WeChatClients
    numbers: itertools.count[int]
    delivered: list[tuple[Envelope, Message]]

    async def push(self, message: Message, openid: str) -> None:
        envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id=f"push-{next(self.numbers)}")
        self.delivered.append((envelope, message))
        await self.worker.handle(envelope, message)

    async def code_of(self, openid: str) -> str:
        member = await InMemoryReferrals(self.records).participant("c1", openid)
        assert member is not None
        return ReferralScene("c1", member.code).encode()


@pytest.fixture
async def flow() -> AsyncIterator[Flow]:
    records, templates, campaigns, pools = (
        CampaignRecords(),
        InMemoryTemplates(),
        InMemoryCampaigns(),
        InMemoryRewardPools(),
    )
    image = await templates.put(APPID, "c1", b"png", ImageInfo("image/png", 750, 1334, 3))
    campaign = Campaign.create(
        appid=APPID,
        name="秋季拉新",
        starts_at=T0,
        ends_at=T0 + timedelta(days=7),
        now=T0,
        campaign_id="c1",
        join=JoinMethods(keywords=("海报",), menu_keys=("JOIN",)),
        template=PosterTemplate(image.id, 750, 1334, QrBox(400, 1000, 240)),
        tiers=[InviteTier(1, "A"), InviteTier(2, "B"), InviteTier(4, "A")],
        share_screenshot_task=True,
        share_reward_pool="S",
    )
    campaign.activate(T0)
    await campaigns.add(campaign)
    api = FlakyApi()
    async with WeChatClients(MemoryTokenStore(), transport=httpx.MockTransport(api)) as clients:
        clients.add(APPID, "secret")
        worker = CampaignsWorker(
            settings=CampaignsSettings(),
            directory=CampaignDirectoryAdapter(campaigns, templates),
            uow=lambda: InMemoryReferralUnitOfWork(records),
            store=InMemoryReferrals(records),
            notice_store=InMemoryNotices(records),
            pools=pools,
            clients=clients,
            renderer=Renderer(),
            screenshots=InMemoryShareScreenshots(records),
            analysis=Analyses(),
            ready=_ready,
        )
        yield Flow(worker, records, campaigns, pools, api, clients, itertools.count(1), [])


async def _ready() -> bool:
    return True


def walked(records: CampaignRecords, campaign_id: str) -> dict[str, Any]:
    """The stats figures by walking every record of the campaign (what the counters replace)."""
    participants = [p for p in records.participants.values() if p.campaign_id == campaign_id]
    invitations = Counter(i.status for i in records.invitations.values() if i.campaign_id == campaign_id)
    rewards = [r for r in records.rewards.values() if r["campaign_id"] == campaign_id]
    tiers = [r for r in rewards if r["tier"] > 0]
    tier_rewards: dict[int, Counter[str]] = {}
    for r in tiers:
        tier_rewards.setdefault(r["tier"], Counter())[r.get("status") or "granted"] += 1
    return {
        "participants": len(participants),
        "posters_sent": sum(p.poster_sent_at is not None for p in participants),
        "joined_via": dict(Counter(p.joined_via for p in participants)),
        "invites_credited": invitations["credited"],
        "invites_revoked": invitations["revoked"],
        "invites_confirmed": sum(
            1
            for i in records.invitations.values()
            if i.campaign_id == campaign_id and i.status == "credited" and i.confirms_at is None
        ),
        "rejections": dict(
            Counter(r["reason"] for r in records.rejections.values() if r["campaign_id"] == campaign_id)
        ),
        "rewards_granted": dict(sorted(Counter(r["tier"] for r in tiers).items())),
        "rewards_awaiting_stock": sum(r.get("status") == "awaiting_stock" for r in rewards),
        "screenshots": dict(Counter(s.status for s in records.submissions.values() if s.campaign_id == campaign_id)),
        "share_rewards_granted": sum(r["tier"] == 0 for r in rewards),
        "members_reached_tier": len({r["inviter"] for r in tiers}),
        "members_rewarded": len({r["inviter"] for r in tiers if r.get("status") == "issued"}),
        "tier_rewards": {tier: dict(statuses) for tier, statuses in tier_rewards.items()},
    }


async def check(flow: Flow) -> dict[str, Any]:
    results = InMemoryCampaignResults(flow.records)
    stats = await results.of("c1")
    expected = walked(flow.records, "c1")
    assert {name: getattr(stats, name) for name in expected} == expected
    screenshots = InMemoryShareScreenshots(flow.records)
    assert await screenshots.counts("c1") == expected["screenshots"]
    assert await screenshots.account_counts(APPID, None) == expected["screenshots"]
    assert await screenshots.account_counts(APPID, "c1") == expected["screenshots"]
    _, total = await results.participant_page("c1", openid_prefix=None, limit=1, offset=0)
    assert total == expected["participants"]
    for member in flow.records.participants.values():  # each inviter's standing matches their credits
        standing = [i for i in flow.records.invitations.values() if i.inviter == member.openid]
        credited = [i for i in standing if i.status == "credited"]
        assert member.credited == len(credited)
        assert member.confirmed == sum(i.confirms_at is None for i in credited)
    return expected


async def settle_one(flow: Flow, rng: random.Random) -> None:
    """A reviewer decides one submission waiting for review (the reply sent at once)."""
    waiting = [s for s in flow.records.submissions.values() if s.status == "review"]
    if not waiting:
        return
    shot = rng.choice(waiting)
    decision = rng.choice([Decision.APPROVE, Decision.REJECT])
    await review.settle(
        flow.campaigns,
        InMemoryShareScreenshots(flow.records),
        APPID,
        None,
        shot.id,
        decision,
        reviewer="ops-li",
        reviewer_id="op-li",
        reason=Reason.PRIVATE_POST if decision is Decision.REJECT else None,
        note=None,
        uow=InMemoryReferralUnitOfWork(flow.records),
        notice_store=InMemoryNotices(flow.records),
        rewards=InMemoryNotices(flow.records),
        codes=flow.pools,
        messenger=flow.clients[APPID],
        now=datetime.now(UTC),
    )


async def step(flow: Flow, rng: random.Random, n: int) -> None:
    member = rng.choice(MEMBERS)
    at = T0 + timedelta(minutes=n)
    joined = sorted(p.openid for p in flow.records.participants.values())
    match rng.randrange(13):
        case 0:
            await flow.push(TextMessageReceived(openid=member, received_at=at, msg_id=f"t{n}", content="海报"), member)
        case 1:
            await flow.push(MenuClicked(openid=member, clicked_at=at, key="JOIN"), member)
        case 2:
            scene = JoinScene("c1").encode()
            await flow.push(MemberFollowed(openid=member, followed_at=at, scene=scene), member)
        case 3 | 4 if joined:
            code = await flow.code_of(rng.choice(joined))
            await flow.push(MemberFollowed(openid=member, followed_at=at, scene=code), member)
        case 5 if joined:
            code = await flow.code_of(rng.choice(joined))
            await flow.push(QrCodeScanned(openid=member, scanned_at=at, scene=code), member)
        case 6:
            await flow.push(MemberUnfollowed(openid=member, unfollowed_at=at), member)
        case 7 if joined:
            sender = rng.choice(joined)
            flow.api.media[f"m{n}"] = rng.choice([b"good", b"unclear", b"private"])
            message = ImageMessageReceived(openid=sender, received_at=at, msg_id=f"i{n}", pic_url="p", media_id=f"m{n}")
            await flow.push(message, sender)
        case 8:
            await settle_one(flow, rng)
        case 9:
            pool = rng.choice(["A", "B", "S"])
            await flow.pools.add_codes("c1", pool, [f"{pool}-{n}-{k}" for k in range(rng.randrange(1, 3))])
        case 10:
            flow.api.window_closed = not flow.api.window_closed
        case 11:
            # The sweep confirms every credit older than its window (a later unfollow timed within
            # the window still revokes a confirmed credit: the broker's lag).
            await flow.worker.confirm_credits(at + timedelta(hours=49))
        case _ if flow.delivered:
            await flow.worker.handle(*rng.choice(flow.delivered))  # Kafka redelivers an earlier push


@pytest.mark.parametrize("seed", range(6))
async def test_counters_equal_a_recount_after_random_campaign_flows(flow: Flow, seed: int) -> None:
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    for n in range(150):
        await step(flow, rng, n)
        figures = await check(flow)
        seen.update(name for name, value in figures.items() if value)
        seen.update(f"reward:{status}" for statuses in figures["tier_rewards"].values() for status in statuses)
    # The flows reached what the counters count (the seeds are fixed, so this only guards the test).
    assert {
        "invites_credited",
        "invites_revoked",
        "invites_confirmed",
        "rejections",
        "screenshots",
        "members_rewarded",
    } <= set(seen)

    records = flow.records
    before = await InMemoryCampaignResults(records).of("c1")
    rebuild = InMemoryCounterRebuild(records, flow.campaigns)
    assert await rebuild.rebuild_campaign("c1") == await rebuild.recount_campaign("c1")
    await check(flow)
    records.counters.clear()  # from before the counters, or damaged
    assert (await InMemoryCampaignResults(records).of("c1")).participants == 0
    assert await rebuild_counters(rebuild) == Rebuilt(campaigns=1, accounts=1)
    assert await InMemoryCampaignResults(records).of("c1") == before
    await check(flow)


def test_each_write_moves_its_record_between_counters() -> None:
    assert participant_change(None, ("keyword", False)) == {"participants:keyword": 1}
    assert participant_change(("keyword", True), ("keyword", False)) == {"posters_sent": -1}
    assert participant_change(("keyword", False), ("keyword", False)) == {}
    assert reward_change(3, "granted", "awaiting_stock") == {"rewards:3:granted": -1, "rewards:3:awaiting_stock": 1}
    assert reward_change(3, "issued", "issued") == {}
    assert submission_change("review", "approved") == {"screenshots:review": -1, "screenshots:approved": 1}
    counts = recount(
        participants=[("keyword", True), ("menu", False)],
        invitations=["credited", "revoked"],
        rejections=["self_invite"],
        rewards=[("o1", 1, "issued"), ("o1", 2, None), ("o2", 0, "awaiting_stock")],
        submissions=["review", "approved"],
    )
    figures = stats_figures(counts)
    assert (figures.participants, figures.posters_sent, figures.joined_via) == (2, 1, {"keyword": 1, "menu": 1})
    assert (figures.invites_credited, figures.invites_revoked, figures.rejections) == (1, 1, {"self_invite": 1})
    assert figures.tier_rewards == {1: {"issued": 1}, 2: {"granted": 1}}
    assert (figures.rewards_granted, figures.share_rewards_granted, figures.rewards_awaiting_stock) == (
        {1: 1, 2: 1},
        1,
        1,
    )
    assert (figures.members_reached_tier, figures.members_rewarded) == (1, 1)
    assert figures.screenshots == {"review": 1, "approved": 1}
