"""The review queue's decisions as labelled examples: what ``scrm verify-screenshots --labels`` reads.

Every submission a reviewer approved or rejected is a screenshot of a real member with a person's
verdict on it: the best calibration set a brand has. An export holds, per submission, the picture
(kept because it went to review), the member's QR payload, the campaign's poster template with its
layout (from which the member's poster is drawn again exactly as the worker drew it), the label
(``approve`` / ``reject`` and the reviewer's reason code) and what the machine had said.

Format of one line (``labels.jsonl``; paths relative to it)::

    {"file": "images/<id>.jpg", "qr_payload": "http://weixin.qq.com/q/…",
     "template": {"image": "templates/<campaign>-<image>.png", "layout": {…}, "texts": {…}},
     "campaign": "<campaign id>", "user": "<openid>", "label": "approve" | "reject",
     "reason": "<reviewer's reason code>" | null, "id": "<submission id>",
     "submitted_at": "…", "decided_at": "…", "reviewer": "<name>", "note": "…" | null,
     "machine": {"decision": "review", "reasons": ["possibly_reused"]}}

A line may give ``"poster": "<file>"`` (the member's poster itself) instead of ``template``. Pages
go by decision time: ``next_after`` is where the next page starts when this one was full.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.posters import poster_layout, poster_texts
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import (
    CampaignRepository,
    ReferralStore,
    ReviewedSubmissions,
    ShareScreenshotStore,
    TemplateStore,
)

__all__ = [
    "LABELS_FILE",
    "MAX_EXPORT",
    "MAX_EXPORT_BYTES",
    "LabelExport",
    "PosterSource",
    "export_labelled",
    "label_line",
]

#: The labelled set's name in the export (the CLI looks for it in a zip).
LABELS_FILE = "labels.jsonl"
#: Submissions per export (each carries its picture): page with ``decided_after`` for more.
MAX_EXPORT = 1000
#: Pictures per export, in bytes: the zip is built in memory, and a screenshot may be 10 MB.
MAX_EXPORT_BYTES = 256 * 1024 * 1024

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class PosterSource:
    """A campaign's poster template: the image and what the renderer draws on it."""

    path: str
    image: bytes
    layout: dict[str, Any]
    texts: dict[str, str]


@dataclass(frozen=True)
class Example:
    record: SubmissionRecord
    picture_path: str
    picture: bytes
    qr_payload: str
    template: PosterSource


@dataclass
class LabelExport:
    examples: list[Example] = field(default_factory=list)
    #: Reviewed submissions left out, by why: ``no_picture``, ``no_template``, ``no_qr_code``.
    skipped: dict[str, int] = field(default_factory=dict)
    #: The last decision time of a full page: pass it as ``decided_after`` for the next one.
    next_after: datetime | None = None

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _image_extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "jpg"


def _payload(record: SubmissionRecord) -> str | None:
    """The member's own code as the analysis decoded it (the poster they were issued then), if it was."""
    codes = record.evidence.get("qr_payloads")
    if record.evidence.get("qr") == "own" and isinstance(codes, list) and codes and isinstance(codes[0], str):
        return codes[0]
    return None


async def export_labelled(
    campaigns: CampaignRepository,
    templates: TemplateStore,
    screenshots: ShareScreenshotStore,
    reviewed: ReviewedSubmissions,
    participants: ReferralStore,
    appid: str,
    *,
    campaign_id: str | None,
    decided_after: datetime | None,
    decided_until: datetime | None,
    limit: int,
    max_bytes: int = MAX_EXPORT_BYTES,
) -> LabelExport:
    """The account's (or one campaign's) reviewer decisions with what it takes to decide them again.

    Stops before the pictures pass ``max_bytes``: ``next_after`` then continues from the last one in."""
    if campaign_id is not None:
        await load_campaign(campaigns, appid, campaign_id)  # 404 for a campaign of another account
    records = await reviewed.reviewed(
        appid, campaign_id=campaign_id, decided_after=decided_after, decided_until=decided_until, limit=limit
    )
    export = LabelExport(next_after=records[-1].decided_at if len(records) == limit else None)
    sources: dict[str, PosterSource | None] = {}
    size = 0
    for index, record in enumerate(records):
        source = sources.get(record.campaign_id)
        if record.campaign_id not in sources:
            campaign = await campaigns.get(appid, record.campaign_id)
            source = sources[record.campaign_id] = None if campaign is None else await _template(campaign, templates)
        if source is None:
            export.skip("no_template")
            continue
        kept = await screenshots.image(record.id)
        if kept is None:
            export.skip("no_picture")
            continue
        payload = _payload(record)
        if payload is None:
            participant = await participants.participant(record.campaign_id, record.openid)
            payload = None if participant is None else participant.qr_url
        if payload is None:
            export.skip("no_qr_code")
            continue
        picture, content_type = kept
        size += len(picture)
        if size > max_bytes and export.examples:
            export.next_after = records[index - 1].decided_at
            break
        extension = _EXTENSIONS.get(content_type) or _image_extension(picture)
        path = f"images/{_UNSAFE.sub('_', record.id)}.{extension}"
        export.examples.append(Example(record, path, picture, payload, source))
    return export


async def _template(campaign: Campaign, templates: TemplateStore) -> PosterSource | None:
    template = campaign.template
    if template is None:
        return None
    image = await templates.read(template.image_id)
    if image is None:
        return None
    layout = poster_layout(template)
    # The nickname stays empty, as on the posters the worker draws for the check.
    texts = poster_texts(campaign, layout, "")
    digest = hashlib.sha256(image).hexdigest()[:12]
    path = f"templates/{_UNSAFE.sub('_', campaign.id)}-{digest}.{_image_extension(image)}"
    return PosterSource(path, image, layout.as_dict(), texts)


def label_line(example: Example) -> dict[str, Any]:
    """One line of ``labels.jsonl``."""
    record = example.record
    return {
        "file": example.picture_path,
        "qr_payload": example.qr_payload,
        "template": {
            "image": example.template.path,
            "layout": example.template.layout,
            "texts": example.template.texts,
        },
        "campaign": record.campaign_id,
        "user": record.openid,
        "label": "approve" if record.status == "approved" else "reject",
        "reason": record.review_reason,
        "id": record.id,
        "submitted_at": record.received_at.isoformat(),
        "decided_at": record.decided_at.isoformat(),
        "reviewer": record.decided_by,
        "note": record.note,
        # What the machine said: it sent the picture to review, for these reasons.
        "machine": {"decision": "review", "reasons": list(record.reasons)},
    }
