"""Errors of the Official Account API client.

    WeChatError                               (shared.wechat)
    ├── InvalidRequest                        refused locally, before any HTTP call (also a ValueError)
    ├── TransportError                        no usable answer after the retries: network, timeout,
    │                                         HTTP error status, a body that is not the API's
    ├── TokenUnavailable                      another process holds the refresh lease and no fresh
    │                                         token appeared before the wait ran out
    └── WeChatApiError                        the platform answered ``{errcode != 0, errmsg}``
        ├── AccessTokenInvalid                40001 / 40014 / 42001: refreshed once and retried first
        ├── CredentialsRejected               40013 / 40125 / 40164 / 89503: appid, secret or IP whitelist
        ├── PlatformBusy                      -1: "system busy", retried with backoff first
        ├── QuotaExceeded                     45009 daily / 45011 per minute; ``retry_after`` seconds
        ├── InvalidMediaId                    40007
        ├── RecipientUnavailable              this user cannot receive this message now
        │   ├── InvalidOpenid                 40003
        │   ├── NotFollower                   43004
        │   ├── SubscriptionConsentMissing    43101
        │   ├── OutsideCustomerServiceWindow  45015
        │   └── CustomerServiceCountExceeded  45047
        └── TagError
            ├── TagLimitReached               45056 too many tags / 45057 tag too big to delete /
            │                                 45059 user carries too many tags
            └── TagRejected                   45058 reserved tag / 45157 duplicate name / 45158 name too long

``RecipientUnavailable`` exists so a sender can skip one user ("not a bug, not transient") with one
``except``; account-wide problems (quota, credentials) stay outside it because they stop every send.
Any errcode without its own class raises plain :class:`WeChatApiError`.

Messages name the API (``message/custom/send``) and never a URL: the access token travels in the
query string, so a URL must never reach an exception, a log line or a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from shared.wechat import WeChatError

__all__ = [
    "AccessTokenInvalid",
    "CredentialsRejected",
    "CustomerServiceCountExceeded",
    "InvalidMediaId",
    "InvalidOpenid",
    "InvalidRequest",
    "NotFollower",
    "OutsideCustomerServiceWindow",
    "PlatformBusy",
    "QuotaExceeded",
    "RecipientUnavailable",
    "SubscriptionConsentMissing",
    "TagError",
    "TagLimitReached",
    "TagRejected",
    "TokenUnavailable",
    "TransportError",
    "WeChatApiError",
    "error_for",
]


class InvalidRequest(WeChatError, ValueError):
    """The arguments break a documented platform rule; nothing was sent."""


class TransportError(WeChatError):
    """No usable answer after the configured retries.

    ``status_code`` is the HTTP status when there was one. The request may or may not have reached the
    platform (a read timeout on a message send is ambiguous), which is why sends are retried only when
    the connection was never made.
    """

    def __init__(self, api: str, reason: str, status_code: int | None = None) -> None:
        super().__init__(f"{api}: {reason}")
        self.api = api
        self.reason = reason
        self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.api, self.reason, self.status_code))


class TokenUnavailable(WeChatError):
    """Waited for another process to refresh the account's access token, and it did not."""


class WeChatApiError(WeChatError):
    """The platform answered with a non-zero ``errcode`` (with HTTP 200, as it does)."""

    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        super().__init__(f"{api}: errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through ``args``; ours has a different signature, so spell it out.
        return (type(self), (self.errcode, self.errmsg, self.api))


class AccessTokenInvalid(WeChatApiError):
    """The token was rejected. Seen by callers only when the forced refresh did not help."""


class CredentialsRejected(WeChatApiError):
    """The account's appid or secret is wrong, or this host is not on its IP whitelist: needs a human."""


class PlatformBusy(WeChatApiError):
    """errcode -1, "system error, retry later"; raised once the retries ran out."""


class QuotaExceeded(WeChatApiError):
    """A call quota is used up: back off for ``retry_after`` seconds before calling this API again.

    45009 is the daily quota, which resets at midnight Beijing time; 45011 is the per-minute quota.
    """

    def __init__(self, errcode: int, errmsg: str, api: str, retry_after: float = 60.0) -> None:
        super().__init__(errcode, errmsg, api)
        self.retry_after = retry_after

    @property
    def daily(self) -> bool:
        return self.errcode == DAILY_QUOTA

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errcode, self.errmsg, self.api, self.retry_after))


class InvalidMediaId(WeChatApiError):
    """The media id is unknown or expired (temporary media live three days)."""


class RecipientUnavailable(WeChatApiError):
    """This user cannot receive this message now; other users may. Not worth retrying."""


class InvalidOpenid(RecipientUnavailable):
    pass


class NotFollower(RecipientUnavailable):
    """The user does not follow the account (any more)."""


class SubscriptionConsentMissing(RecipientUnavailable):
    """A subscription notice (bizsend) without the user's one-time or long-term consent."""


class OutsideCustomerServiceWindow(RecipientUnavailable):
    """A customer-service message outside the window opened by the user's last interaction, or after
    an unfollow."""


class CustomerServiceCountExceeded(RecipientUnavailable):
    """The window is open, but its message count is used up."""


class TagError(WeChatApiError):
    pass


class TagLimitReached(TagError):
    """A tag count limit: 100 tags per account, 20 tags per user, 100k fans to delete a tag."""


class TagRejected(TagError):
    """The tag request itself is unacceptable: reserved tag ids 0-2, a duplicate or overlong name."""


PLATFORM_BUSY = -1
DAILY_QUOTA = 45009
MINUTE_QUOTA = 45011
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})

_BY_ERRCODE: dict[int, type[WeChatApiError]] = {
    PLATFORM_BUSY: PlatformBusy,
    40001: AccessTokenInvalid,
    40014: AccessTokenInvalid,
    42001: AccessTokenInvalid,
    40013: CredentialsRejected,
    40125: CredentialsRejected,
    40164: CredentialsRejected,
    89503: CredentialsRejected,
    40003: InvalidOpenid,
    40007: InvalidMediaId,
    43004: NotFollower,
    43101: SubscriptionConsentMissing,
    45015: OutsideCustomerServiceWindow,
    45047: CustomerServiceCountExceeded,
    45056: TagLimitReached,
    45057: TagLimitReached,
    45059: TagLimitReached,
    45058: TagRejected,
    45157: TagRejected,
    45158: TagRejected,
}

_BEIJING = timezone(timedelta(hours=8))  # no daylight saving, so a fixed offset is exact


def _seconds_to_beijing_midnight(now: datetime) -> float:
    local = now.astimezone(_BEIJING)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def error_for(errcode: int, errmsg: str, api: str, *, now: datetime | None = None) -> WeChatApiError:
    """The exception for an errcode answer. ``now`` dates the daily-quota reset (default: real time)."""
    if errcode in (DAILY_QUOTA, MINUTE_QUOTA):
        retry_after = 60.0
        if errcode == DAILY_QUOTA:
            retry_after = _seconds_to_beijing_midnight(now or datetime.now(UTC))
        return QuotaExceeded(errcode, errmsg, api, retry_after=retry_after)
    return _BY_ERRCODE.get(errcode, WeChatApiError)(errcode, errmsg, api)
