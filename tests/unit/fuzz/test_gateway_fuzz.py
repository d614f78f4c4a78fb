"""Fuzzing the webhook: whatever the body, the query or the path, the gateway answers 2xx or 4xx, never 5xx
and never an unhandled exception (the test client re-raises those). Bodies are validly signed where a
signature would otherwise stop them early, so the XML, the decryption and the push parsing are reached."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st

from services.gateway.adapters.ledger import MemoryPushLedger
from services.gateway.domain.replies import ReplyRule, TextReply, Trigger
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from shared.wechat import MessageCrypto, signature, to_xml
from tests.accounts import AES_KEY, account
from tests.fakes.publisher import FakePublisher
from tests.fakes.reply_rules import FakeRules

TOKEN = "fuzztoken"
PLAIN, SAFE = "wxfuzzplain00001", "wxfuzzsafe000001"
_NONCES = itertools.count()

#: Text that can be put in XML at all (the encoder would refuse lone surrogates before the gateway sees them).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
#: Now and then far longer than any real field.
long_texts = st.text(st.sampled_from("ab_-1é中"), min_size=100, max_size=600)
_KNOWN_TAGS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "EventKey", "Ticket", "MsgId", "MsgID"]
_MORE_TAGS = ["Content", "PicUrl", "MediaId", "Status", "TotalCount", "SentCount", "ErrorCount", "FilterCount"]
_TAG_NAMES = st.one_of(
    st.sampled_from([*_KNOWN_TAGS, *_MORE_TAGS]), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
)
_EVENTS = ["subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW", "TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH"]
_FIELD_VALUES = st.one_of(
    texts,
    long_texts,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([*_EVENTS, "qrscene_", "qrscene_42", "event", "text", "image"]),
)


@st.composite
def push_fields(draw: st.DrawFn) -> dict[str, str | int]:
    """A push as the platform could plausibly (or implausibly) shape it: the header mostly present, any values."""
    fields: dict[str, str | int] = {}
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if draw(st.integers(0, 9)):  # now and then one is missing
            fields[name] = draw(_FIELD_VALUES)
    if draw(st.booleans()):
        fields["MsgType"] = draw(st.sampled_from(["event", "text", "image", "voice", "EVENT"]))
        fields["CreateTime"] = draw(st.one_of(st.integers(-(2**70), 2**70), st.integers(0, 2**32)))
    if fields.get("MsgType") in ("event", "EVENT"):
        fields["Event"] = draw(st.one_of(st.sampled_from(_EVENTS), texts))
    extra = draw(st.dictionaries(_TAG_NAMES, _FIELD_VALUES, max_size=8))
    return fields | {k: v for k, v in extra.items() if k not in fields}


@dataclass
class Gateway:
    client: TestClient
    publisher: FakePublisher
    crypto: MessageCrypto

    def params(self, *parts: str) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), f"n{next(_NONCES)}"
        params = {"signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if parts:  # safe mode: msg_signature covers the Encrypt payload too
            params |= {"encrypt_type": "aes", "msg_signature": signature(TOKEN, timestamp, nonce, *parts)}
        return params

    def post_plain(self, body: bytes) -> int:
        return self.client.post(f"/wechat/{PLAIN}", params=self.params(), content=body).status_code

    def post_encrypted(self, encrypted: str, *, envelope: bytes | None = None) -> int:
        body = envelope if envelope is not None else to_xml({"ToUserName": "gh_fuzz", "Encrypt": encrypted})
        return self.client.post(f"/wechat/{SAFE}", params=self.params(encrypted), content=body).status_code


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    settings = GatewaySettings(
        environment="test",
        max_body_bytes=64 * 1024,
        accounts_from_mongodb=False,
        wechat_accounts=[
            account(PLAIN, token=TOKEN, encoding_aes_key=AES_KEY) | {"mode": "plaintext"},
            account(SAFE, token=TOKEN, encoding_aes_key=AES_KEY) | {"mode": "safe"},
        ],
    )
    publisher = FakePublisher()
    # A passive reply for follows, keywords and clicks: rendering it back is on the path too.
    rules = FakeRules(
        [
            ReplyRule(Trigger.FOLLOW, "", TextReply("欢迎")),
            ReplyRule(Trigger.KEYWORD, "hi", TextReply("hello")),
            ReplyRule(Trigger.CLICK, "k", TextReply("clicked")),
        ]
    )
    app = create_app(settings, publisher=publisher, ledger=MemoryPushLedger(), rules=rules)
    with TestClient(app) as client:
        yield Gateway(client, publisher, MessageCrypto(SAFE, AES_KEY))


def _no_server_error(status: int) -> None:
    assert status < 500, f"answered {status}"


@given(body=st.binary(max_size=2048))
@example(body=b"")
@example(body=b"<xml/>")
@example(body=b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml>&a;</xml>')
def test_any_bytes_in_a_signed_plaintext_push_are_not_a_server_error(gw: Gateway, body: bytes) -> None:
    _no_server_error(gw.post_plain(body))


@given(fields=push_fields())
# Regression: a CreateTime beyond what a date can hold was a 500 (OverflowError in the push's date).
@example(
    fields={"ToUserName": "gh", "FromUserName": "o1", "CreateTime": 10**20, "MsgType": "event", "Event": "subscribe"}
)
@example(fields={"ToUserName": "gh", "FromUserName": "o1", "CreateTime": -(10**15), "MsgType": "text", "MsgId": 1})
# Regression: an openid longer than any event holds was a 500 (the event's validation error).
@example(
    fields={"ToUserName": "gh", "FromUserName": "o" * 300, "CreateTime": 1, "MsgType": "event", "Event": "subscribe"}
)
def test_any_push_xml_is_accepted_or_refused_never_a_server_error(gw: Gateway, fields: dict[str, str | int]) -> None:
    _no_server_error(gw.post_plain(to_xml(fields)))


@given(fields=push_fields())
def test_any_push_xml_inside_a_valid_safe_mode_envelope_is_not_a_server_error(
    gw: Gateway, fields: dict[str, str | int]
) -> None:
    _no_server_error(gw.post_encrypted(gw.crypto.encrypt(to_xml(fields))))


@given(message=st.binary(max_size=1024))
def test_any_decrypted_bytes_are_not_a_server_error(gw: Gateway, message: bytes) -> None:
    _no_server_error(gw.post_encrypted(gw.crypto.encrypt(message)))


@given(encrypted=st.one_of(st.from_regex(r"[A-Za-z0-9+/=]{1,400}", fullmatch=True), texts.filter(bool)))
@example(encrypted="A" * 64)  # whole blocks that decrypt to garbage
@example(encrypted="====")
def test_any_ciphertext_with_a_valid_msg_signature_is_refused_not_a_server_error(gw: Gateway, encrypted: str) -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[" + encrypted.encode() + b"]]></Encrypt></xml>"
    )
    _no_server_error(gw.post_encrypted(encrypted, envelope=body))


@given(
    appid=st.text(max_size=40),
    params=st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "encrypt_type", "msg_signature", "openid", "echostr"]),
        st.text(max_size=80),
    ),
    body=st.binary(max_size=256),
    verify=st.booleans(),
)
def test_any_path_and_query_are_4xx_at_worst(
    gw: Gateway, appid: str, params: dict[str, str], body: bytes, verify: bool
) -> None:
    path = f"/wechat/{quote(appid, safe='')}"
    reply = gw.client.get(path, params=params) if verify else gw.client.post(path, params=params, content=body)
    _no_server_error(reply.status_code)


# -- what the fuzzing found, as plain regressions: each was a 500 ----------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"CreateTime": 10**20}, "CreateTime is not a unix time"),
        ({"CreateTime": -1}, "CreateTime is not a unix time"),
        ({"FromUserName": "o" * 300}, "push fields out of range: openid"),
    ],
)
def test_a_push_no_event_can_hold_is_a_400_with_the_reason(
    gw: Gateway, fields: dict[str, str | int], reason: str
) -> None:
    push: dict[str, str | int] = {
        "ToUserName": "gh",
        "FromUserName": "o1",
        "CreateTime": 1,
        "MsgType": "event",
        "Event": "subscribe",
    }
    published = len(gw.publisher.published)
    reply = gw.client.post(f"/wechat/{PLAIN}", params=gw.params(), content=to_xml(push | fields))
    assert (reply.status_code, reply.json()["detail"]) == (400, reason)
    assert len(gw.publisher.published) == published


_SUBSCRIPTION_GROUPS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}
_ITEM_TAGS = st.sampled_from(["TemplateId", "SubscribeStatusString", "PopupScene", "MsgID", "ErrorCode", "ErrorStatus"])


@given(
    event=st.sampled_from(sorted(_SUBSCRIPTION_GROUPS)),
    items=st.lists(st.dictionaries(st.one_of(_ITEM_TAGS, _TAG_NAMES), _FIELD_VALUES, max_size=6), max_size=24),
    other_group=st.booleans(),
)
@example(event="subscribe_msg_popup_event", items=[{"TemplateId": "t" * 500}], other_group=False)
@example(
    event="subscribe_msg_sent_event", items=[{"TemplateId": "t", "ErrorCode": "x", "MsgID": 2**80}], other_group=False
)
def test_any_subscription_push_lists_are_accepted_or_refused_never_a_server_error(
    gw: Gateway, event: str, items: list[dict[str, str | int]], other_group: bool
) -> None:
    """Nested ``<List>`` items (issue 21 item 5): any number, any values, under the event's group or another."""
    group = "SomethingElse" if other_group else _SUBSCRIPTION_GROUPS[event]
    header = {"ToUserName": "gh", "FromUserName": "o1", "CreateTime": int(time.time()), "MsgType": "event"}
    _no_server_error(gw.post_plain(to_xml(header | {"Event": event, group: {"List": items}})))
