"""Password hashes, API tokens and the constant-time comparison."""

from __future__ import annotations

import hmac

import pytest

from shared.identity import InvalidIdentityInput, PasswordHasher, parse_token
from shared.identity._secrets import digest, digests_match, new_token

LOW = PasswordHasher(memory_kib=19 * 1024, time_cost=2)


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    stored = LOW.hash("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert LOW.verify(stored, "correct horse battery")
    assert not LOW.verify(stored, "correct horse battery!")
    assert not LOW.verify(None, "anything at all")
    assert not LOW.verify("not a hash", "anything at all")


def test_the_default_parameters_are_above_owasps_floor() -> None:
    stored = PasswordHasher().hash("correct horse battery")
    assert "m=65536,t=3,p=1" in stored
    # Hashes from weaker parameters are upgraded at the next sign-in.
    assert PasswordHasher().needs_rehash(LOW.hash("correct horse battery"))


def test_weak_parameters_and_short_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="OWASP"):
        PasswordHasher(memory_kib=8 * 1024, time_cost=2)
    with pytest.raises(ValueError, match="OWASP"):
        PasswordHasher(time_cost=1)
    with pytest.raises(InvalidIdentityInput, match="12 characters"):
        LOW.hash("short")


def test_a_token_reads_scrm_id_secret_and_only_its_digest_is_kept() -> None:
    whole, parts = new_token()
    assert whole == f"scrm_{parts.token_id}_{parts.secret}"
    assert parse_token(whole) == parts
    assert digests_match(parts.secret, digest(parts.secret))
    assert not digests_match(parts.secret + "x", digest(parts.secret))
    assert new_token()[0] != whole


@pytest.mark.parametrize(
    "token", ["", "scrm_", "Bearer x", "scrm_short_secret", "scrm_0123456789abcdef", "scrm_0123456789abcdef_é"]
)
def test_anything_else_is_not_a_token(token: str) -> None:
    assert parse_token(token) is None


def test_digests_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert digests_match("s3cret", digest("s3cret"))
    assert calls == [(digest("s3cret"), digest("s3cret"))]
