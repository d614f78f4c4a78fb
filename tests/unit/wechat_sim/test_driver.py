"""The simulator's pushes, received by a small gateway stand-in that checks them with shared.wechat.

The stand-in is served in-process through ``httpx.ASGITransport``; each test scripts its answers
(status codes, delays, passive replies) and looks at what it received.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from services.gateway.adapters.ledger import MemoryPushLedger
from services.gateway.adapters.replies import NoReplyRules
from services.gateway.entrypoints.http import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.wechat_sim.adapters.push_sender import HttpPushSender
from services.wechat_sim.bootstrap import build_simulator
from services.wechat_sim.domain.clock import ManualClock
from services.wechat_sim.domain.errors import InvalidAction
from services.wechat_sim.domain.members import SERVICE_UNAVAILABLE
from services.wechat_sim.entrypoints.http import create_app
from services.wechat_sim.service_layer.platform import ApiRequest
from services.wechat_sim.service_layer.simulator import WeChatSimulator
from services.wechat_sim.settings import WeChatSimSettings
from shared.contracts import CATALOG, MemberFollowed
from shared.wechat import MessageCrypto, check_signature, parse_xml, seal_reply, signature, to_xml
from tests.accounts import AES_KEY, account
from tests.fakes.publisher import FakePublisher
from tests.unit.wechat_sim.conftest import START

PLAIN, COMPAT, SAFE = "wxplain000001", "wxcompat00001", "wxsafe0000001"
TOKENS = {PLAIN: "plain-token", COMPAT: "compat-token", SAFE: "safe-token"}


def make_settings(**overrides: object) -> WeChatSimSettings:
    accounts = [
        account(appid, token=token, encoding_aes_key=AES_KEY, secret=f"secret-{appid}-0123456789")
        for appid, token in TOKENS.items()
    ]
    values: dict[str, object] = {
        "environment": "test",
        "wechat_accounts": accounts,
        "wechat_sim_options": {
            COMPAT: {"mode": "compatible"},
            SAFE: {"mode": "safe", "original_id": "gh_safe00000001"},
        },
        "default_gateway_url": "http://gateway.test/wechat/{appid}",
        "public_url": "http://sim.test",
        "push_timeout_seconds": 0.2,
        "job_push_delay_seconds": 3600,
    } | overrides
    return WeChatSimSettings(**values)  # type: ignore[arg-type]


@dataclass
class Received:
    appid: str
    params: dict[str, str]
    body: bytes
    #: the push's fields, decrypted when it came encrypted
    message: dict[str, str]

    def reply_xml(self, msg_type: str, **fields: str | dict[str, str]) -> bytes:
        header: dict[str, str | int | dict[str, str]] = {
            "ToUserName": self.message["FromUserName"],
            "FromUserName": self.message["ToUserName"],
            "CreateTime": int(self.message["CreateTime"]),
            "MsgType": msg_type,
        }
        header.update(fields)
        return to_xml(header)


#: What the stand-in does for one request: a status code, a delay in seconds before "success",
#: a body to answer 200 with, or a function of the request giving that body.
Answer = int | float | bytes | Callable[[Received], bytes]


@dataclass
class GatewayStandIn:
    """Verifies every push like our gateway must (signature, msg_signature, decryption)."""

    received: list[Received] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.post("/wechat/{appid}")
        async def receive(appid: str, request: Request) -> Response:
            params = dict(request.query_params)
            body = await request.body()
            token = TOKENS[appid]
            if not check_signature(token, params["signature"], params["timestamp"], params["nonce"]):
                return Response("bad signature", status_code=403)
            message = parse_xml(body)
            if params.get("encrypt_type") == "aes":
                encrypted = message["Encrypt"]
                if signature(token, params["timestamp"], params["nonce"], encrypted) != params["msg_signature"]:
                    return Response("bad msg_signature", status_code=403)
                message = parse_xml(MessageCrypto(appid, AES_KEY).decrypt(encrypted))
            received = Received(appid, params, body, message)
            self.received.append(received)
            answer: Answer = self.answers.pop(0) if self.answers else b"success"
            if isinstance(answer, bool):
                raise TypeError("scripted answers are int, float, bytes or callables")
            if isinstance(answer, int):
                return Response(b"", status_code=answer)
            if isinstance(answer, float):
                await asyncio.sleep(answer)
                return Response(b"success")
            if isinstance(answer, bytes):
                return Response(answer)
            return Response(answer(received), media_type="application/xml")


def sealed(received: Received, reply: bytes) -> bytes:
    """An encrypted passive reply, reusing the push's timestamp and nonce as the SDKs do."""
    crypto = MessageCrypto(received.appid, AES_KEY)
    params = received.params
    return seal_reply(
        reply, token=TOKENS[received.appid], crypto=crypto, timestamp=params["timestamp"], nonce=params["nonce"]
    )


