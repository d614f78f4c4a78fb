"""``/cgi-bin/``: the platform's API as the real one answers it (HTTP 200, ``{errcode, errmsg}`` on refusal)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from services.wechat_sim.domain.errors import ApiError
from services.wechat_sim.entrypoints.http.deps import SimDep
from services.wechat_sim.service_layer.platform import ApiRequest, BinaryResponse, Upload
from services.wechat_sim.settings import WeChatSimSettings
from shared.request_bodies import MultipartError, parse_multipart, read_body

router = APIRouter()
_JSON_MEDIA = "application/json; encoding=utf-8"


@router.get("/cgi-bin/showqrcode", summary="A QR code's image (no token: it is public)")
async def show_qrcode(sim: SimDep, ticket: Annotated[str, Query(max_length=512)]) -> Response:
    try:
        png = sim.qr_png(ticket)
    except ApiError as error:
        return JSONResponse(sim.platform.error_body(error), status_code=404)
    return Response(png, media_type="image/png")


@router.api_route("/cgi-bin/{api:path}", methods=["GET", "POST"], summary="The platform API")
async def cgi_bin(api: str, request: Request, sim: SimDep) -> Response:
    body = await read_body(request.scope, request.receive, _max_body(sim.settings))
    if body is None:
        return _answer(sim.platform.error_body(ApiError(40006)))
    upload = None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            parts = parse_multipart(body, content_type)
        except MultipartError:
            return _answer(sim.platform.error_body(ApiError(41005)))
        media = next((p for p in parts if p.name == "media"), None)
        if media is not None:
            upload = Upload(media.filename or "media", media.content, media.content_type)
        body = b""
    call = ApiRequest(request.method, dict(request.query_params), body, upload)
    return _answer(sim.platform.call(api, call))


def _max_body(settings: WeChatSimSettings) -> int:
    largest = max(settings.media_image_max_bytes, settings.media_video_max_bytes, settings.media_voice_max_bytes)
    return largest + 1024 * 1024


def _answer(result: dict[str, Any] | BinaryResponse) -> Response:
    if isinstance(result, BinaryResponse):
        disposition = f'attachment; filename="{result.filename}"'
        return Response(result.content, media_type=result.content_type, headers={"Content-Disposition": disposition})
    return JSONResponse(result, media_type=_JSON_MEDIA)
