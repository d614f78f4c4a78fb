"""The webhook gateway through its real HTTP app, with fakes behind the same ports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from scrm_dev import pushes
from services.gateway.adapters.ledger import MemoryPushLedger
from services.gateway.domain.replies import ImageReply, ReplyRule, TextReply, Trigger
from services.gateway.entrypoints.http import create_app
from services.gateway.service_layer.ports import Claim, ClaimResult
from services.gateway.settings import GatewaySettings
from shared.contracts import (
    CATALOG,
    WECHAT_PUSHES,
    ImageMessageReceived,
    MassSendFinished,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    MenuLinkOpened,
    PushReceived,
    QrCodeScanned,
    TemplateSendFinished,
    TextMessageReceived,
)
from shared.events import Message
from shared.wechat import MessageCrypto, Mode, open_reply, parse_xml, signature, to_xml
from tests.accounts import AES_KEY, account
from tests.fakes.publisher import FakePublisher
from tests.fakes.push_ledger import BrokenLedger
from tests.fakes.reply_rules import FakeRules

TOKEN = "gw-token"
APPID = "wxgateway0000001"
OLD_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


@dataclass
class Harness:
    client: TestClient
    publisher: FakePublisher
    crypto: MessageCrypto

    def post(
        self,
        body: bytes,
        *,
        openid: str = "o1",
        mode: Mode = Mode.PLAINTEXT,
        token: str = TOKEN,
        appid: str = APPID,
        timestamp: int | None = None,
        crypto: MessageCrypto | None = None,
    ) -> httpx2.Response:
        signed = pushes.sign(
            token,
            body,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            openid=openid,
            mode=mode,
            crypto=crypto or self.crypto,
        )
        return self.client.post(f"/wechat/{appid}", params=signed.params, content=signed.body)

    def events(self) -> list[Message]:
        return [CATALOG.decode(envelope) for _, envelope in self.publisher.published]


def make(
    *,
    previous_key: str | None = None,
    rules: FakeRules | None = None,
    ledger: Any = None,
    publisher: FakePublisher | None = None,
) -> Iterator[Harness]:
    gateway_account = account(APPID, token=TOKEN, encoding_aes_key=AES_KEY, secret="app-secret-0123456789")
    if previous_key:
        gateway_account["previous_encoding_aes_key"] = previous_key
    # Static accounts and fakes only: unit tests touch no MongoDB.
    settings = GatewaySettings(
        environment="test", max_body_bytes=4096, wechat_accounts=[gateway_account], accounts_from_mongodb=False
    )
    fake = publisher or FakePublisher()
    app = create_app(settings, publisher=fake, ledger=ledger or MemoryPushLedger(), rules=rules or FakeRules())
    with TestClient(app) as client:
        yield Harness(client, fake, MessageCrypto(APPID, AES_KEY))


@pytest.fixture
def gw() -> Iterator[Harness]:
    yield from make()


NOW = int(time.time())


# --- URL verification --------------------------------------------------------------------------


def test_url_verification_echoes_and_refuses_forgeries(gw: Harness) -> None:
    ts, nonce = "1714036504", "1514711492"
    params = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "4375120948"}
    response = gw.client.get(f"/wechat/{APPID}", params=params)
    assert response.status_code == 200 and response.text == "4375120948"
    assert gw.client.get(f"/wechat/{APPID}", params=params | {"signature": "0" * 40}).status_code == 403
    assert gw.client.get("/wechat/wxnobody", params=params).status_code == 404


# --- the three modes ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_is_accepted_and_published_keyed_by_openid(gw: Harness, mode: Mode) -> None:
    response = gw.post(pushes.follow("o1", NOW, scene="poster-7"), mode=mode)
    assert response.status_code == 200 and response.text == "success"
    [(topic, envelope)] = gw.publisher.published
    assert topic is WECHAT_PUSHES and (envelope.appid, envelope.key) == (APPID, "o1")
    event = CATALOG.decode(envelope)
    assert isinstance(event, MemberFollowed) and event.scene == "poster-7"


def test_key_rotation_accepts_the_previous_key() -> None:
    for gw in make(previous_key=OLD_KEY):
        old = MessageCrypto(APPID, OLD_KEY)
        assert gw.post(pushes.follow("o1", NOW), mode=Mode.SAFE, crypto=old).status_code == 200
        stranger = MessageCrypto(APPID, "Q" * 43)
        response = gw.post(pushes.follow("o2", NOW), mode=Mode.SAFE, crypto=stranger)
        assert response.status_code == 403
        assert "current or previous" in response.json()["detail"]


def test_a_push_encrypted_for_another_appid_is_refused(gw: Harness) -> None:
    other = MessageCrypto("wxotheraccount01", AES_KEY)
    response = gw.post(pushes.follow("o1", NOW), mode=Mode.SAFE, crypto=other)
    assert response.status_code == 403 and "appid" in response.json()["detail"]
    assert gw.publisher.published == []


def test_bad_msg_signature_is_refused(gw: Harness) -> None:
    signed = pushes.sign(
        TOKEN, pushes.follow("o1", NOW), timestamp=int(time.time()), openid="o1", mode=Mode.SAFE, crypto=gw.crypto
    )
    params = signed.params | {"msg_signature": "f" * 40}
    response = gw.client.post(f"/wechat/{APPID}", params=params, content=signed.body)
    assert response.status_code == 403 and response.json()["detail"] == "msg_signature mismatch"


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_stale_or_future_timestamps_are_refused_as_replays(gw: Harness, skew: int) -> None:
    response = gw.post(pushes.follow("o1", NOW), timestamp=int(time.time()) + skew)
    assert response.status_code == 403 and "window" in response.json()["detail"]
    assert gw.publisher.published == []


def test_forged_signature_and_unknown_account(gw: Harness) -> None:
    assert gw.post(pushes.follow("o1", NOW), token="wrong").status_code == 403
    missing = gw.post(pushes.follow("o1", NOW), appid="wxnobody")
    assert missing.status_code == 404 and "wxnobody" in missing.json()["detail"]
    assert gw.publisher.published == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml>&a;</xml>', 400, "declarations"),
        (b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml/>', 400, "declarations"),
        (b"<xml><ToUserName>gh</ToUserName>", 400, "malformed XML"),
        (b"<notxml/>", 400, "root element"),
        (b"<xml><ToUserName>gh</ToUserName></xml>", 400, "missing FromUserName"),
        (b"x" * 5000, 413, "larger than 4096"),
    ],
)
def test_hostile_or_broken_bodies_get_a_clear_4xx(gw: Harness, body: bytes, status: int, reason: str) -> None:
    response = gw.post(body)
    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert gw.publisher.published == []


def test_safe_mode_without_encrypt_and_odd_encrypt_types(gw: Harness) -> None:
    ts, nonce = str(int(time.time())), "n1"
    params = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    no_encrypt = gw.client.post(
        f"/wechat/{APPID}", params=params | {"encrypt_type": "aes", "msg_signature": "x"}, content=b"<xml></xml>"
    )
    assert no_encrypt.status_code == 400 and "without <Encrypt>" in no_encrypt.json()["detail"]
    odd = gw.client.post(f"/wechat/{APPID}", params=params | {"encrypt_type": "rot13"}, content=b"<xml/>")
    assert odd.status_code == 400


def test_missing_query_fields_are_422_with_the_field(gw: Harness) -> None:
    response = gw.client.post(f"/wechat/{APPID}", params={"timestamp": "1", "nonce": "2"}, content=b"<xml/>")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "signature"]


# --- normalization -----------------------------------------------------------------------------


def test_every_push_type_in_the_reference_becomes_its_event(gw: Harness) -> None:
    bodies = [
        pushes.follow("o1", NOW),
        pushes.follow("o1", NOW + 1, scene="s-9"),
        pushes.scan("o1", NOW + 2, "s-9"),
        pushes.unfollow("o1", NOW + 3),
        pushes.click("o1", NOW + 4, "MENU_JOIN"),
        pushes.view("o1", NOW + 5, "https://shop.example/cart"),
        pushes.text("o1", NOW + 6, "我想了解孕期营养", 6_000_000_000_000_000_001),
        pushes.image("o1", NOW + 7, "https://sim/pic/1", "media-1", 6_000_000_000_000_000_002),
        pushes.template_finished("o1", NOW + 8, 1001, "failed:user block"),
        pushes.mass_finished("o1", NOW + 9, 2002, sent=9, errors=1),
        to_xml({"ToUserName": "gh", "FromUserName": "o1", "CreateTime": NOW, "MsgType": "location", "Label": "上海"}),
    ]
    for body in bodies:
        assert gw.post(body).status_code == 200
    events = gw.events()
    assert [type(event) for event in events] == [
        MemberFollowed,
        MemberFollowed,
        QrCodeScanned,
        MemberUnfollowed,
        MenuClicked,
        MenuLinkOpened,
        TextMessageReceived,
        ImageMessageReceived,
        TemplateSendFinished,
        MassSendFinished,
        PushReceived,
    ]
    follow, qr_follow, scan, _, click, view, text, image, template, mass, raw = events
    assert isinstance(follow, MemberFollowed) and follow.scene is None
    assert isinstance(qr_follow, MemberFollowed) and (qr_follow.scene, qr_follow.ticket) == ("s-9", "ticket-s-9")
    assert isinstance(scan, QrCodeScanned) and scan.scene == "s-9"
    assert isinstance(click, MenuClicked) and click.key == "MENU_JOIN"
    assert isinstance(view, MenuLinkOpened) and view.url.endswith("/cart")
    assert isinstance(text, TextMessageReceived) and text.msg_id == "6000000000000000001"
    assert isinstance(image, ImageMessageReceived) and image.media_id == "media-1"
    assert isinstance(template, TemplateSendFinished) and template.status == "failed:user block"
    assert isinstance(mass, MassSendFinished) and (mass.sent_count, mass.error_count) == (9, 1)
    assert isinstance(raw, PushReceived) and raw.fields["Label"] == "上海"


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_platform_retries_are_published_once(gw: Harness, mode: Mode) -> None:
    body = pushes.follow("o1", NOW)
    for _ in range(3):  # the platform sends the same push up to three times
        assert gw.post(body, mode=mode).status_code == 200
    gw.post(pushes.follow("o1", NOW + 1), mode=mode)
    gw.post(pushes.text("o1", NOW, "hi", 77), mode=mode)
    gw.post(pushes.text("o1", NOW + 5, "hi again, same MsgId", 77), mode=mode)
    assert len(gw.publisher.published) == 3


def test_a_failed_publish_is_not_remembered_so_the_retry_publishes() -> None:
    for gw in make(publisher=FakePublisher(failures=1)):
        body = pushes.follow("o1", NOW)
        assert gw.post(body).status_code == 503
        assert gw.post(body).status_code == 200
        assert gw.post(body).status_code == 200
        assert len(gw.publisher.published) == 1


def test_a_retry_while_the_first_is_in_flight_is_told_to_retry() -> None:
    class Busy(MemoryPushLedger):
        async def claim(self, key: str) -> ClaimResult:
            return ClaimResult(Claim.IN_FLIGHT)

    for gw in make(ledger=Busy()):
        response = gw.post(pushes.follow("o1", NOW))
        assert response.status_code == 503 and "still being handled" in response.json()["detail"]


def test_without_its_ledger_the_gateway_still_publishes() -> None:
    for gw in make(ledger=BrokenLedger()):
        assert gw.post(pushes.follow("o1", NOW)).text == "success"
        assert len(gw.publisher.published) == 1


# --- passive replies ---------------------------------------------------------------------------

RULES = [
    ReplyRule(Trigger.KEYWORD, "海报", TextReply("你的专属海报马上就到")),
    ReplyRule(Trigger.FOLLOW, "", TextReply("欢迎关注！")),
    ReplyRule(Trigger.CLICK, "MENU_POSTER", ImageReply("media-poster")),
]


def test_plaintext_passive_replies_by_rule() -> None:
    for gw in make(rules=FakeRules(RULES)):
        keyword = parse_xml(gw.post(pushes.text("o1", NOW, " 海报 ", 1)).content)
        assert (keyword["ToUserName"], keyword["MsgType"], keyword["Content"]) == ("o1", "text", "你的专属海报马上就到")
        assert keyword["FromUserName"] == pushes.ACCOUNT
        welcome = parse_xml(gw.post(pushes.follow("o2", NOW)).content)
        assert welcome["Content"] == "欢迎关注！"
        image = gw.post(pushes.click("o3", NOW, "MENU_POSTER")).content
        assert b"<Image><MediaId><![CDATA[media-poster]]></MediaId></Image>" in image
        assert gw.post(pushes.text("o4", NOW, "别的", 2)).text == "success"
        assert len(gw.publisher.published) == 4  # replies never replace publishing


def test_safe_mode_replies_are_encrypted_with_the_key_that_opened_the_push() -> None:
    for gw in make(rules=FakeRules(RULES), previous_key=OLD_KEY):
        old = MessageCrypto(APPID, OLD_KEY)
        response = gw.post(pushes.text("o1", NOW, "海报", 1), mode=Mode.SAFE, crypto=old)
        assert response.headers["content-type"].startswith("application/xml")
        assert parse_xml(open_reply(response.content, token=TOKEN, crypto=old))["Content"] == "你的专属海报马上就到"


def test_a_retry_gets_the_same_reply() -> None:
    for gw in make(rules=FakeRules(RULES)):
        body = pushes.text("o1", NOW, "海报", 5)
        first, second = gw.post(body).content, gw.post(body).content
        assert first == second and b"<MsgType><![CDATA[text]]></MsgType>" in first
        assert len(gw.publisher.published) == 1


def test_broken_rule_store_means_a_plain_success() -> None:
    for gw in make(rules=FakeRules(broken=True)):
        assert gw.post(pushes.text("o1", NOW, "海报", 1)).text == "success"


# --- operations --------------------------------------------------------------------------------


def test_operations_endpoints(gw: Harness) -> None:
    assert gw.client.get("/healthz").json() == {"status": "ok"}
    assert gw.client.get("/readyz").status_code == 200
    gw.post(pushes.follow("o1", NOW))
    metrics = gw.client.get("/metrics").text
    assert 'method="POST",route="/wechat/{appid}"' in metrics


# --- the push fast path (outside the operator middleware) ---------------------------------------


class _FlakyAccounts:
    """An account directory whose storage fails the first ``failures`` lookups."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def find(self, appid: str) -> Any:
        from services.gateway.domain.inbound import AccountKeys
        from shared.storage import StorageUnavailable

        self.calls += 1
        if self.calls <= self.failures:
            raise StorageUnavailable("connection dropped")
        return AccountKeys.build(appid, TOKEN, AES_KEY)


