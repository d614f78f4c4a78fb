"""Signed H5 links bind the member, the account and the page; anything else about them is a refusal."""

from __future__ import annotations

import pytest

from services.profiles.domain.h5_links import LinkRejected, open_link, seal_link
from shared.signing import b64encode, seal

SECRET = b"h5-link-secret-for-tests"


def test_a_link_opens_its_own_page_only() -> None:
    token = seal_link(SECRET, "wx1", "o1", 2000, "surveys/s1")
    link = open_link(SECRET, token, 1000, "surveys/s1")
    assert (link.appid, link.openid, link.page) == ("wx1", "o1", "surveys/s1")
    for other in ("interests", "surveys/s2", "surveys/s1/x"):
        with pytest.raises(LinkRejected, match="another page"):
            open_link(SECRET, token, 1000, other)
    interests = seal_link(SECRET, "wx1", "o1", 2000)
    with pytest.raises(LinkRejected, match="another page"):
        open_link(SECRET, interests, 1000, "surveys/s1")


def test_expired_forged_and_unversioned_links_are_refused() -> None:
    token = seal_link(SECRET, "wx1", "o1", 2000)
    with pytest.raises(LinkRejected, match="expired"):
        open_link(SECRET, token, 2001, "interests")
    with pytest.raises(LinkRejected, match="bad signature"):
        open_link(b"another-secret-entirely", token, 1000, "interests")
    # The links before pages were bound: appid.openid.expiry, correctly signed, no version and no page.
    old = seal(SECRET, f"{b64encode(b'wx1')}.{b64encode(b'o1')}.2000")
    with pytest.raises(LinkRejected):
        open_link(SECRET, old, 1000, "interests")


@pytest.mark.parametrize("token", ["", "a.b.c.d.e.f", "签名.签名.签名.签名.签名.签名", "x" * 5000])
def test_junk_tokens_are_rejections_not_errors(token: str) -> None:
    with pytest.raises(LinkRejected):
        open_link(SECRET, token, 1000, "interests")
