"""The push protocol against the reference's vectors (wechat-platform.md §1–2), plus round trips."""

from __future__ import annotations

import base64

import pytest

from shared.wechat import (
    AppIdMismatch,
    InvalidAesKey,
    InvalidCiphertext,
    InvalidXml,
    MessageCrypto,
    Mode,
    check_signature,
    open_reply,
    parse_xml,
    seal_push,
    seal_reply,
    signature,
    to_xml,
)

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxb11529c136998cb6"
VECTOR_B = (
    "rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTqdFPwnhqbk+kIQ7"
    "rZiwny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1pW9TjhOYrLQoU18nWYjWqDA1ynk"
    "mOytpv7QRI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0"
    "ktOY4nLvsQMLrourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGP"
    "e31GT2Go/rOz1BsrASwvauNulCh+++yz+CQzBIuikA=="
)


def test_url_verification_vectors() -> None:
    assert signature("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature("AAAAA", "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    assert check_signature("AAAAA", "F464B24FC39322E44B38AA78F5EDD27BD1441696", "1714036504", "1514711492")
    assert not check_signature("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492")


def test_aes_vector_a() -> None:
    crypto = MessageCrypto(APPID, KEY)
    encrypted = crypto.encrypt("我是中文abcd123".encode(), random_prefix=b"aaaabbbbccccdddd")
    assert encrypted == "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    assert signature("pamtest", "1409304348", "xxxxxx", encrypted) == "82c962d39941aa48552f90ef55aa323dc620cc10"
    assert crypto.decrypt(encrypted).decode() == "我是中文abcd123"


def test_inbound_safe_mode_vector_b() -> None:
    assert signature("pamtest", "1458300676", "260774613", VECTOR_B) == "4f3ad57b6989f09f4eb392acce4f9e93942ed890"
    fields = parse_xml(MessageCrypto(APPID, KEY).decrypt(VECTOR_B))
    assert (fields["MsgType"], fields["Content"], fields["MsgId"]) == ("text", "hello", "12345")


def test_wecom_flavour_vector_c() -> None:
    # Same algorithm; the reply signature over a known random prefix.
    crypto = MessageCrypto("wx49f0ab532d5d035a", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")
    encrypted = crypto.encrypt(b"<xml/>", random_prefix=b"1234567890123456")
    assert crypto.decrypt(encrypted) == b"<xml/>"


def test_decryption_refusals() -> None:
    crypto = MessageCrypto(APPID, KEY)
    with pytest.raises(AppIdMismatch):
        MessageCrypto("wxsomeoneelse", KEY).decrypt(crypto.encrypt(b"x"))
    with pytest.raises(InvalidCiphertext, match="Base64"):
        crypto.decrypt("not base64!!")
    with pytest.raises(InvalidCiphertext, match="blocks"):
        crypto.decrypt(base64.b64encode(b"short").decode())
    other_key = "B" * 43
    with pytest.raises((InvalidCiphertext, AppIdMismatch)):
        MessageCrypto(APPID, other_key).decrypt(crypto.encrypt(b"x" * 40))
    for bad in ("short", "!" * 43):
        with pytest.raises(InvalidAesKey):
            MessageCrypto(APPID, bad)


def test_padding_is_to_32_bytes() -> None:
    crypto = MessageCrypto(APPID, KEY)
    for size in (0, 1, 11, 12, 27, 28, 60, 1000):
        encrypted = crypto.encrypt(b"m" * size)
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert crypto.decrypt(encrypted) == b"m" * size


@pytest.mark.parametrize("mode", list(Mode))
def test_seal_push_round_trips_in_every_mode(mode: Mode) -> None:
    crypto = MessageCrypto(APPID, KEY)
    message = to_xml({"ToUserName": "gh_1", "FromUserName": "o1", "CreateTime": 1, "MsgType": "text", "Content": "hi"})
    request = seal_push(message, token="tok", mode=mode, crypto=crypto, timestamp=100, openid="o1", nonce="n")
    assert check_signature("tok", request.params["signature"], "100", "n")
    outer = parse_xml(request.body)
    if mode is Mode.PLAINTEXT:
        assert request.body == message and "encrypt_type" not in request.params
        return
    assert request.params["encrypt_type"] == "aes"
    assert check_signature("tok", request.params["msg_signature"], "100", "n", outer["Encrypt"])
    assert crypto.decrypt(outer["Encrypt"]) == message
    assert ("Content" in outer) is (mode is Mode.COMPATIBLE)


def test_encrypted_reply_round_trip_and_tamper() -> None:
    crypto = MessageCrypto(APPID, KEY)
    reply = seal_reply(b"<xml><Content>ok</Content></xml>", token="tok", crypto=crypto, timestamp="1", nonce="2")
    assert open_reply(reply, token="tok", crypto=crypto) == b"<xml><Content>ok</Content></xml>"
    with pytest.raises(InvalidXml, match="MsgSignature"):
        open_reply(reply, token="other", crypto=crypto)


def test_xml_building_escapes_cdata_terminators() -> None:
    body = to_xml({"Content": "a]]>b", "CreateTime": 5, "Image": {"MediaId": "m"}})
    assert parse_xml(body) == {"Content": "a]]>b", "CreateTime": "5"}
    assert b"<Image><MediaId><![CDATA[m]]></MediaId></Image>" in body


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY lol "lol">]><xml>&lol;</xml>',
        b'<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://evil/x.dtd"><xml/>',
        b"<xml><a>",
        b"<other/>",
    ],
)
def test_hostile_xml_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidXml):
        parse_xml(body)


@pytest.mark.parametrize("given", ["签名", "é" * 40, "\udcff", ""])
def test_non_ascii_signatures_are_mismatches_not_errors(given: str) -> None:
    assert check_signature("token", given, "1714036504", "nonce") is False