def _flaky(failures: int) -> tuple[TestClient, FakePublisher, _FlakyAccounts]:
    settings = GatewaySettings(environment="test", max_body_bytes=4096, accounts_from_mongodb=False)
    publisher, accounts = FakePublisher(), _FlakyAccounts(failures)
    app = create_app(settings, publisher=publisher, accounts=accounts, ledger=MemoryPushLedger(), rules=FakeRules())
    return TestClient(app), publisher, accounts


def test_a_push_whose_storage_failed_once_runs_again_and_is_published_once() -> None:
    client, publisher, accounts = _flaky(failures=1)
    now = int(time.time())  # the replay window is checked against the real clock
    signed = pushes.sign(TOKEN, pushes.follow("o1", now), timestamp=now, openid="o1")
    with client:
        response = client.post(f"/wechat/{APPID}", params=signed.params, content=signed.body)
    assert response.text == "success"
    assert accounts.calls == 2
    assert len(publisher.published) == 1


def test_a_push_whose_storage_stays_down_gets_503_with_retry_after() -> None:
    client, publisher, _ = _flaky(failures=5)
    now = int(time.time())  # the replay window is checked against the real clock
    signed = pushes.sign(TOKEN, pushes.follow("o1", now), timestamp=now, openid="o1")
    with client:
        response = client.post(f"/wechat/{APPID}", params=signed.params, content=signed.body)
        metrics = client.get("/metrics").text
    assert response.status_code == 503
    assert response.json()["reason"] == "storage_unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert publisher.published == []
    assert 'route="/wechat/{appid}",service="gateway",status="503"' in metrics


