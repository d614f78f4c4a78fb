"""The operator's poster preview and the checks on an uploaded template, on in-memory ports with the
real renderer (the one the worker draws members' posters with)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from PIL import Image

from services.campaigns.adapters.memory import InMemoryCampaigns, InMemoryTemplates
from services.campaigns.adapters.posters import PosterPreviewRenderer, render_poster
from services.campaigns.adapters.templates import TemplateImageRejected, inspect_image
from services.campaigns.domain.campaign import InviteTier, QrBox, TextSlot
from services.campaigns.domain.posters import SAMPLE_NICKNAME, poster_layout, poster_texts
from services.campaigns.service_layer.management import (
    CampaignNotFound,
    NewCampaign,
    TemplateLayout,
    create_campaign,
    upload_template,
)
from services.campaigns.service_layer.previews import SAMPLE_QR_URL, NoPosterTemplate, poster_preview

APPID = "wx1"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
QR = QrBox(475, 1059, 220)
SLOTS = (TextSlot("nickname", 60, 1100, 40, "#333333"), TextSlot("campaign_name", 60, 60, 48, "#111111"))
RED = np.array([229, 57, 53])


def png(size: tuple[int, int] = (750, 1334), colour: str = "white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def decoded_qr(data: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    text, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    return str(text)


async def campaign_with_template(campaigns: InMemoryCampaigns, templates: InMemoryTemplates) -> str:
    new = NewCampaign(name="新客邀请", starts_at=NOW, ends_at=NOW + timedelta(days=7), tiers=(InviteTier(3, "A"),))
    campaign = await create_campaign(campaigns, APPID, new, NOW)
    data = png()
    info = inspect_image(data, max_bytes=1_000_000)
    await upload_template(campaigns, templates, APPID, campaign.id, None, (data, info), TemplateLayout(QR, SLOTS), NOW)
    return campaign.id


async def test_the_clean_preview_is_the_members_poster_for_a_sample_member() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    cid = await campaign_with_template(campaigns, templates)
    preview = await poster_preview(campaigns, templates, PosterPreviewRenderer(), APPID, cid, outline=False)

    campaign = await campaigns.get(APPID, cid)
    assert campaign is not None and campaign.template is not None
    layout = poster_layout(campaign.template)
    texts = poster_texts(campaign, layout, SAMPLE_NICKNAME)
    assert texts == {"nickname": "示例用户", "campaign_name": "新客邀请"}
    members = render_poster(png(), layout, SAMPLE_QR_URL, texts)
    with Image.open(io.BytesIO(members)) as jpeg:
        expected = np.asarray(jpeg.convert("RGB"), dtype=np.int16)
    assert (pixels(preview) == expected).all()
    assert decoded_qr(preview) == SAMPLE_QR_URL


async def test_the_outlined_preview_frames_the_qr_box_and_each_slot() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    cid = await campaign_with_template(campaigns, templates)
    outlined = pixels(await poster_preview(campaigns, templates, PosterPreviewRenderer(), APPID, cid, outline=True))
    clean = pixels(await poster_preview(campaigns, templates, PosterPreviewRenderer(), APPID, cid, outline=False))
    assert outlined.shape == (1334, 750, 3)
    # The QR box's left edge, below its label, is drawn red.
    edge = outlined[QR.y + 60 : QR.y + QR.size - 10, QR.x]
    assert (np.abs(edge - RED).max(axis=1) < 40).all()
    # Each text slot is framed (blue) at its top-left corner; the clean poster is white there.
    for slot in SLOTS:
        corner = outlined[slot.y + 2, slot.x]
        assert corner[2] > 150 and corner[0] < 120, (slot.name, corner)
        assert (clean[slot.y + 2, slot.x] > 200).all()


async def test_no_template_no_preview() -> None:
    campaigns, templates = InMemoryCampaigns(), InMemoryTemplates()
    new = NewCampaign(name="x", starts_at=NOW, ends_at=NOW + timedelta(days=1))
    campaign = await create_campaign(campaigns, APPID, new, NOW)
    with pytest.raises(NoPosterTemplate, match="no poster template yet"):
        await poster_preview(campaigns, templates, PosterPreviewRenderer(), APPID, campaign.id, outline=True)
    with pytest.raises(CampaignNotFound):
        await poster_preview(campaigns, templates, PosterPreviewRenderer(), "wx2", campaign.id, outline=True)


def test_an_upload_reports_the_upright_size_of_a_rotated_phone_photo() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    Image.new("RGB", (1334, 750), "white").save(buffer, "JPEG", exif=exif)
    info = inspect_image(buffer.getvalue(), max_bytes=1_000_000)
    assert (info.content_type, info.width, info.height) == ("image/jpeg", 750, 1334)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png((150, 600)), "at least 200x200"),
        (png((750, 1334))[:200], "damaged image"),
        (b"GIF89a not really", "not a PNG or JPEG"),
    ],
    ids=["thumbnail", "truncated", "not-an-image"],
)
def test_an_unusable_upload_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(TemplateImageRejected, match=message):
        inspect_image(data, max_bytes=1_000_000)