@pytest.fixture
def gateway() -> GatewayStandIn:
    return GatewayStandIn()


@pytest.fixture
async def client(gateway: GatewayStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app)) as http:
        yield http


@pytest.fixture
def sim(client: httpx.AsyncClient, clock: ManualClock) -> WeChatSimulator:
    return build_simulator(make_settings(), clock=clock, sender=HttpPushSender(client))


def token_for(sim: WeChatSimulator, appid: str) -> str:
    body = f'{{"grant_type":"client_credential","appid":"{appid}","secret":"secret-{appid}-0123456789"}}'.encode()
    result = sim.platform.call("stable_token", ApiRequest("POST", {}, body))
    assert isinstance(result, dict)
    value: str = result["access_token"]
    return value


# -- the three modes ---------------------------------------------------------------------------------


async def test_plaintext_follow_through_a_qr_scene(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    outcome = await sim.follow(PLAIN, "o_mum", scene="poster-7")
    assert outcome.acknowledged and outcome.statuses == [200] and outcome.reply is None
    [push] = gateway.received
    assert "encrypt_type" not in push.params and push.params["openid"] == "o_mum"
    assert push.params["timestamp"] == str(int(START))
    assert push.message["MsgType"] == "event" and push.message["Event"] == "subscribe"
    assert push.message["EventKey"] == "qrscene_poster-7" and push.message["Ticket"] == outcome.fields["Ticket"]
    assert push.message["ToUserName"] == sim.settings.original_id(PLAIN)
    assert push.message["CreateTime"] == str(int(START))
    assert sim.inbox(PLAIN, "o_mum") == []


async def test_compatible_mode_carries_plaintext_and_encrypt(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    await sim.follow(COMPAT, "o_c")
    gateway.answers = [
        lambda r: r.reply_xml("text", Content="明文回复"),
        lambda r: sealed(r, r.reply_xml("text", Content="密文回复")),
    ]
    first = await sim.text(COMPAT, "o_c", "你好")
    second = await sim.text(COMPAT, "o_c", "再问一次")
    push = gateway.received[1]
    assert push.params["encrypt_type"] == "aes"
    outer = parse_xml(push.body)
    assert outer["Content"] == "你好" and outer["MsgType"] == "text" and "Encrypt" in outer
    assert push.message["Content"] == "你好" and push.message["MsgId"] == outer["MsgId"]
    assert int(push.message["MsgId"]) > 2**53  # a real 64-bit id
    assert first.reply is not None and not first.reply.encrypted
    assert second.reply is not None and second.reply.encrypted
    assert [m.payload["content"] for m in sim.inbox(COMPAT, "o_c")] == ["明文回复", "密文回复"]


async def test_safe_mode_encrypts_and_needs_an_encrypted_reply(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    await sim.follow(SAFE, "o_s")
    gateway.answers = [
        lambda r: sealed(r, r.reply_xml("text", Content="您好，请问宝宝多大了？")),
        lambda r: r.reply_xml("text", Content="明文不行"),
    ]
    outcome = await sim.text(SAFE, "o_s", "咨询")
    push = gateway.received[1]
    assert parse_xml(push.body).keys() == {"ToUserName", "Encrypt"}
    assert parse_xml(push.body)["ToUserName"] == "gh_safe00000001"
    assert push.message["Content"] == "咨询" and push.message["FromUserName"] == "o_s"
    assert outcome.reply is not None and outcome.reply.encrypted
    assert outcome.inbox_entry is not None and outcome.inbox_entry.channel == "passive"
    refused = await sim.text(SAFE, "o_s", "再问")
    assert refused.acknowledged and refused.reply_error == "safe mode needs an encrypted reply"
    inbox = sim.inbox(SAFE, "o_s")
    assert [(m.channel, m.payload["content"]) for m in inbox] == [
        ("passive", "您好，请问宝宝多大了？"),
        ("platform", SERVICE_UNAVAILABLE),
    ]


async def test_a_reply_for_someone_else_or_garbage_is_not_shown(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    await sim.follow(PLAIN, "o_g")

    def wrong_user(received: Received) -> bytes:
        return received.reply_xml("text", Content="x").replace(b"o_g", b"o_other")

    gateway.answers = [b'{"errcode": 0}', wrong_user]
    garbage = await sim.text(PLAIN, "o_g", "a")
    misaddressed = await sim.text(PLAIN, "o_g", "b")
    assert garbage.reply_error is not None and garbage.reply_error.startswith("not a reply")
    assert misaddressed.reply_error == "reply ToUserName/FromUserName do not match the push"
    assert [m.channel for m in sim.inbox(PLAIN, "o_g")] == ["platform", "platform"]


# -- retries --------------------------------------------------------------------------------------------


async def test_5xx_is_retried_with_the_same_params_and_body(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    gateway.answers = [500, 503, b"success"]
    outcome = await sim.follow(SAFE, "o_r")
    assert outcome.statuses == [500, 503, 200] and outcome.acknowledged
    first, *retries = gateway.received
    assert all(r.params == first.params and r.body == first.body for r in retries) and len(retries) == 2
    assert sim.inbox(SAFE, "o_r") == []


async def test_timeouts_are_retried(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    gateway.answers = [1.0, b"success"]
    started = time.monotonic()
    outcome = await sim.follow(PLAIN, "o_slow")
    assert time.monotonic() - started < 1.0  # the slow attempt was abandoned after 0.2 s
    assert [a.error for a in outcome.attempts] == ["timeout", None] and outcome.statuses == [None, 200]
    assert gateway.received[0].body == gateway.received[1].body


async def test_after_three_failures_the_member_sees_the_platform_notice(
    sim: WeChatSimulator, gateway: GatewayStandIn
) -> None:
    await sim.follow(PLAIN, "o_f")
    gateway.answers = [1.0, 502, 1.0]
    outcome = await sim.text(PLAIN, "o_f", "有人吗")
    assert not outcome.acknowledged and len(outcome.attempts) == 3 and outcome.statuses == [None, 502, None]
    [notice] = sim.inbox(PLAIN, "o_f")
    assert notice.channel == "platform" and notice.payload == {"content": "该公众号暂时无法提供服务，请稍后再试"}


async def test_4xx_is_not_retried(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    gateway.answers = [400]
    outcome = await sim.follow(PLAIN, "o_4")
    assert outcome.statuses == [400] and not outcome.acknowledged


async def test_an_unreachable_gateway_is_retried_then_given_up(clock: ManualClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        sim = build_simulator(make_settings(push_attempts=2), clock=clock, sender=HttpPushSender(http))
        outcome = await sim.follow(PLAIN, "o_u")
    assert [a.error for a in outcome.attempts] == ["ConnectError: connection refused"] * 2
    assert [m.channel for m in sim.inbox(PLAIN, "o_u")] == ["platform"]


# -- events and messages ------------------------------------------------------------------------------------


async def test_scan_by_a_follower_has_no_prefix(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    token = token_for(sim, PLAIN)
    create = b'{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":17}}}'
    result = sim.platform.call("qrcode/create", ApiRequest("POST", {"access_token": token}, create))
    assert isinstance(result, dict)
    await sim.follow(PLAIN, "o_scan")
    await sim.scan(PLAIN, "o_scan", ticket=result["ticket"])
    scan = gateway.received[-1].message
    assert (scan["Event"], scan["EventKey"], scan["Ticket"]) == ("SCAN", "17", result["ticket"])
    await sim.click(PLAIN, "o_scan", "MENU_VIP")
    await sim.view(PLAIN, "o_scan", "https://example.com/vip")
    await sim.unfollow(PLAIN, "o_scan")
    events = [(p.message["Event"], p.message.get("EventKey")) for p in gateway.received[-3:]]
    assert events == [("CLICK", "MENU_VIP"), ("VIEW", "https://example.com/vip"), ("unsubscribe", None)]


async def test_replies_to_unfollow_and_job_pushes_are_not_shown(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    await sim.follow(PLAIN, "o_bye")
    template = b'{"touser":"o_bye","template_id":"T","data":{}}'
    sim.platform.call("message/template/send", ApiRequest("POST", {"access_token": token_for(sim, PLAIN)}, template))
    gateway.answers = [lambda r: r.reply_xml("text", Content="收到")] * 2
    [job] = await sim.deliver_pending()
    assert job.kind == "TEMPLATESENDJOBFINISH" and job.reply is not None and job.inbox_entry is None
    assert gateway.received[-1].message["MsgID"] == str(job.fields["MsgID"])
    bye = await sim.unfollow(PLAIN, "o_bye")
    assert bye.reply is not None and bye.inbox_entry is None
    assert [m.channel for m in sim.inbox(PLAIN, "o_bye")] == ["template"]


async def test_member_picture_is_served_by_the_sim(
    sim: WeChatSimulator, gateway: GatewayStandIn, client: httpx.AsyncClient
) -> None:
    await sim.follow(PLAIN, "o_pic")
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "pink").save(picture, format="PNG")
    outcome = await sim.image(PLAIN, "o_pic", picture.getvalue())
    push = gateway.received[-1].message
    assert push["MsgType"] == "image" and int(push["MsgId"]) > 2**53
    assert push["PicUrl"] == f"http://sim.test/sim/media/pic/{push['MediaId']}"
    with TestClient(create_app(sim.settings, simulator=sim)) as http:
        served = http.get(push["PicUrl"].removeprefix("http://sim.test"))
        media = http.get(
            "/cgi-bin/media/get", params={"access_token": token_for(sim, PLAIN), "media_id": push["MediaId"]}
        )
    assert served.content == media.content == picture.getvalue()
    assert outcome.acknowledged


async def test_an_image_reply_needs_uploaded_media(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    await sim.follow(SAFE, "o_img")
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(picture, format="PNG")
    with TestClient(create_app(sim.settings, simulator=sim)) as http:
        uploaded = http.post(
            "/cgi-bin/media/upload",
            params={"access_token": token_for(sim, SAFE), "type": "image"},
            files={"media": ("a.png", picture.getvalue(), "image/png")},
        ).json()
    gateway.answers = [
        lambda r: sealed(r, r.reply_xml("image", Image={"MediaId": "never-uploaded"})),
        lambda r: sealed(r, r.reply_xml("image", Image={"MediaId": uploaded["media_id"]})),
    ]
    refused = await sim.text(SAFE, "o_img", "发张图")
    shown = await sim.text(SAFE, "o_img", "再发")
    assert refused.reply_error is not None and "invalid media_id" in refused.reply_error
    assert shown.inbox_entry is not None and shown.inbox_entry.payload == {"media_id": uploaded["media_id"]}
    assert [m.channel for m in sim.inbox(SAFE, "o_img")] == ["platform", "passive"]


# -- QR posters ------------------------------------------------------------------------------------------


async def test_follow_by_scanning_a_poster(sim: WeChatSimulator, gateway: GatewayStandIn) -> None:
    token = token_for(sim, PLAIN)
    create = b'{"expire_seconds":604800,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"mall-B2"}}}'
    result = sim.platform.call("qrcode/create", ApiRequest("POST", {"access_token": token}, create))
    assert isinstance(result, dict)
    with TestClient(create_app(sim.settings, simulator=sim)) as http:
        png = http.get("/cgi-bin/showqrcode", params={"ticket": result["ticket"]}).content
    poster = Image.new("RGB", (1080, 1600), (250, 236, 240))
    draw = ImageDraw.Draw(poster)
    draw.rectangle((60, 60, 1020, 700), fill=(240, 180, 190))
    draw.text((80, 760), "扫码加入孕妈课堂 / scan to join", fill="black")
    code = Image.open(io.BytesIO(png)).convert("RGB").resize((360, 360), Image.Resampling.NEAREST)
    poster.paste(code, (360, 1000))
    buffer = io.BytesIO()
    poster.save(buffer, format="JPEG", quality=90)

    followed = await sim.follow_by_poster(PLAIN, "o_poster", buffer.getvalue())
    assert followed.fields["Event"] == "subscribe" and followed.fields["EventKey"] == "qrscene_mall-B2"
    assert followed.fields["Ticket"] == result["ticket"]
    again = await sim.follow_by_poster(PLAIN, "o_poster", buffer.getvalue())
    assert (again.fields["Event"], again.fields["EventKey"]) == ("SCAN", "mall-B2")
    with pytest.raises(InvalidAction, match="no QR code"):
        await sim.follow_by_poster(PLAIN, "o_poster", png[:40])


async def test_poster_http_route_and_expired_posters(sim: WeChatSimulator, clock: ManualClock) -> None:
    token = token_for(sim, PLAIN)
    create = b'{"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":88}}}'  # 60 s by default
    result = sim.platform.call("qrcode/create", ApiRequest("POST", {"access_token": token}, create))
    assert isinstance(result, dict)
    png = sim.qr_png(result["ticket"])
    with TestClient(create_app(sim.settings, simulator=sim)) as http:
        body = {"png_base64": base64.b64encode(png).decode()}
        ok = http.post(f"/sim/accounts/{PLAIN}/members/o_h/poster", json=body)
        assert ok.status_code == 200 and ok.json()["fields"]["EventKey"] == "qrscene_88"
        clock.advance(60)
        late = http.post(f"/sim/accounts/{PLAIN}/members/o_h2/poster", json=body)
        assert late.status_code == 409 and "expired" in late.json()["detail"]


# -- over HTTP, and into the real gateway ---------------------------------------------------------------------


async def test_drive_over_http_returns_the_outcome(gateway: GatewayStandIn, client: httpx.AsyncClient) -> None:
    app = create_app(make_settings(), clock=ManualClock(START), sender=HttpPushSender(client))
    gateway.answers = [500, lambda r: sealed(r, r.reply_xml("text", Content="欢迎关注"))]
    with TestClient(app) as http:
        outcome = http.post(f"/sim/accounts/{SAFE}/members/o_http/follow", json={"scene": "web"}).json()
        inbox = http.get(f"/sim/accounts/{SAFE}/members/o_http/inbox").json()["messages"]
    assert [a["status"] for a in outcome["attempts"]] == [500, 200]
    assert outcome["params"]["encrypt_type"] == "aes" and outcome["reply"]["encrypted"] is True
    assert [(m["channel"], m["payload"]["content"]) for m in inbox] == [("passive", "欢迎关注")]


async def test_the_real_gateway_accepts_plaintext_pushes() -> None:
    # The gateway refuses pushes signed too far from its own time, so this simulator runs on real time.
    clock = ManualClock(time.time())
    publisher = FakePublisher()
    settings = GatewaySettings(
        environment="test",
        wechat_accounts=[account(PLAIN, token=TOKENS[PLAIN], encoding_aes_key=AES_KEY, secret="s" * 16)],
        accounts_from_mongodb=False,  # a unit test: no MongoDB behind the gateway
    )
    real_gateway = create_gateway(settings, publisher=publisher, ledger=MemoryPushLedger(), rules=NoReplyRules())
    async with (
        real_gateway.router.lifespan_context(real_gateway),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=real_gateway)) as http,
    ):
        sim = build_simulator(make_settings(), clock=clock, sender=HttpPushSender(http))
        outcome = await sim.follow(PLAIN, "o_real", scene="poster-1")
        await sim.follow(PLAIN, "o_real2")
    assert outcome.statuses == [200] and outcome.answer == b"success"
    event = CATALOG.decode(publisher.published[0][1])
    assert isinstance(event, MemberFollowed) and event.openid == "o_real" and event.scene == "poster-1"
    assert event.ticket == outcome.fields["Ticket"]
