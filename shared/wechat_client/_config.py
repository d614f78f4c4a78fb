from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_RATE_LIMITS", "PLATFORM_API", "PLATFORM_QR_IMAGES", "RateLimit", "WeChatApiConfig"]


class RateLimit(BaseModel):
    """At most ``calls`` per ``period`` seconds, spaced evenly, with up to ``burst`` back to back.

    Over any window of ``T`` seconds this admits at most ``burst + calls * T / period`` calls, so a
    platform limit of N per minute is honoured with ``burst=1`` (the default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int = Field(gt=0)
    period: float = Field(default=60.0, gt=0)
    burst: int = Field(default=1, gt=0)

    @property
    def rate(self) -> float:
        """Calls per second."""
        return self.calls / self.period


#: Per-API limits where the platform states one (mass send: 60 requests a minute). Everything else
#: falls back to :attr:`WeChatApiConfig.default_rate_limit`. Keys are API names: the path after
#: ``/cgi-bin/``.
DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType(
    {"message/mass/sendall": RateLimit(calls=60, period=60.0, burst=1)}
)

_STABLE_TOKEN_NEW_TOKEN_WINDOW = 300.0
#: The real platform's API and the host of its QR code pictures.
PLATFORM_API = "https://api.weixin.qq.com"
PLATFORM_QR_IMAGES = "https://mp.weixin.qq.com"


class WeChatApiConfig(BaseModel):
    """How to reach the platform and how patiently. Services embed it in their own settings.

    Retry policy, in one place:

    - errcode -1 and transport failures: up to ``retries`` more attempts, waiting ``backoff`` seconds
      and doubling up to ``max_backoff``. Message sends (customer service, template, subscription,
      mass) are retried after a transport failure only when the connection was never made, because a
      timed-out send may have been delivered and a retry would message the user twice.
    - 45011 (per-minute quota): up to ``minute_quota_retries`` more attempts after
      ``minute_quota_backoff`` seconds, doubling; then :class:`QuotaExceeded` with ``retry_after=60``.
      The local rate limiter normally prevents it; when it happens anyway, another process shares the
      quota, and a short wait usually clears it.
    - 45009 (daily quota): never retried; :class:`QuotaExceeded` says how long until the reset.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: ``https://api.weixin.qq.com`` in production; local runs point at the simulator.
    base_url: str = PLATFORM_API
    #: Where ``/cgi-bin/showqrcode`` lives (no token needed there), and so where join QR codes'
    #: ``image_url`` points. Unset: ``https://mp.weixin.qq.com`` for the real platform, else ``BASE_URL``
    #: (the simulator serves the pictures itself).
    qr_image_base_url: str = PLATFORM_QR_IMAGES
    #: Seconds per HTTP request (read, write, pool) and for connecting.
    timeout: float = Field(default=10.0, gt=0)
    #: Seconds to wait for a connection.
    connect_timeout: float = Field(default=5.0, gt=0)
    #: More attempts after errcode -1 or a transport failure (sends only when never connected).
    retries: int = Field(default=3, ge=0, le=10)
    #: Seconds before the first retry, doubling after each ...
    backoff: float = Field(default=0.5, ge=0)
    #: ... up to this many.
    max_backoff: float = Field(default=8.0, ge=0)
    #: More attempts after 45011 (per-minute quota) ...
    minute_quota_retries: int = Field(default=2, ge=0, le=10)
    #: ... the first after this many seconds, doubling.
    minute_quota_backoff: float = Field(default=2.0, ge=0)
    #: Calls per ``period`` seconds, with ``burst`` back to back, for APIs without a limit of their own.
    default_rate_limit: RateLimit = RateLimit(calls=1200, period=60.0, burst=20)
    #: Overrides by API name, on top of :data:`DEFAULT_RATE_LIMITS` (which stay in force otherwise).
    rate_limits: Mapping[str, RateLimit] = Field(default_factory=dict)
    #: Refresh the token when less than this many seconds are left. ``stable_token`` hands out a new
    #: token only in the last 300 s of the old one, so a larger margin would fetch the same token
    #: again on every call.
    token_refresh_margin: float = Field(default=240.0, gt=0, le=_STABLE_TOKEN_NEW_TOKEN_WINDOW)
    #: How long one process may hold the refresh lease. Longer than a refresh can take with all its
    #: retries, so a slow refresh is not taken over; short enough that a crashed holder is replaced.
    token_lease: float = Field(default=60.0, gt=0)
    #: How often a process waiting for another's refresh re-reads the store.
    token_poll_interval: float = Field(default=0.2, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _qr_images_beside_the_api(cls, data: Any) -> Any:
        # A stand-in platform (the simulator) serves its own QR pictures: links to the real image host
        # would show nothing for its tickets.
        stand_in = (
            isinstance(data, dict)
            and data.get("qr_image_base_url") is None
            and bool(data.get("base_url"))
            and urlsplit(str(data["base_url"])).netloc != urlsplit(PLATFORM_API).netloc
        )
        if stand_in:
            return {**data, "qr_image_base_url": data["base_url"]}
        return data

    @field_validator("base_url", "qr_image_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_backoff(self) -> WeChatApiConfig:
        if self.max_backoff < self.backoff:
            raise ValueError("max_backoff must be at least backoff")
        return self

    def rate_limit(self, api: str) -> RateLimit:
        if api in self.rate_limits:
            return self.rate_limits[api]
        return DEFAULT_RATE_LIMITS.get(api, self.default_rate_limit)

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) on -1 or a transport error."""
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))

    def minute_quota_delay(self, attempt: int) -> float:
        return self.minute_quota_backoff * 2.0 ** (attempt - 1)
