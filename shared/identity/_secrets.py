"""Secrets: password hashes, API tokens, session ids and CSRF tokens.

Passwords are hashed with argon2id. The parameters are RFC 9106's second recommendation, above
OWASP's floor (m=19 MiB, t=2, p=1): 64 MiB of memory, 3 passes, 1 lane (about 0.1 s here). A hash
made with older parameters is upgraded at the next successful sign-in.

API tokens read ``scrm_<id>_<secret>``: the id finds the record, only SHA-256 of the secret is stored,
and the comparison is constant-time. Session ids are random and stored as their SHA-256 as well, so
a copy of the database opens no session and no token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.identity._exceptions import InvalidIdentityInput

__all__ = [
    "ARGON2_MEMORY_KIB",
    "ARGON2_PARALLELISM",
    "ARGON2_TIME_COST",
    "MIN_PASSWORD_LENGTH",
    "TOKEN_PREFIX",
    "PasswordHasher",
    "TokenParts",
    "digest",
    "digests_match",
    "new_csrf_token",
    "new_session_secret",
    "new_token",
    "parse_token",
]

ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_TIME_COST = 3
ARGON2_PARALLELISM = 1
#: NIST SP 800-63B's floor for a password chosen by its user.
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "scrm_"  # noqa: S105 (the prefix that marks a token, not one)


class PasswordHasher:
    """argon2id hashing and verification; never below OWASP's minimum parameters."""

    def __init__(
        self,
        *,
        memory_kib: int = ARGON2_MEMORY_KIB,
        time_cost: int = ARGON2_TIME_COST,
        parallelism: int = ARGON2_PARALLELISM,
    ) -> None:
        if memory_kib < 19 * 1024 or time_cost < 2 or parallelism < 1:
            raise ValueError("argon2id parameters below OWASP's minimum (m=19 MiB, t=2, p=1)")
        self._argon2 = _Argon2(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)
        # Verified against when the name is unknown, so an unknown name costs as long as a wrong
        # password and the answer time does not tell which names exist.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidIdentityInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._argon2.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon2.check_needs_rehash(stored_hash)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (a token's or a session's): what storage keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_match(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


@dataclass(frozen=True)
class TokenParts:
    token_id: str
    secret: str


def new_token() -> tuple[str, TokenParts]:
    """A new API token, whole (shown once) and in its parts."""
    parts = TokenParts(secrets.token_hex(8), secrets.token_urlsafe(32))
    return f"{TOKEN_PREFIX}{parts.token_id}_{parts.secret}", parts


def parse_token(token: str) -> TokenParts | None:
    """The parts of ``scrm_<id>_<secret>``, or None for anything else."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != 16 or not secret or not token.isascii():
        return None
    return TokenParts(token_id, secret)


def new_session_secret() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)
