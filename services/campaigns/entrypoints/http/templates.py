"""The poster template: the background image and where the member's QR code and texts go on it, and
the preview of the poster it makes (``campaign:view``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.campaigns.adapters.templates import MAX_STORED_BYTES, TemplateImageRejected, inspect_image
from services.campaigns.bootstrap_api import CampaignsApi
from services.campaigns.domain.posters import template_notes
from services.campaigns.entrypoints.http.deps import (
    ApiDep,
    AppId,
    CampaignId,
    CanEdit,
    IfMatch,
    Now,
    by_name,
    field_error,
    needs,
    required_version,
)
from services.campaigns.entrypoints.http.schemas import (
    CampaignOut,
    LayoutBody,
    ProblemOut,
    TemplateImageOut,
    TemplateUploadOut,
)
from services.campaigns.service_layer import management, previews
from services.campaigns.service_layer.management import TemplateLayout
from shared.identity import Permission, audit
from shared.request_bodies import FormPart, MultipartError, parse_multipart, read_body

__all__ = ["TAG", "router"]

TAG = "poster templates"
#: Room for the multipart framing and a layout part around the image.
_FORM_OVERHEAD = 64 * 1024

_LAYOUT_SCHEMA = {
    key: value
    for key, value in LayoutBody.model_json_schema(ref_template="#/components/schemas/{model}").items()
    if key != "$defs"
}

_TEMPLATE_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary", "description": "PNG or JPEG"},
                        "layout": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            # Its parts are components (QrBoxBody, TextSlotBody); the object itself is
                            # described here, since no route takes it as a body of its own.
                            "contentSchema": _LAYOUT_SCHEMA,
                            "description": 'JSON: where the QR code and texts go, `{"qr": QrBoxBody, '
                            '"text_slots": [TextSlotBody]}` (TemplateBody without `image_id`). Left out: '
                            "the campaign's current layout is kept, if it has one.",
                        },
                    },
                }
            }
        },
    }
}

router = APIRouter(tags=[TAG])


@router.post(
    "/accounts/{appid}/campaigns/{campaign_id}/template",
    status_code=201,
    summary="Upload the poster background (PNG or JPEG) and its layout",
    description="Multipart form: `image` (the file) and optionally `layout` (JSON: `qr` box and "
    "`text_slots`, which must lie inside the image). Without `layout` the campaign's current layout "
    "moves to the new image; a campaign without one keeps no template until a PATCH sets `template`. "
    '`If-Match: "<version>"` is required (428 without it, 409 when the campaign has moved on), as for PATCH.',
    openapi_extra=_TEMPLATE_FORM,
)
async def upload_template(
    appid: AppId,
    campaign_id: CampaignId,
    request: Request,
    api: ApiDep,
    now: Now,
    _: CanEdit,
    if_match: IfMatch = None,
) -> TemplateUploadOut:
    expected = required_version(if_match)  # before the upload is read: a stale edit costs nothing
    form, layout, limit = await read_template_form(request, api)
    data = form["image"].content
    try:
        info = await asyncio.to_thread(inspect_image, data, max_bytes=limit)
    except TemplateImageRejected as exc:
        raise field_error(["image"], str(exc)) from None
    uploaded = await management.upload_template(
        api.campaigns, api.templates, appid, campaign_id, expected, (data, info), layout, now
    )
    image = uploaded.image
    await audit(
        request,
        "campaign.template_uploaded",
        "campaign",
        campaign_id,
        before={"version": expected},
        after={
            "version": uploaded.campaign.version,
            "image_id": image.id,
            "content_type": image.info.content_type,
            "size": image.info.size,
            "layout_sent": layout is not None,
        },
    )
    return TemplateUploadOut(
        image=TemplateImageOut(
            image_id=image.id,
            content_type=image.info.content_type,
            width=image.info.width,
            height=image.info.height,
            size=image.info.size,
        ),
        campaign=CampaignOut.of(uploaded.campaign),
        notes=ProblemOut.all(template_notes(uploaded.campaign.template)) if uploaded.campaign.template else [],
    )


@router.get(
    "/accounts/{appid}/campaigns/{campaign_id}/poster-preview",
    summary="The poster a member would receive, for a sample member (PNG)",
    description="Rendered by the workers' poster renderer from the campaign's template, with a sample QR "
    "code and the texts a member's poster carries (nickname 示例用户, the campaign's name, its end date). "
    "By default the QR box (red) and each text slot (blue) are outlined and labelled; `outline=false` "
    "gives the clean poster. 404 when no template has been uploaded.",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def poster_preview(appid: AppId, campaign_id: CampaignId, api: ApiDep, outline: bool = True) -> Response:
    png = await previews.poster_preview(api.campaigns, api.templates, api.previews, appid, campaign_id, outline=outline)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def read_template_form(
    request: Request, api: CampaignsApi
) -> tuple[dict[str, FormPart], TemplateLayout | None, int]:
    """The multipart form of a template upload (the campaign's, or a poster variant's): its fields by
    name (``image`` required), the ``layout`` if one was given, and the image size limit applied."""
    limit = min(api.settings.max_template_bytes, MAX_STORED_BYTES)
    body = await read_body(request.scope, request.receive, limit + _FORM_OVERHEAD)
    if body is None:
        raise field_error(["image"], f"image too large: at most {limit} bytes accepted")
    try:
        form = by_name(parse_multipart(body, request.headers.get("content-type", "")))
    except MultipartError as exc:
        raise field_error(["image"], str(exc)) from None
    if "image" not in form:
        raise field_error(["image"], "a form field 'image' with the file is required")
    layout = None
    if "layout" in form:
        try:
            layout = LayoutBody.model_validate_json(form["layout"].content).layout()
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", "layout", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
    return form, layout, limit
