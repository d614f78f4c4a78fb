"""Campaign definitions as the worker reads them: the crediting view and the poster spec."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from services.campaigns.domain.campaign import Campaign, CampaignStatus, RewardBasis
from services.campaigns.domain.posters import PosterSpec, poster_layout, poster_texts
from services.campaigns.domain.referrals import CampaignTexts, CampaignView, ReferralRules, Tier
from services.campaigns.domain.variants import PRIMARY, VariantPlan, choose_variant, variant_figures
from services.campaigns.service_layer.ports import CampaignRepository, PosterVariants, TemplateStore
from services.campaigns.service_layer.variants import shifts_on_confirmed


def view_of(campaign: Campaign) -> CampaignView:
    return CampaignView(
        campaign_id=campaign.id,
        appid=campaign.appid,
        rules=ReferralRules(
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            running=campaign.status is CampaignStatus.ACTIVE,
            tiers=tuple(Tier(tier.count, tier.pool) for tier in campaign.tiers),
            first_time_followers_only=campaign.rules.first_time_followers_only,
            revoke_if_unfollowed_within=timedelta(hours=campaign.rules.revoke_if_unfollowed_within_hours),
            per_inviter_daily_cap=campaign.rules.per_inviter_daily_cap,
            blacklist=campaign.rules.blacklist,
            # The documented basis: tiers count friends who stayed past the revocation window.
            confirm_credits=campaign.reward_basis is RewardBasis.VERIFIED_FOLLOWERS,
        ),
        texts=CampaignTexts(progress=campaign.messages.progress, tier_reached=campaign.messages.tier_reached),
    )


class CampaignDirectoryAdapter:
    """Reads campaigns through the repository, briefly cached: a burst of follows for one campaign
    should not reread it each time, and an edit (a blacklist addition, say) shows within seconds."""

    def __init__(
        self,
        repository: CampaignRepository,
        templates: TemplateStore,
        *,
        ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        variants: PosterVariants | None = None,
    ) -> None:
        self._repository = repository
        self._templates = templates
        self._variants = variants
        self._plans: dict[str, tuple[float, VariantPlan | None]] = {}
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Campaign | None]] = {}
        self._joinable: dict[str, tuple[float, list[Campaign]]] = {}

    async def campaign(self, appid: str, campaign_id: str) -> Campaign | None:
        key, now = (appid, campaign_id), self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        campaign = await self._repository.get(appid, campaign_id)
        self._cache[key] = (now + self._ttl, campaign)
        return campaign

    async def find(self, appid: str, campaign_id: str) -> CampaignView | None:
        campaign = await self.campaign(appid, campaign_id)
        return None if campaign is None else view_of(campaign)

    async def active(self, appid: str) -> list[Campaign]:
        return await self._repository.list(appid, status=CampaignStatus.ACTIVE, limit=200)

    async def joinable(self, appid: str) -> list[Campaign]:
        """Active campaigns and the most recently ended ones, briefly cached (every text message of
        every member asks, to match keywords)."""
        now = self._clock()
        cached = self._joinable.get(appid)
        if cached is not None and cached[0] > now:
            return cached[1]
        campaigns = await self.active(appid)
        campaigns += await self._repository.list(appid, status=CampaignStatus.ENDED, limit=20)
        self._joinable[appid] = (now + self._ttl, campaigns)
        return campaigns

    async def _plan(self, campaign_id: str) -> VariantPlan | None:
        if self._variants is None:
            return None
        now = self._clock()
        cached = self._plans.get(campaign_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        plan = await self._variants.plan(campaign_id)
        self._plans[campaign_id] = (now + self._ttl, plan)
        return plan

    async def variant_of(self, campaign: Campaign, member: str) -> str | None:
        """The member's poster variant, given now if they have none (None: the campaign has no variants)."""
        if self._variants is None:
            return None
        # The plan first (cached): campaigns without variants cost no read per member.
        plan = await self._plan(campaign.id)
        if plan is None or not plan.active:
            return None
        given = await self._variants.assignment(campaign.id, member)
        if given is not None:
            return given
        figures = variant_figures(plan, await self._variants.counts(campaign.id)) if plan.auto_shift.enabled else []
        # Verified followers: the shift counts confirmed credits, so the poster whose friends stay wins.
        on_confirmed = shifts_on_confirmed(campaign.reward_basis)
        return await self._variants.assign(
            campaign.id, member, choose_variant(plan, figures, member, on_confirmed=on_confirmed)
        )

    async def poster_spec(self, campaign: Campaign, nickname: str, member: str | None = None) -> PosterSpec | None:
        template = campaign.template
        if template is None:
            return None
        variant = None if member is None else await self.variant_of(campaign, member)
        if variant is not None and variant != PRIMARY:
            plan = await self._plan(campaign.id)
            extra = None if plan is None else plan.template(variant)
            if extra is not None:
                template = extra
            else:  # a variant removed since it was given: the member's code still names it
                variant = None
        image = await self._templates.read(template.image_id)
        if image is None:
            return None
        layout = poster_layout(template)
        target = campaign.tiers[0].count if campaign.tiers else 0
        texts = poster_texts(campaign, layout, nickname)
        return PosterSpec(
            template=image,
            template_version=template.image_id,
            layout=layout,
            welcome=campaign.messages.render(
                "welcome",
                campaign=campaign.name,
                nickname=nickname,
                target=target,
                ends_on=campaign.ends_at.date().isoformat(),
            ),
            texts=texts,
            variant=None if variant == PRIMARY else variant,
        )
