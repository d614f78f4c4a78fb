from __future__ import annotations

import pytest

from shared.signing import BadSignature, b64decode, b64encode, seal, unseal

KEY = b"k" * 32


@pytest.mark.parametrize("data", [b"", b"a", b"\xff\x00", "孕晚期".encode(), bytes(range(256))])
def test_base64_round_trips_without_padding(data: bytes) -> None:
    text = b64encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64decode(text) == data


def test_a_sealed_payload_opens_with_the_same_key() -> None:
    token = seal(KEY, "a.b.c")
    assert token.startswith("a.b.c.")
    assert unseal(KEY, token) == "a.b.c"


def test_another_key_or_a_changed_payload_is_refused() -> None:
    token = seal(KEY, "push:1")
    with pytest.raises(BadSignature):
        unseal(b"x" * 32, token)
    with pytest.raises(BadSignature):
        unseal(KEY, "push:2" + token[len("push:1") :])


def test_the_digest_size_is_part_of_the_check() -> None:
    short = seal(KEY, "p", digest_size=16)
    assert len(short) < len(seal(KEY, "p"))
    assert unseal(KEY, short, digest_size=16) == "p"
    with pytest.raises(BadSignature):
        unseal(KEY, short)


@pytest.mark.parametrize("size", [0, 8, 15, 33])
def test_weak_or_impossible_digest_sizes_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="digest_size"):
        seal(KEY, "p", digest_size=size)


@pytest.mark.parametrize("token", ["", "nodot", "." * 5000])
def test_malformed_or_huge_tokens_are_refused(token: str) -> None:
    with pytest.raises(BadSignature):
        unseal(KEY, token)


def test_each_token_has_one_valid_spelling() -> None:
    token = seal(KEY, "p")
    assert unseal(KEY, token) == "p"
    # Base64 without padding can spell the last character's unused bits differently; only ours counts.
    mac = token.rsplit(".", 1)[1]
    other = mac[:-1] + ("B" if mac[-1] == "A" else "A")
    with pytest.raises(BadSignature):
        unseal(KEY, f"p.{other}")
