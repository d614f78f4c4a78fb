"""The simulator over HTTP: the platform's ``/cgi-bin/`` API and the sim-only ``/sim/`` API.

``/cgi-bin/`` answers like the platform: HTTP 200 with JSON (``{errcode, errmsg}`` on refusal), PNGs
from ``showqrcode`` and the media bytes from ``media/get``. ``/sim/`` is for tests and demos: members
act (follow, scan, write...) and the answer says what happened to the push; inboxes, faults and the
clock are there too. Sim-only mistakes are 404 (unknown account or member), 409 (the member cannot do
that now) or 422.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from services.wechat_sim.bootstrap import bootstrap
from services.wechat_sim.domain.clock import Clock
from services.wechat_sim.domain.errors import ApiError, InvalidAction, UnknownAccount, UnknownMember
from services.wechat_sim.service_layer.platform import ApiRequest, BinaryResponse, Upload, api_paths
from services.wechat_sim.service_layer.ports import PushSender
from services.wechat_sim.service_layer.simulator import WeChatSimulator
from services.wechat_sim.settings import WeChatSimSettings
from shared.observability import get_logger
from shared.request_bodies import MultipartError, parse_multipart, read_body
from shared.web import create_service_app, service_of

log = get_logger(__name__)

AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
OpenId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_JSON_MEDIA = "application/json; encoding=utf-8"


def _sim(request: Request) -> WeChatSimulator:
    sim: WeChatSimulator = service_of(request)
    return sim


SimDep = Annotated[WeChatSimulator, Depends(_sim)]


class FollowIn(BaseModel):
    ticket: str | None = Field(default=None, max_length=512)
    scene: str | None = Field(default=None, min_length=1, max_length=64)
    subscribe_scene: str = Field(default="ADD_SCENE_SEARCH", pattern=r"^ADD_SCENE_[A-Z_]+$")


class ScanIn(BaseModel):
    ticket: str | None = Field(default=None, max_length=512)
    scene: str | None = Field(default=None, min_length=1, max_length=64)


class ClickIn(BaseModel):
    key: str = Field(min_length=1, max_length=128)


class ViewIn(BaseModel):
    url: str = Field(min_length=1, max_length=1024)


class TextIn(BaseModel):
    content: str = Field(min_length=1, max_length=2048)


class ImageIn(BaseModel):
    png_base64: str = Field(min_length=4, max_length=16 * 1024 * 1024)

    def image(self) -> bytes:
        try:
            return base64.b64decode(self.png_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(422, detail="png_base64 is not Base64") from None


class ConsentIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=128)
    long_term: bool = False


class MemberIn(BaseModel):
    openid: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    following: bool = True


class MemberPatch(BaseModel):
    blocks_templates: bool


class FaultIn(BaseModel):
    api: str = Field(min_length=1, max_length=64, description="API path under /cgi-bin, or '*'")
    errcode: int
    count: int = Field(default=1, ge=1, le=10_000)
    errmsg: str | None = Field(default=None, max_length=256)


class AdvanceIn(BaseModel):
    seconds: float = Field(ge=0, le=10 * 365 * 86_400)


def _max_body(settings: WeChatSimSettings) -> int:
    largest = max(settings.media_image_max_bytes, settings.media_video_max_bytes, settings.media_voice_max_bytes)
    return largest + 1024 * 1024


def create_app(
    settings: WeChatSimSettings,
    *,
    simulator: WeChatSimulator | None = None,
    clock: Clock | None = None,
    sender: PushSender | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def open_simulator() -> AsyncIterator[WeChatSimulator]:
        async with bootstrap(settings, simulator=simulator, clock=clock, sender=sender) as sim:
            log.info("wechat simulator ready", accounts=sim.platform.appids)
            yield sim

    app = create_service_app(
        settings,
        title="WeChat Official Account platform simulator",
        summary="The platform's /cgi-bin API and webhook pushes, in memory, for local runs and tests.",
        bootstrap=open_simulator,
        readiness={},
        errors={UnknownAccount: 404, UnknownMember: 404, InvalidAction: 409},
    )

    @app.exception_handler(ApiError)
    async def _refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse({"detail": exc.errmsg, "errcode": exc.errcode}, status_code=422)

    # -- the platform ------------------------------------------------------------------------------

    @app.get("/cgi-bin/showqrcode", summary="A QR code's image (no token: it is public)")
    async def show_qrcode(sim: SimDep, ticket: Annotated[str, Query(max_length=512)]) -> Response:
        try:
            png = sim.qr_png(ticket)
        except ApiError as error:
            return JSONResponse(sim.platform.error_body(error), status_code=404)
        return Response(png, media_type="image/png")

    @app.api_route("/cgi-bin/{api:path}", methods=["GET", "POST"], summary="The platform API")
    async def cgi_bin(api: str, request: Request, sim: SimDep) -> Response:
        body = await read_body(request.scope, request.receive, _max_body(settings))
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

    # -- members act -------------------------------------------------------------------------------

    member_path = "/sim/accounts/{appid}/members/{openid}"

    @app.post(f"{member_path}/follow", summary="Follow (through a QR code with ticket or scene)")
    async def follow(appid: AppId, openid: OpenId, sim: SimDep, body: FollowIn | None = None) -> Any:
        body = body or FollowIn()
        outcome = await sim.follow(
            appid, openid, ticket=body.ticket, scene=body.scene, subscribe_scene=body.subscribe_scene
        )
        return outcome.as_json()

    @app.post(f"{member_path}/scan", summary="A follower scans a parametric QR code")
    async def scan(appid: AppId, openid: OpenId, body: ScanIn, sim: SimDep) -> Any:
        return (await sim.scan(appid, openid, ticket=body.ticket, scene=body.scene)).as_json()

    @app.post(f"{member_path}/poster", summary="Scan the QR code in a poster image (follow or SCAN)")
    async def poster(appid: AppId, openid: OpenId, body: ImageIn, sim: SimDep) -> Any:
        return (await sim.follow_by_poster(appid, openid, body.image())).as_json()

    @app.post(f"{member_path}/unfollow", summary="Unfollow")
    async def unfollow(appid: AppId, openid: OpenId, sim: SimDep) -> Any:
        return (await sim.unfollow(appid, openid)).as_json()

    @app.post(f"{member_path}/click", summary="Tap a menu button (CLICK)")
    async def click(appid: AppId, openid: OpenId, body: ClickIn, sim: SimDep) -> Any:
        return (await sim.click(appid, openid, body.key)).as_json()

    @app.post(f"{member_path}/view", summary="Tap a menu link (VIEW)")
    async def view(appid: AppId, openid: OpenId, body: ViewIn, sim: SimDep) -> Any:
        return (await sim.view(appid, openid, body.url)).as_json()

    @app.post(f"{member_path}/text", summary="Write a text message")
    async def text(appid: AppId, openid: OpenId, body: TextIn, sim: SimDep) -> Any:
        return (await sim.text(appid, openid, body.content)).as_json()

    @app.post(f"{member_path}/image", summary="Send a picture")
    async def image(appid: AppId, openid: OpenId, body: ImageIn, sim: SimDep) -> Any:
        return (await sim.image(appid, openid, body.image())).as_json()

    @app.post(f"{member_path}/consent", summary="Accept a subscription notice (43101 no more)")
    async def consent(appid: AppId, openid: OpenId, body: ConsentIn, sim: SimDep) -> Any:
        return (await sim.consent(appid, openid, body.template_id, long_term=body.long_term)).as_json()

    # -- state ---------------------------------------------------------------------------------------

    @app.get("/sim/accounts", summary="Accounts, their push mode and gateway")
    async def accounts(sim: SimDep) -> Any:
        return {"accounts": sim.platform.accounts(), "apis": api_paths()}

    @app.get("/sim/accounts/{appid}/members", summary="Members of an account")
    async def members(appid: AppId, sim: SimDep) -> Any:
        return {"members": sim.platform.members(appid)}

    @app.post("/sim/accounts/{appid}/members", status_code=201, summary="Add a member silently (no push)")
    async def add_member(appid: AppId, body: MemberIn, sim: SimDep) -> Any:
        return sim.add_member(appid, body.openid, following=body.following)

    @app.get(member_path, summary="One member")
    async def member(appid: AppId, openid: OpenId, sim: SimDep) -> Any:
        return sim.platform.member(appid, openid)

    @app.patch(member_path, summary="Member preferences (refuse template messages)")
    async def update_member(appid: AppId, openid: OpenId, body: MemberPatch, sim: SimDep) -> Any:
        return sim.platform.update_member(appid, openid, blocks_templates=body.blocks_templates)

    @app.get(f"{member_path}/inbox", summary="What the member received, oldest first")
    async def inbox(appid: AppId, openid: OpenId, sim: SimDep, after: Annotated[int, Query(ge=0)] = 0) -> Any:
        return {"messages": [entry.as_json() for entry in sim.inbox(appid, openid, after=after)]}

    @app.get("/sim/accounts/{appid}/faults", summary="Injected failures still to come")
    async def faults(appid: AppId, sim: SimDep) -> Any:
        return {"faults": sim.platform.faults(appid)}

    @app.post("/sim/accounts/{appid}/faults", status_code=201, summary="The next N calls to an API fail")
    async def add_fault(appid: AppId, body: FaultIn, sim: SimDep) -> Any:
        sim.inject_fault(appid, body.api, body.errcode, count=body.count, errmsg=body.errmsg)
        return {"faults": sim.platform.faults(appid)}

    @app.delete("/sim/accounts/{appid}/faults", summary="Forget injected failures")
    async def clear_faults(appid: AppId, sim: SimDep) -> Any:
        sim.platform.clear_faults(appid)
        return {"faults": []}

    @app.get("/sim/accounts/{appid}/qrcodes", summary="QR tickets issued")
    async def qrcodes(appid: AppId, sim: SimDep) -> Any:
        return {"qrcodes": sim.platform.tickets(appid)}

    @app.get("/sim/accounts/{appid}/pushes", summary="Recent pushes to the gateway and what came back")
    async def pushes(appid: AppId, sim: SimDep) -> Any:
        sim.platform.wire(appid)
        return {"pushes": [outcome.as_json() for outcome in sim.pushes(appid)]}

    @app.post("/sim/pushes/flush", summary="Send owed job-finish pushes now")
    async def flush(sim: SimDep) -> Any:
        return {"pushes": [outcome.as_json() for outcome in await sim.deliver_pending()]}

    @app.get("/sim/clock", summary="The simulator's time")
    async def read_clock(sim: SimDep) -> Any:
        return {"now": sim.clock.now()}

    @app.post("/sim/clock/advance", summary="Move the simulator's time forward")
    async def advance_clock(body: AdvanceIn, sim: SimDep) -> Any:
        sim.clock.advance(body.seconds)
        return {"now": sim.clock.now()}

    @app.get("/sim/media/pic/{media_id}", summary="A member's picture (PicUrl of image pushes)")
    async def picture(media_id: Annotated[str, Path(max_length=128)], sim: SimDep) -> Response:
        try:
            item = sim.platform.picture(media_id)
        except ApiError as error:
            return JSONResponse(sim.platform.error_body(error), status_code=404)
        return Response(item.content, media_type=item.content_type)

    return app


def _answer(result: dict[str, Any] | BinaryResponse) -> Response:
    if isinstance(result, BinaryResponse):
        disposition = f'attachment; filename="{result.filename}"'
        return Response(result.content, media_type=result.content_type, headers={"Content-Disposition": disposition})
    return JSONResponse(result, media_type=_JSON_MEDIA)
