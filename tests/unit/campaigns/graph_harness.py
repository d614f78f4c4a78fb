"""A campaign worker on the in-memory adapters with the referral graph and poster variants kept, for
the variant and graph tests (the worker's own routing tests build theirs without)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from services.campaigns.adapters.directory import CampaignDirectoryAdapter
from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryNotices,
    InMemoryPosterVariants,
    InMemoryReferralGraph,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
    InMemoryRewardPools,
    InMemoryShareScreenshots,
    InMemoryTemplates,
)
from services.campaigns.bootstrap_worker import CampaignsWorker
from services.campaigns.domain.campaign import Campaign, InviteTier, JoinMethods, PosterTemplate, QrBox
from services.campaigns.domain.poster_layout import PosterLayout
from services.campaigns.domain.referrals import ReferralScene
from services.campaigns.domain.variants import PosterVariant, VariantPlan
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from shared.contracts import MemberFollowed, MemberUnfollowed, TextMessageReceived
from shared.events import Envelope, Message
from shared.wechat_client import MemoryTokenStore, WeChatClients
from tests.fakes.campaign_worker import Analyses, Renderer, WeChatApi

APPID = "wx1"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class RecordingRenderer(Renderer):
    """Remembers which template each member's poster was drawn on."""

    def __init__(self) -> None:
        self.templates: dict[str, str] = {}

    async def render(
        self,
        campaign_id: str,
        template_version: str | int,
        member_key: str,
        template_bytes: bytes,
        layout: PosterLayout,
        qr_url: str,
        texts: Mapping[str, str],
    ) -> bytes:
        self.templates[member_key.partition(":")[0]] = str(template_version)
        return await super().render(campaign_id, template_version, member_key, template_bytes, layout, qr_url, texts)


@dataclass
class Stack:
    worker: CampaignsWorker
    records: CampaignRecords
    campaigns: InMemoryCampaigns
    templates: InMemoryTemplates
    graph: InMemoryReferralGraph
    variants: InMemoryPosterVariants
    renderer: RecordingRenderer
    uow: InMemoryReferralUnitOfWork
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def push(self, message: Message, openid: str, event_id: str | None = None) -> Envelope:
        event_id = event_id or f"push-{next(self.numbers)}"
        envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id=event_id)
        await self.worker.handle(envelope, message)
        return envelope

    async def campaign(
        self, campaign_id: str, *, keyword: str, tiers: tuple[int, ...] = (2, 3), variants: tuple[str, ...] = ()
    ) -> Campaign:
        image = await self.templates.put(APPID, campaign_id, b"png", ImageInfo("image/png", 750, 1334, 3))
        campaign = Campaign.create(
            appid=APPID,
            name=f"活动 {campaign_id}",
            starts_at=T0,
            ends_at=T0 + timedelta(days=30),
            now=T0,
            campaign_id=campaign_id,
            join=JoinMethods(keywords=(keyword,)),
            template=PosterTemplate(image.id, 750, 1334, QrBox(400, 1000, 240)),
            tiers=[InviteTier(count, f"P{count}") for count in tiers],
        )
        if variants:
            plan = VariantPlan(campaign_id)
            for key in variants:
                extra = await self.templates.put(
                    APPID, campaign_id, b"png-" + key.encode(), ImageInfo("image/png", 750, 1334, 5)
                )
                plan = plan.with_variant(PosterVariant(key, PosterTemplate(extra.id, 750, 1334, QrBox(100, 100, 240))))
            await self.variants.save_plan(APPID, plan)
        campaign.activate(T0)
        await self.campaigns.add(campaign)
        return campaign

    async def join(self, openid: str, keyword: str, minutes: float) -> None:
        await self.push(
            TextMessageReceived(
                openid=openid, received_at=at(minutes), msg_id=f"m-{openid}-{minutes}", content=keyword
            ),
            openid,
        )

    async def scene_of(self, campaign_id: str, openid: str) -> str:
        member = await InMemoryReferrals(self.records).participant(campaign_id, openid)
        assert member is not None and member.qr_url is not None
        return member.qr_url.removeprefix("http://q/")

    async def follow(self, openid: str, scene: str | None, minutes: float) -> Envelope:
        return await self.push(MemberFollowed(openid=openid, followed_at=at(minutes), scene=scene), openid)

    async def unfollow(self, openid: str, minutes: float) -> Envelope:
        return await self.push(MemberUnfollowed(openid=openid, unfollowed_at=at(minutes)), openid)

    async def invite(self, campaign_id: str, inviter: str, invitee: str, minutes: float) -> None:
        await self.follow(invitee, await self.scene_of(campaign_id, inviter), minutes)


async def _ready() -> bool:
    return True


@asynccontextmanager
async def graph_stack() -> AsyncIterator[Stack]:
    records, templates, campaigns = CampaignRecords(), InMemoryTemplates(), InMemoryCampaigns()
    graph, variants, renderer = InMemoryReferralGraph(records), InMemoryPosterVariants(records), RecordingRenderer()
    uow = InMemoryReferralUnitOfWork(records)
    async with WeChatClients(MemoryTokenStore(), transport=httpx.MockTransport(WeChatApi())) as clients:
        clients.add(APPID, "secret")
        worker = CampaignsWorker(
            settings=CampaignsSettings(),
            directory=CampaignDirectoryAdapter(campaigns, templates, variants=variants, ttl_seconds=0),
            uow=lambda: uow,
            store=InMemoryReferrals(records),
            notice_store=InMemoryNotices(records),
            pools=InMemoryRewardPools(),
            clients=clients,
            renderer=renderer,
            screenshots=InMemoryShareScreenshots(records),
            analysis=Analyses(),
            ready=_ready,
            graph=graph,
            variants=variants,
        )
        yield Stack(worker, records, campaigns, templates, graph, variants, renderer, uow)


__all__ = ["APPID", "T0", "ReferralScene", "Stack", "at", "graph_stack"]
