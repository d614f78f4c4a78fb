"""The review queue's decisions as a labelled set: ``GET /accounts/{appid}/screenshots/export``.

A zip of ``labels.jsonl`` (the format is in :mod:`...service_layer.review_export`), the pictures
(``images/``) and the campaigns' poster templates (``templates/``): ``scrm verify-screenshots
--labels export.zip --out decisions.jsonl`` reads it as it is. Members' screenshots leave the platform
with it, so it needs ``screenshot:export`` and every export is audited (``screenshot.labels_exported``).

Registered before the review desk's ``/screenshots/{submission_id}``, which would take ``export``
for a submission id.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.campaigns.entrypoints.http.deps import ID_PATTERN, ApiDep, AppId, Now, needs
from services.campaigns.service_layer import review_export
from services.campaigns.service_layer.review_export import LABELS_FILE, MAX_EXPORT, LabelExport, label_line
from shared.identity import Permission, audit

__all__ = ["TAG", "router"]

TAG = "share screenshots"
EXPORT = "/accounts/{appid}/screenshots/export"

router = APIRouter(tags=[TAG])

_README = """Share screenshots decided by reviewers, with their labels ({count} submissions).

labels.jsonl: one line per submission: the picture (file), the member's QR payload, the campaign's
poster template (template: image, layout, texts), the label (approve or reject, and the reviewer's
reason code) and what the verifier had said (machine). images/ and templates/ hold the files.

Run the verifier on it and compare with the reviewers' decisions:

    scrm verify-screenshots --labels {name} --out decisions.jsonl

docs/screenshots.md, "Calibrating on real screenshots", says how to read the figures.
These are members' screenshots: keep the file where the members' data may be kept.
"""


def _aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _zip(export: LabelExport, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        lines = "".join(json.dumps(label_line(example), ensure_ascii=False) + "\n" for example in export.examples)
        bundle.writestr(LABELS_FILE, lines)
        bundle.writestr("README.txt", _README.format(count=len(export.examples), name=name))
        written: set[str] = set()
        for example in export.examples:
            # Pictures are compressed already: stored as they are.
            bundle.writestr(example.picture_path, example.picture, compress_type=zipfile.ZIP_STORED)
            if example.template.path not in written:
                written.add(example.template.path)
                bundle.writestr(example.template.path, example.template.image, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


@router.get(
    EXPORT,
    summary="Submissions decided by reviewers, with their pictures and labels, as a zip (a labelled set)",
    description=(
        "Oldest decision first. A full page answers `X-Next-After`: pass it as `decided_after` for the next. "
        "`X-Export-Count` is the submissions in the zip, `X-Export-Skipped` those left out (no picture kept, "
        "no poster template, no QR code) as JSON."
    ),
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
    dependencies=needs(Permission.SCREENSHOT_EXPORT),
)
async def export_labelled(
    appid: AppId,
    api: ApiDep,
    request: Request,
    now: Now,
    campaign_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="One campaign's only")
    ] = None,
    decided_after: Annotated[datetime | None, Query(description="Decided strictly after (paging)")] = None,
    decided_until: Annotated[datetime | None, Query(description="Decided at or before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EXPORT, description="Submissions in this zip")] = 200,
) -> Response:
    export = await review_export.export_labelled(
        api.campaigns,
        api.templates,
        api.screenshots,
        api.reviewed,
        api.participants,
        appid,
        campaign_id=campaign_id,
        decided_after=_aware(decided_after),
        decided_until=_aware(decided_until),
        limit=limit,
    )
    name = f"screenshot-labels-{appid}-{now:%Y%m%d-%H%M%S}.zip"
    body = await asyncio.to_thread(_zip, export, name)
    await audit(
        request,
        "screenshot.labels_exported",
        "screenshot_labels",
        campaign_id,
        after={
            "campaign_id": campaign_id,
            "decided_after": None if decided_after is None else decided_after.isoformat(),
            "decided_until": None if decided_until is None else decided_until.isoformat(),
            "count": len(export.examples),
            "skipped": export.skipped,
        },
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Export-Count": str(len(export.examples)),
        "X-Export-Skipped": json.dumps(export.skipped, sort_keys=True),
    }
    if export.next_after is not None:
        headers["X-Next-After"] = export.next_after.isoformat()
    return Response(body, media_type="application/zip", headers=headers)