def test_an_oversized_push_is_413_and_other_methods_still_route(gw: Harness) -> None:
    response = gw.client.post(
        f"/wechat/{APPID}", params={"signature": "a", "timestamp": "1", "nonce": "n"}, content=b"x" * 5000
    )
    assert response.status_code == 413
    assert gw.client.get(f"/wechat/{APPID}").status_code == 422  # URL verification, FastAPI's validation
    assert gw.client.post(f"/wechat/{APPID}/more").status_code == 404


class _BrokenPublisher(FakePublisher):
    async def publish(self, topic: Any, envelope: Any) -> None:
        raise RuntimeError("a bug")


def test_a_bug_on_the_push_path_is_a_500_counted_as_one_and_the_push_is_not_acknowledged() -> None:
    # The push path skips the app's error layer; what it does not handle still reaches the platform
    # as a 500 (it retries), and the metrics count it.
    settings = GatewaySettings(
        environment="test",
        max_body_bytes=4096,
        wechat_accounts=[account(APPID, token=TOKEN)],
        accounts_from_mongodb=False,
    )
    app = create_app(settings, publisher=_BrokenPublisher(), ledger=MemoryPushLedger(), rules=FakeRules())
    now = int(time.time())
    signed = pushes.sign(TOKEN, pushes.follow("o1", now), timestamp=now, openid="o1")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(f"/wechat/{APPID}", params=signed.params, content=signed.body)
        metrics = client.get("/metrics").text
    assert response.status_code == 500
    assert 'route="/wechat/{appid}",service="gateway",status="500"' in metrics


def test_a_push_under_a_root_path_takes_the_routed_way_with_the_same_answer() -> None:
    settings = GatewaySettings(
        environment="test",
        max_body_bytes=4096,
        wechat_accounts=[account(APPID, token=TOKEN)],
        accounts_from_mongodb=False,
    )
    publisher = FakePublisher()
    app = create_app(settings, publisher=publisher, ledger=MemoryPushLedger(), rules=FakeRules())
    now = int(time.time())
    signed = pushes.sign(TOKEN, pushes.follow("o1", now), timestamp=now, openid="o1")
    with TestClient(app, root_path="/gw") as client:
        response = client.post(f"/wechat/{APPID}", params=signed.params, content=signed.body)
        metrics = client.get("/metrics").text
    assert response.text == "success" and len(publisher.published) == 1
    assert 'route="/wechat/{appid}",service="gateway",status="200"' in metrics
