from __future__ import annotations

from dataclasses import dataclass

from shared.wechat_client._clock import Clock
from shared.wechat_client._config import RateLimit, WeChatApiConfig

__all__ = ["RateLimiter"]


@dataclass
class _Bucket:
    limit: RateLimit
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by ``(appid, api)``, shared by every client of a process.

    :meth:`acquire` reserves the next slot and sleeps until it comes, without a lock: the bucket is read
    and debited with no ``await`` in between, so concurrent callers queue up in arrival order. A caller
    cancelled while it waits forfeits its slot (the limiter errs on the slow side).

    The buckets are per process. The platform's limits are per account, so with several processes the
    configured limits should be divided among them; a 45011 that slips through is retried by the client.
    """

    def __init__(self, config: WeChatApiConfig | None = None, *, clock: Clock | None = None) -> None:
        self._config = config or WeChatApiConfig()
        self._clock = clock or Clock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def delay(self, appid: str, api: str) -> float:
        """Reserve a call now; the seconds the caller must wait before making it."""
        now = self._clock.monotonic()
        bucket = self._buckets.get((appid, api))
        if bucket is None:
            limit = self._config.rate_limit(api)
            bucket = self._buckets[(appid, api)] = _Bucket(limit, float(limit.burst), now)
        limit = bucket.limit
        bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.updated) * limit.rate)
        bucket.updated = now
        bucket.tokens -= 1.0
        return 0.0 if bucket.tokens >= 0 else -bucket.tokens / limit.rate

    async def acquire(self, appid: str, api: str) -> None:
        wait = self.delay(appid, api)
        if wait > 0:
            await self._clock.sleep(wait)
