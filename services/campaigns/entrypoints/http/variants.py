"""Poster A/B variants of a campaign: extra templates, their weights, the automatic shift, and how each
converts (``campaign:view`` to read, ``campaign:edit`` to change; changes audited)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request

from services.campaigns.adapters.templates import TemplateImageRejected, inspect_image
from services.campaigns.domain.variants import AutoShift
from services.campaigns.entrypoints.http.deps import ApiDep, AppId, CampaignId, CanEdit, field_error, needs
from services.campaigns.entrypoints.http.graph_schemas import VariantsOut, VariantsPatch
from services.campaigns.entrypoints.http.templates import read_template_form
from services.campaigns.service_layer import variants
from services.campaigns.service_layer.ports import PosterVariants
from shared.identity import Permission, audit

__all__ = ["TAG", "router"]

TAG = "poster variants"
_FORM_OVERHEAD = 64 * 1024
ONE = "/accounts/{appid}/campaigns/{campaign_id}/variants"
Key = Annotated[
    str, Path(pattern=r"^[a-z][a-z0-9]{0,2}$", description="The variant's key (b, c…; a is the campaign's own)")
]

router = APIRouter(tags=[TAG])


def _store(api: ApiDep) -> PosterVariants:
    if api.variants is None:
        raise RuntimeError("the campaigns API was built without a poster-variant store")
    return api.variants


async def _report(api: ApiDep, appid: str, campaign_id: str) -> VariantsOut:
    return VariantsOut.of(await variants.variant_report(api.campaigns, _store(api), appid, campaign_id))


@router.get(
    ONE,
    summary="The campaign's poster variants and how each converts",
    description="Per variant (`a` is the campaign's own template): members given it, scans of their codes, "
    "follows through them, credits, and the rates per member. `rule` states how new members are spread.",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def list_variants(appid: AppId, campaign_id: CampaignId, api: ApiDep) -> VariantsOut:
    return await _report(api, appid, campaign_id)


@router.post(
    ONE + "/{key}/template",
    status_code=201,
    summary="Add (or replace) a poster variant: its background and, optionally, its layout and weight",
    description="Multipart form: `image` (PNG or JPEG, checked as the campaign's template is), optional "
    "`layout` (JSON, as the template upload; default: the campaign's own layout) and `weight` (0–1000, "
    "default 1). Only while the campaign is a draft (409 otherwise).",
)
async def add_variant(
    appid: AppId, campaign_id: CampaignId, key: Key, request: Request, api: ApiDep, _: CanEdit
) -> VariantsOut:
    form, layout, limit = await read_template_form(request, api)
    weight = 1
    if "weight" in form:
        text = form["weight"].content.decode(errors="replace").strip()
        if not text.isdigit() or int(text) > 1000:
            raise field_error(["weight"], "a whole number from 0 to 1000")
        weight = int(text)
    data = form["image"].content
    try:
        info = await asyncio.to_thread(inspect_image, data, max_bytes=limit)
    except TemplateImageRejected as exc:
        raise field_error(["image"], str(exc)) from None
    plan = await variants.add_variant(
        api.campaigns, api.templates, _store(api), appid, campaign_id, key, (data, info), layout, weight
    )
    template = plan.template(key)
    await audit(
        request,
        "campaign.variant_added",
        "campaign",
        campaign_id,
        after={"variant": key, "weight": weight, "image_id": None if template is None else template.image_id},
    )
    return await _report(api, appid, campaign_id)


@router.delete(ONE + "/{key}", summary="Remove a poster variant (draft campaigns only)")
async def remove_variant(
    appid: AppId, campaign_id: CampaignId, key: Key, request: Request, api: ApiDep, _: CanEdit
) -> VariantsOut:
    await variants.remove_variant(api.campaigns, _store(api), appid, campaign_id, key)
    await audit(request, "campaign.variant_removed", "campaign", campaign_id, before={"variant": key})
    return await _report(api, appid, campaign_id)


@router.patch(
    ONE,
    summary="Change the variants' weights and the automatic shift toward the winner",
    description="`weights` by variant key (`a`: the campaign's own template; 0 stops giving a variant to new "
    "members), `auto_shift: {enabled, min_sample}`. Allowed while the campaign runs: only members joining "
    "later are affected; members keep the variant they were given.",
)
async def patch_variants(
    appid: AppId, campaign_id: CampaignId, body: VariantsPatch, request: Request, api: ApiDep, _: CanEdit
) -> VariantsOut:
    before = await _report(api, appid, campaign_id)
    shift = None if body.auto_shift is None else AutoShift(body.auto_shift.enabled, body.auto_shift.min_sample)
    await variants.set_weights(api.campaigns, _store(api), appid, campaign_id, body.weights, shift)
    after = await _report(api, appid, campaign_id)
    await audit(
        request,
        "campaign.variants_changed",
        "campaign",
        campaign_id,
        before={"weights": {v.key: v.weight for v in before.variants}, "auto_shift": before.auto_shift.model_dump()},
        after={"weights": {v.key: v.weight for v in after.variants}, "auto_shift": after.auto_shift.model_dump()},
    )
    return after
