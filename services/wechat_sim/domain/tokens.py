"""Access tokens: ``stable_token`` and the classic ``token`` endpoint, each with its own rules.

- stable_token, normal mode: the same token until its last ``grace`` seconds (5 min), then a new one;
  the old one keeps working until it expires.
- stable_token, ``force_refresh``: a new token at once and the old one stops working (40001);
  at most ``force_daily`` times a day (45009), at least ``force_interval`` seconds apart (45011).
- token: every call issues a new token; the previous one keeps working for ``grace`` seconds more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from services.wechat_sim.domain.calendar import platform_day
from services.wechat_sim.domain.errors import ApiError


@dataclass
class AccessToken:
    value: str
    kind: Literal["stable", "basic"]
    issued_at: float
    expires_at: float
    #: From this moment the token answers 40001 (superseded), before it would expire.
    revoked_at: float | None = None

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


@dataclass(frozen=True)
class TokenRules:
    ttl_seconds: int = 7200
    grace_seconds: int = 300
    force_refresh_daily: int = 20
    force_refresh_interval_seconds: int = 30


class TokenBook:
    """One account's tokens."""

    def __init__(self, rules: TokenRules, new_value: Callable[[], str]) -> None:
        self._rules = rules
        self._new_value = new_value
        self._tokens: dict[str, AccessToken] = {}
        self._stable: AccessToken | None = None
        self._basic: AccessToken | None = None
        self._forced: list[float] = []

    def stable(self, now: float, *, force_refresh: bool) -> AccessToken:
        current = self._stable
        if force_refresh:
            self._check_force_refresh(now)
            self._forced.append(now)
            if current is not None and current.revoked_at is None:
                current.revoked_at = now
        elif (
            current is not None and self._usable(current, now) and current.expires_at - now > self._rules.grace_seconds
        ):
            return current
        self._stable = self._issue("stable", now)
        return self._stable

    def basic(self, now: float) -> AccessToken:
        previous = self._basic
        if previous is not None and self._usable(previous, now):
            previous.revoked_at = min(previous.expires_at, now + self._rules.grace_seconds)
        self._basic = self._issue("basic", now)
        return self._basic

    def check(self, value: str, now: float) -> None:
        """Raise the platform's error unless ``value`` is one of this account's live tokens."""
        token = self._tokens.get(value)
        if token is None:
            raise ApiError(40014)
        if token.revoked_at is not None and now >= token.revoked_at and now < token.expires_at:
            raise ApiError(40001)
        if now >= token.expires_at:
            raise ApiError(42001)

    def owns(self, value: str) -> bool:
        return value in self._tokens

    def _check_force_refresh(self, now: float) -> None:
        today = platform_day(now)
        forced_today = [at for at in self._forced if platform_day(at) == today]
        if len(forced_today) >= self._rules.force_refresh_daily:
            raise ApiError(45009)
        if self._forced and now - self._forced[-1] < self._rules.force_refresh_interval_seconds:
            raise ApiError(45011)
        self._forced = forced_today

    @staticmethod
    def _usable(token: AccessToken, now: float) -> bool:
        return now < token.expires_at and (token.revoked_at is None or now < token.revoked_at)

    def _issue(self, kind: Literal["stable", "basic"], now: float) -> AccessToken:
        token = AccessToken(self._new_value(), kind, now, now + self._rules.ttl_seconds)
        self._tokens[token.value] = token
        # Expired tokens answer 42001 for a day, then they are forgotten (and answer 40014).
        horizon = now - 86_400
        self._tokens = {v: t for v, t in self._tokens.items() if t.expires_at > horizon}
        return token
