"""Managing a campaign's poster variants, and reading how each converts.

Variants are added, replaced and removed while the campaign is a draft (members given a variant keep
its template and QR code for good, so a running campaign's variants do not change); the weights and
the automatic shift may change at any time (they only decide what members joining later get).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.campaigns.domain.campaign import CampaignInvalid, CampaignStatus, EditNotAllowed, RewardBasis
from services.campaigns.domain.variants import (
    PRIMARY,
    VARIANT_KEY,
    AutoShift,
    PosterVariant,
    VariantFigures,
    VariantPlan,
    variant_figures,
)
from services.campaigns.service_layer.management import TemplateLayout, load_campaign
from services.campaigns.service_layer.ports import CampaignRepository, ImageInfo, PosterVariants, TemplateStore

__all__ = [
    "VariantNotFound",
    "VariantReport",
    "add_variant",
    "remove_variant",
    "set_weights",
    "shifts_on_confirmed",
    "variant_report",
]


class VariantNotFound(LookupError):
    """No poster variant of that key in the campaign (404)."""


@dataclass(frozen=True)
class VariantReport:
    """A campaign's variants with their templates' image ids, weights and figures (primary first)."""

    plan: VariantPlan
    figures: list[VariantFigures]
    primary_image_id: str | None
    #: The automatic shift (and the leader) counts confirmed credits, not follows.
    on_confirmed: bool = False


def shifts_on_confirmed(basis: RewardBasis) -> bool:
    """Where rewards count verified followers, a variant converts when its credits are confirmed."""
    return basis is RewardBasis.VERIFIED_FOLLOWERS


async def _plan(variants: PosterVariants, campaign_id: str) -> VariantPlan:
    return await variants.plan(campaign_id) or VariantPlan(campaign_id)


async def variant_report(
    campaigns: CampaignRepository, variants: PosterVariants, appid: str, campaign_id: str
) -> VariantReport:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    plan = await _plan(variants, campaign.id)
    figures = variant_figures(plan, await variants.counts(campaign.id))
    return VariantReport(
        plan,
        figures,
        None if campaign.template is None else campaign.template.image_id,
        on_confirmed=shifts_on_confirmed(campaign.reward_basis),
    )


async def add_variant(
    campaigns: CampaignRepository,
    templates: TemplateStore,
    variants: PosterVariants,
    appid: str,
    campaign_id: str,
    key: str,
    image: tuple[bytes, ImageInfo],
    layout: TemplateLayout | None,
    weight: int,
) -> VariantPlan:
    """Store the image and make it variant ``key`` (replacing one of that key); the layout defaults to
    the campaign's own template's."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        raise EditNotAllowed(f"poster variants are added while the campaign is a draft; it is {campaign.status}")
    if not VARIANT_KEY.fullmatch(key) or key == PRIMARY:
        raise CampaignInvalid("key", f"a lowercase letter, then up to 2 lowercase letters or digits; not {PRIMARY!r}")
    if layout is None:
        if campaign.template is None:
            raise CampaignInvalid("layout", "required: the campaign has no template whose layout to copy")
        layout = TemplateLayout.of(campaign.template)
    data, info = image
    stored = await templates.put(appid, campaign.id, data, info)
    try:
        plan = (await _plan(variants, campaign.id)).with_variant(
            PosterVariant(key, layout.on(stored.id, info.width, info.height), weight)
        )
        plan.validate()
    except BaseException:
        await templates.delete(stored.id)
        raise
    await variants.save_plan(appid, plan)
    return plan


async def remove_variant(
    campaigns: CampaignRepository, variants: PosterVariants, appid: str, campaign_id: str, key: str
) -> VariantPlan:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        raise EditNotAllowed("a running campaign keeps its variants: set the weight to 0 to stop giving one")
    plan = await _plan(variants, campaign.id)
    if plan.template(key) is None:
        raise VariantNotFound(f"no poster variant {key!r} in campaign {campaign_id!r}")
    plan = plan.without(key)
    await variants.save_plan(appid, plan)
    return plan


async def set_weights(
    campaigns: CampaignRepository,
    variants: PosterVariants,
    appid: str,
    campaign_id: str,
    weights: dict[str, int] | None,
    auto_shift: AutoShift | None,
) -> VariantPlan:
    """New weights (by variant key, ``a`` for the campaign's own template) and automatic shift."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    if campaign.status is CampaignStatus.ENDED:
        raise EditNotAllowed("an ended campaign cannot be edited")
    plan = await _plan(variants, campaign.id)
    if weights:
        unknown = set(weights) - set(plan.weights())
        if unknown:
            raise CampaignInvalid(f"weights.{sorted(unknown)[0]}", "no such variant")
        plan = VariantPlan(
            plan.campaign_id,
            tuple(replace(v, weight=weights.get(v.key, v.weight)) for v in plan.variants),
            weights.get(PRIMARY, plan.primary_weight),
            plan.auto_shift,
        )
    if auto_shift is not None:
        plan = replace(plan, auto_shift=auto_shift)
    plan.validate()
    await variants.save_plan(appid, plan)
    return plan
