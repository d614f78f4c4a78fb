"""The webhook gateway through its real HTTP app, with a fake publisher behind the same port."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from scrm import pushes
from services.gateway.domain import signature
from services.gateway.domain.pushes import InvalidPush, normalize, parse
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from shared.contracts import CATALOG, WECHAT_PUSHES, MemberFollowed, MemberUnfollowed, PushReceived
from tests.fakes import FakePublisher

TOKEN = "gw-token"
APPID = "wxgateway"
NOW = 1_714_036_504


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    settings = GatewaySettings(
        environment="test",
        max_body_bytes=4096,
        wechat_accounts=[{"appid": APPID, "token": TOKEN, "encoding_aes_key": "k" * 43, "secret": "app-secret"}],
    )
    with TestClient(create_app(settings, publisher=publisher)) as test_client:
        yield test_client


def post(client: TestClient, body: bytes, *, openid: str = "o1", token: str = TOKEN, appid: str = APPID) -> object:
    signed = pushes.sign(token, body, timestamp=NOW, openid=openid)
    return client.post(f"/wechat/{appid}", params=signed.params, content=signed.body)


def test_signature_matches_the_official_example() -> None:
    # Token AAAAA, the platform's worked example (reference: wechat-platform.md §1).
    assert signature.sign("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature.verify("AAAAA", "1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78")
    assert not signature.verify("AAAAA", "1714037059", "486452656", "0" * 40)


def test_url_verification_echoes(client: TestClient) -> None:
    nonce, ts = "1514711492", "1714036504"
    sig = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()  # noqa: S324
    response = client.get(
        f"/wechat/{APPID}",
        params={"signature": sig, "timestamp": ts, "nonce": nonce, "echostr": "4375120948345356249"},
    )
    assert response.status_code == 200 and response.text == "4375120948345356249"
    forged = client.get(
        f"/wechat/{APPID}", params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": "x"}
    )
    assert forged.status_code == 403


def test_follow_is_published_keyed_by_openid_then_acknowledged(client: TestClient, publisher: FakePublisher) -> None:
    response = post(client, pushes.follow("o1", NOW, scene="poster-7"))
    assert response.status_code == 200 and response.text == "success"  # type: ignore[attr-defined]
    [(topic, envelope)] = publisher.published
    assert topic is WECHAT_PUSHES
    assert (envelope.appid, envelope.key, envelope.type) == (APPID, "o1", "member.followed")
    event = CATALOG.decode(envelope)
    assert isinstance(event, MemberFollowed)
    assert event.scene == "poster-7" and event.ticket == "ticket-poster-7"


def test_platform_retries_carry_the_same_event_id(client: TestClient, publisher: FakePublisher) -> None:
    body = pushes.follow("o1", NOW)
    post(client, body)
    post(client, body)
    post(client, pushes.follow("o1", NOW + 1))
    ids = [envelope.event_id for _, envelope in publisher.published]
    assert ids[0] == ids[1] != ids[2]


def test_unknown_pushes_are_kept_raw(client: TestClient, publisher: FakePublisher) -> None:
    post(client, pushes.text("o1", NOW, "我想了解孕期营养", 42))
    event = CATALOG.decode(publisher.published[0][1])
    assert isinstance(event, PushReceived)
    assert event.msg_type == "text" and event.fields["Content"] == "我想了解孕期营养"


def test_forged_signature_is_refused_and_nothing_published(client: TestClient, publisher: FakePublisher) -> None:
    response = post(client, pushes.follow("o1", NOW), token="wrong")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert publisher.published == []


def test_unknown_account_is_404(client: TestClient) -> None:
    response = post(client, pushes.follow("o1", NOW), appid="wxnobody")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert "wxnobody" in response.json()["detail"]  # type: ignore[attr-defined]


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
def test_hostile_or_broken_bodies_get_a_clear_4xx(
    client: TestClient, publisher: FakePublisher, body: bytes, status: int, reason: str
) -> None:
    response = post(client, body)
    assert response.status_code == status  # type: ignore[attr-defined]
    assert reason in response.json()["detail"]  # type: ignore[attr-defined]
    assert publisher.published == []


def test_missing_query_fields_are_422_with_the_field(client: TestClient) -> None:
    response = client.post(f"/wechat/{APPID}", params={"timestamp": "1", "nonce": "2"}, content=b"<xml/>")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "signature"]


def test_broker_down_means_5xx_so_the_platform_retries() -> None:
    settings = GatewaySettings(
        wechat_accounts=[{"appid": APPID, "token": TOKEN, "encoding_aes_key": "k" * 43, "secret": "s"}]
    )
    failing = FakePublisher(failures=1)
    with TestClient(create_app(settings, publisher=failing)) as client:
        assert post(client, pushes.follow("o1", NOW)).status_code == 503  # type: ignore[attr-defined]
        assert post(client, pushes.follow("o1", NOW)).status_code == 200  # type: ignore[attr-defined]
    assert len(failing.published) == 1


def test_operations_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    post(client, pushes.follow("o1", NOW))
    metrics = client.get("/metrics").text
    assert 'method="POST",route="/wechat/{appid}"' in metrics


def test_parse_and_normalize_unfollow() -> None:
    event = normalize(parse(pushes.unfollow("o9", NOW)))
    assert isinstance(event, MemberUnfollowed) and event.openid == "o9"
    with pytest.raises(InvalidPush, match="CreateTime"):
        parse(
            b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
            b"<CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>"
        )
