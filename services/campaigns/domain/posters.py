"""What a participant's poster is made of, and how long the platform keeps its parts. Pure: no I/O.

The lifetimes are the platform's (temporary QR codes, temporary media); they live here rather than in
the poster flow because the adapters that create codes and the flow that sends posters both follow
them, and adapters do not depend on the service layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from services.campaigns.domain.campaign import Campaign, PosterTemplate
from services.campaigns.domain.poster_layout import PosterLayout, QrBox, TextSlot

__all__ = [
    "MEDIA_REUSE_FOR",
    "QR_LIFETIME",
    "QR_RENEW_BEFORE",
    "SAMPLE_NICKNAME",
    "PosterSpec",
    "poster_layout",
    "poster_texts",
]

#: Temporary QR codes live at most 30 days; renew a day early so a poster never carries a dead code.
QR_LIFETIME = timedelta(days=30)
QR_RENEW_BEFORE = timedelta(days=1)
#: Temporary media lives three days; upload again a little before that.
MEDIA_REUSE_FOR = timedelta(days=2, hours=20)


@dataclass(frozen=True)
class PosterSpec:
    template: bytes
    template_version: str
    layout: PosterLayout
    welcome: str
    texts: Mapping[str, str]
    #: The member's poster variant when it is not the campaign's own template (rides in the QR scene).
    variant: str | None = None


#: The nickname a preview shows in place of a member's.
SAMPLE_NICKNAME = "示例用户"


def poster_layout(template: PosterTemplate) -> PosterLayout:
    """The renderer's geometry for a campaign's template (the worker's posters and the preview share it)."""
    return PosterLayout(
        width=template.width,
        height=template.height,
        qr=QrBox(template.qr.x, template.qr.y, template.qr.size),
        texts=tuple(TextSlot(slot.name, slot.x, slot.y, slot.font_size, slot.colour) for slot in template.text_slots),
    )


def poster_texts(campaign: Campaign, layout: PosterLayout, nickname: str) -> dict[str, str]:
    """The texts a member's poster carries, only for the slots the layout has: the renderer refuses
    text for a slot it cannot place."""
    values = {"nickname": nickname, "campaign_name": campaign.name, "ends_on": campaign.ends_at.date().isoformat()}
    return {slot.name: values[slot.name] for slot in layout.texts if slot.name in values}
