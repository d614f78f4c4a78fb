"""Signed click links: a link opens to exactly what was signed; anything tampered, signed with another key,
damaged, oversized or leading anywhere but an http(s) destination is refused as forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from services.segments.domain.click_links import ClickLink, LinkForged, domain_allowed, open_click, sign_click

KEY = b"click-key-for-tests-0123456789abcdef"
LINK = ClickLink(push_id="push_1", variant="A", openid="o_mom", url="https://brand.example/trial?from=push")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_body(body: str, key: bytes = KEY) -> str:
    """A token whose body is whatever the test wants, with a genuine signature over it: this reaches the
    checks behind the signature, which a forger without the key never could."""
    return f"{body}.{b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:16])}"


def signed_fields(fields: object) -> str:
    return signed_body(b64(json.dumps(fields).encode()))


def flip(text: str, at: int) -> str:
    """``text`` with the character at ``at`` replaced by a different base64url character."""
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


# -- round trip ----------------------------------------------------------------------------------------


def test_a_signed_link_opens_to_what_was_signed() -> None:
    assert open_click(KEY, sign_click(KEY, LINK)) == LINK


@pytest.mark.parametrize(
    "link",
    [
        ClickLink("push_1", "B", "", "https://brand.example/a"),  # a mass send names no member
        ClickLink("push_2", "对照组", "o_妈妈", "https://brand.example/试用?q=奶粉&n=1#top"),
        ClickLink("push.3", "A.B", "o.x", "http://brand.example/a.b.c"),  # dots inside fields
        ClickLink('p"1', "A\\", "o\n", "https://brand.example/?q=%22x%22"),
    ],
)
def test_links_with_any_fields_round_trip(link: ClickLink) -> None:
    token = sign_click(KEY, link)
    assert token.count(".") == 1
    assert open_click(KEY, token) == link


def test_a_token_is_safe_in_a_url_path() -> None:
    token = sign_click(KEY, ClickLink("push_1", "A", "o_mom", "https://brand.example/?a=1&b=/~+?"))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_signing_is_deterministic_and_names_every_field() -> None:
    token = sign_click(KEY, LINK)
    assert sign_click(KEY, LINK) == token
    for other in (
        ClickLink("push_2", LINK.variant, LINK.openid, LINK.url),
        ClickLink(LINK.push_id, "B", LINK.openid, LINK.url),
        ClickLink(LINK.push_id, LINK.variant, "o_dad", LINK.url),
        ClickLink(LINK.push_id, LINK.variant, LINK.openid, "https://brand.example/other"),
    ):
        assert sign_click(KEY, other) != token


# -- forgeries -----------------------------------------------------------------------------------------


def test_a_link_signed_with_another_key_is_forged() -> None:
    with pytest.raises(LinkForged, match="signature"):
        open_click(KEY, sign_click(b"another key", LINK))


def test_a_swapped_destination_under_the_old_signature_is_forged() -> None:
    _, mac = sign_click(KEY, LINK).split(".")
    evil = ClickLink(LINK.push_id, LINK.variant, LINK.openid, "https://evil.example/")
    body = sign_click(KEY, evil).split(".")[0]
    with pytest.raises(LinkForged, match="signature"):
        open_click(KEY, f"{body}.{mac}")


@pytest.mark.parametrize("at", [0, 10, -1])
def test_a_tampered_body_is_forged(at: int) -> None:
    body, mac = sign_click(KEY, LINK).split(".")
    with pytest.raises(LinkForged):
        open_click(KEY, f"{flip(body, at % len(body))}.{mac}")


@pytest.mark.parametrize("at", [0, 7, 15])
def test_a_tampered_signature_is_forged(at: int) -> None:
    body, mac = sign_click(KEY, LINK).split(".")
    with pytest.raises(LinkForged, match="signature"):
        open_click(KEY, f"{body}.{flip(mac, at)}")


@pytest.mark.parametrize("cut", [1, 4, 11, 22])
def test_a_truncated_signature_is_forged(cut: int) -> None:
    body, mac = sign_click(KEY, LINK).split(".")
    with pytest.raises(LinkForged):
        open_click(KEY, f"{body}.{mac[:-cut]}")


def test_an_unsigned_body_is_forged() -> None:
    body = sign_click(KEY, LINK).split(".")[0]
    with pytest.raises(LinkForged):
        open_click(KEY, f"{body}.")


# -- destinations --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "ftp://brand.example/file",
        "weixin://dl/business",
        "/r/relative",
        " https://brand.example/",
        "",
    ],
)
def test_a_signed_link_to_anything_but_http_is_refused(url: str) -> None:
    token = sign_click(KEY, ClickLink("push_1", "A", "o_mom", url))
    with pytest.raises(LinkForged, match="not http"):
        open_click(KEY, token)


@pytest.mark.parametrize("url", ["http://brand.example/", "https://brand.example/"])
def test_http_and_https_destinations_are_accepted(url: str) -> None:
    assert open_click(KEY, sign_click(KEY, ClickLink("push_1", "A", "o_mom", url))).url == url


# -- malformed tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "no-dot-at-all",
        sign_click(KEY, LINK).replace(".", ""),
        "a.b.c",
        sign_click(KEY, LINK) + ".",
        "." + sign_click(KEY, LINK),
    ],
)
def test_a_token_without_exactly_one_dot_is_malformed(token: str) -> None:
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, token)


@pytest.mark.parametrize(
    "token",
    [
        signed_body("a"),  # one character too many for base64
        signed_body("abcde"),
        signed_body(b64(b"\x80\x81 not utf-8")),
        signed_body(b64(b"not json")),
        signed_body(""),
    ],
)
def test_a_signed_body_that_does_not_decode_is_malformed(token: str) -> None:
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, token)


def test_a_signature_that_is_not_base64_is_refused() -> None:
    body = sign_click(KEY, LINK).split(".")[0]
    with pytest.raises(LinkForged, match="signature"):
        open_click(KEY, f"{body}.abcde")


def test_each_link_has_exactly_one_valid_spelling() -> None:
    token = sign_click(KEY, LINK)
    body, mac = token.split(".")
    last = "A" if mac[-1] != "A" else "Q"  # same leading bits of the final base64 digit, other padding bits
    for respelled in (f"{body}.{mac}==", f"{body}.{mac[:-1]}{last}"):
        with pytest.raises(LinkForged, match="signature"):
            open_click(KEY, respelled)
    assert open_click(KEY, token) == LINK


@pytest.mark.parametrize(
    "fields",
    [
        {"push_id": "push_1", "variant": "A", "openid": "o_mom", "url": "https://brand.example/"},
        ["push_1", "A", "https://brand.example/"],
        ["push_1", "A", "o_mom", "https://brand.example/", "extra"],
        ["push_1", 1, "o_mom", "https://brand.example/"],
        ["push_1", "A", None, "https://brand.example/"],
        "push_1 A o_mom https://brand.example/",
        [],
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_malformed(fields: object) -> None:
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, signed_fields(fields))


def test_the_longest_token_within_the_size_limit_opens() -> None:
    links = [ClickLink("push_1", "A", "o_mom", "https://brand.example/?q=" + "x" * n) for n in range(3_000, 3_100)]
    tokens = [(link, sign_click(KEY, link)) for link in links]
    within = [(link, token) for link, token in tokens if len(token) <= 4096]
    link, token = within[-1]
    # Base64 never makes a body of 4k+1 characters, so with the 23 for the dot and the signature no token
    # is exactly 4096 long: 4095 is the longest there is, and one byte more of URL goes over the limit.
    assert len(token) == 4095
    assert len(tokens[len(within)][1]) > 4096
    assert open_click(KEY, token) == link


def test_an_oversized_token_is_malformed_even_when_genuinely_signed() -> None:
    token = sign_click(KEY, ClickLink("push_1", "A", "o_mom", "https://brand.example/?q=" + "x" * 4_000))
    assert len(token) > 4096
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, token)


def test_an_oversized_junk_token_is_malformed() -> None:
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, "A" * 5_000 + "." + "A" * 22)


def test_a_link_carries_its_expiry_and_refuses_to_open_after_it() -> None:
    link = ClickLink("push_1", "A", "", "https://brand.example/", expires_at=1_000)
    token = sign_click(KEY, link)
    assert open_click(KEY, token, now=999) == link
    with pytest.raises(LinkForged, match="expired"):
        open_click(KEY, token, now=1_001)
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, signed_fields(["push_1", "A", "", "https://brand.example/", "1000"]))
    with pytest.raises(LinkForged, match="malformed"):
        open_click(KEY, signed_fields(["push_1", "A", "", "https://brand.example/", True]))


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://brand.example/x", True),
        ("https://Shop.Brand.Example./x", True),
        ("https://brand.example@evil.example/", False),
        ("https://evil.example/?next=brand.example", False),
        ("https://notbrand.example/", False),
        ("https://[::1/", False),
    ],
)
def test_destinations_outside_the_allowed_domains_are_refused(url: str, allowed: bool) -> None:
    assert domain_allowed(url, frozenset({"brand.example"})) is allowed
    assert domain_allowed(url, frozenset())
