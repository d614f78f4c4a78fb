"""The poster preview: the campaign's template as a member would receive it, for a sample member.

The template, layout and slot texts come from the same functions the worker's posters use
(:mod:`..domain.posters`); only the member is made up: the nickname :data:`SAMPLE_NICKNAME` and a
QR code for :data:`SAMPLE_QR_URL`, as long as the platform's real ticket URLs, so a box too small for
a real code is too small here too.
"""

from __future__ import annotations

from services.campaigns.domain.posters import SAMPLE_NICKNAME, poster_layout, poster_texts
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import CampaignRepository, PosterPreviews, TemplateStore

__all__ = ["SAMPLE_QR_URL", "NoPosterTemplate", "poster_preview"]

#: Shaped like the ``url`` of a temporary QR code from ``qrcode/create`` (same length: same QR version).
SAMPLE_QR_URL = "http://weixin.qq.com/q/02SaMpLePrEvIeW0000000"


class NoPosterTemplate(LookupError):
    """The campaign has no poster template yet (or its image is gone): nothing to preview."""


async def poster_preview(
    campaigns: CampaignRepository,
    templates: TemplateStore,
    previews: PosterPreviews,
    appid: str,
    campaign_id: str,
    *,
    outline: bool,
) -> bytes:
    """The campaign's poster for a sample member, as PNG; outlined and labelled with ``outline``."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    template = campaign.template
    if template is None:
        raise NoPosterTemplate(
            "this campaign has no poster template yet: upload one (POST …/template with an image and a layout)"
        )
    image = await templates.read(template.image_id)
    if image is None:
        raise NoPosterTemplate("the poster template's image is missing; upload the template again")
    layout = poster_layout(template)
    texts = poster_texts(campaign, layout, SAMPLE_NICKNAME)
    return await previews.preview(image, layout, SAMPLE_QR_URL, texts, outline=outline)
