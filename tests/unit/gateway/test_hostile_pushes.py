"""Hostile input on the webhook: replayed signatures, plaintext for a safe-mode account, absurd appids,
non-ASCII parameters and oversized bodies are all refused with 4xx, never published, never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from scrm_dev import pushes
from services.gateway.adapters.ledger import MemoryPushLedger
from services.gateway.adapters.seen import MemorySeenRequests
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from shared.wechat import MessageCrypto, Mode, SignedRequest
from tests.accounts import AES_KEY, account
from tests.fakes.publisher import FakePublisher
from tests.fakes.reply_rules import FakeRules

TOKEN = "gwtoken"
PLAIN, SAFE = "wxmodeplain00001", "wxmodesafe000001"


@dataclass
class Gw:
    client: TestClient
    publisher: FakePublisher

    def signed(
        self, appid: str, body: bytes, *, mode: Mode = Mode.PLAINTEXT, nonce: str | None = None
    ) -> SignedRequest:
        return pushes.sign(
            TOKEN, body, timestamp=int(time.time()), openid="o1", nonce=nonce, mode=mode,
            crypto=MessageCrypto(appid, AES_KEY),
        )  # fmt: skip

    def send(self, appid: str, signed: SignedRequest, **params: str) -> int:
        return self.client.post(f"/wechat/{appid}", params=signed.params | params, content=signed.body).status_code


@pytest.fixture
def gw() -> Iterator[Gw]:
    settings = GatewaySettings(
        environment="test",
        max_body_bytes=4096,
        accounts_from_mongodb=False,
        wechat_accounts=[
            account(PLAIN, token=TOKEN, encoding_aes_key=AES_KEY) | {"mode": "plaintext"},
            account(SAFE, token=TOKEN, encoding_aes_key=AES_KEY) | {"mode": "safe"},
        ],
    )
    publisher = FakePublisher()
    with TestClient(create_app(settings, publisher=publisher, ledger=MemoryPushLedger(), rules=FakeRules())) as client:
        yield Gw(client, publisher)


def test_a_safe_mode_account_refuses_plaintext_and_accepts_encrypted(gw: Gw) -> None:
    now = int(time.time())
    assert gw.send(SAFE, gw.signed(SAFE, pushes.follow("o1", now))) == 403
    assert gw.send(SAFE, gw.signed(SAFE, pushes.follow("o1", now), mode=Mode.SAFE)) == 200
    assert gw.send(PLAIN, gw.signed(PLAIN, pushes.follow("o2", now))) == 200
    assert len(gw.publisher.published) == 2


def test_a_captured_plaintext_signature_cannot_carry_another_body(gw: Gw) -> None:
    now = int(time.time())
    first = gw.signed(PLAIN, pushes.follow("o1", now), nonce="n-1")
    assert gw.send(PLAIN, first) == 200
    assert gw.send(PLAIN, first) == 200  # the platform's retry: same request, same body, answered again
    forged = SignedRequest(first.params, pushes.follow("o-attacker", now))
    assert gw.send(PLAIN, forged) == 403
    assert len(gw.publisher.published) == 1


@pytest.mark.parametrize(
    "appid", ["wx" + "a" * 500, "wx1/../x", "不是appid", "gh_1234567890ab", "wx%00", "WX1234567890abcdef"]
)
def test_absurd_appids_are_refused_before_any_lookup(gw: Gw, appid: str) -> None:
    signed = gw.signed(PLAIN, pushes.follow("o1", int(time.time())))
    assert gw.send(appid, signed) == 404
    assert gw.client.get(f"/wechat/{appid}", params=signed.params | {"echostr": "x"}).status_code == 404
    assert gw.publisher.published == []


def test_an_unknown_well_formed_appid_is_404(gw: Gw) -> None:
    assert gw.send("wx1234567890abcdef", gw.signed(PLAIN, pushes.follow("o1", int(time.time())))) == 404


@pytest.mark.parametrize("name", ["signature", "timestamp", "nonce", "msg_signature", "encrypt_type"])
def test_non_ascii_parameters_are_4xx(gw: Gw, name: str) -> None:
    signed = gw.signed(PLAIN, pushes.follow("o1", int(time.time())))
    status = gw.send(PLAIN, signed, **{name: "签名é"})
    assert 400 <= status < 500
    verify = {"signature": "签名", "timestamp": "١٧١٤٠٣٦٥٠٤", "nonce": "é", "echostr": "x"}
    assert gw.client.get(f"/wechat/{PLAIN}", params=verify).status_code == 400


def test_unicode_digit_timestamps_are_not_integers(gw: Gw) -> None:
    signed = gw.signed(PLAIN, pushes.follow("o1", int(time.time())))
    assert gw.send(PLAIN, signed, timestamp="١٧١٤٠٣٦٥٠٤") == 400


def test_oversized_bodies_are_413(gw: Gw) -> None:
    signed = gw.signed(PLAIN, pushes.follow("o1", int(time.time())))
    assert gw.client.post(f"/wechat/{PLAIN}", params=signed.params, content=b"<xml>" + b"x" * 10_000).status_code == 413


async def test_the_seen_store_is_bounded_in_size_and_age() -> None:
    now = [0.0]
    seen = MemorySeenRequests(window_seconds=10, max_entries=2, clock=lambda: now[0])
    assert await seen.first_use("a", "1") and await seen.first_use("a", "1")
    assert not await seen.first_use("a", "2")
    await seen.first_use("b", "1")
    await seen.first_use("c", "1")  # "a" is forgotten: the store holds two
    assert await seen.first_use("a", "2")
    now[0] = 100.0
    assert await seen.first_use("c", "9")  # older than twice the window
