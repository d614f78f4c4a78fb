"""Per-account call limits (daily quotas, per-minute limits) and injected faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.wechat_sim.domain.calendar import platform_day, platform_minute
from services.wechat_sim.domain.errors import ApiError

#: Daily call quotas of a new account, by API path under /cgi-bin (reference §5–§6).
DEFAULT_DAILY_QUOTAS: Mapping[str, int] = {
    "token": 2_000,
    "stable_token": 500_000,
    "menu/create": 1_000,
    "media/upload": 100_000,
    "media/get": 200_000,
    "message/custom/send": 500_000,
    "message/template/send": 100_000,
    "message/mass/sendall": 100,
    "qrcode/create": 100_000,
    "user/get": 500,
    "user/info": 5_000_000,
    "user/info/batchget": 5_000_000,
    "user/info/updateremark": 10_000,
}

#: Per-minute limits, by API path (reference §5: stable_token 10k/min, mass send 60/min).
DEFAULT_MINUTE_LIMITS: Mapping[str, int] = {
    "stable_token": 10_000,
    "message/mass/sendall": 60,
}


#: Seconds of per-second counts kept for :meth:`CallLimiter.report`.
_SECONDS_KEPT = 600


class CallLimiter:
    """Counts one account's calls per API: by platform day (45009), by clock minute and by clock second
    (45011; per-second limits stand for an account's pace, to measure senders against).

    A call counts once it is admitted; calls refused here do not count, like the platform's quota.
    """

    def __init__(
        self, daily: Mapping[str, int], per_minute: Mapping[str, int], per_second: Mapping[str, int] | None = None
    ) -> None:
        self._daily = dict(daily)
        self._per_minute = dict(per_minute)
        self._per_second = dict(per_second or {})
        self._day_counts: dict[tuple[str, int], int] = {}
        self._minute_counts: dict[tuple[str, int], int] = {}
        self._second_counts: dict[str, dict[int, int]] = {}
        self._refused: dict[str, int] = {}

    def admit(self, api: str, now: float) -> None:
        day, minute = platform_day(now), platform_minute(now)
        day_key, minute_key = (api, day), (api, minute)
        daily = self._daily.get(api)
        if daily is not None and self._day_counts.get(day_key, 0) >= daily:
            raise ApiError(45009)
        per_minute = self._per_minute.get(api)
        if per_minute is not None and self._minute_counts.get(minute_key, 0) >= per_minute:
            self._refused[api] = self._refused.get(api, 0) + 1
            raise ApiError(45011)
        second, seconds = int(now), self._second_counts.setdefault(api, {})
        per_second = self._per_second.get(api)
        if per_second is not None and seconds.get(second, 0) >= per_second:
            self._refused[api] = self._refused.get(api, 0) + 1
            raise ApiError(45011)
        self._forget_before(day, minute)
        self._day_counts[day_key] = self._day_counts.get(day_key, 0) + 1
        self._minute_counts[minute_key] = self._minute_counts.get(minute_key, 0) + 1
        seconds[second] = seconds.get(second, 0) + 1
        if len(seconds) > _SECONDS_KEPT:
            for old in [s for s in seconds if s <= second - _SECONDS_KEPT]:
                del seconds[old]

    def report(self, api: str, now: float, since: float | None = None) -> dict[str, object]:
        """What ``api`` was called: calls admitted per clock second (since ``since``, within the last
        ten minutes), the busiest second, its per-second limit and the calls refused with 45011."""
        first = int(since) if since is not None else int(now) - _SECONDS_KEPT
        counts = {s: n for s, n in sorted(self._second_counts.get(api, {}).items()) if s >= first}
        return {
            "api": api,
            "limit_per_second": self._per_second.get(api),
            "limit_per_minute": self._per_minute.get(api),
            "calls": sum(counts.values()),
            "busiest_second": max(counts.values(), default=0),
            "per_second": {str(s): n for s, n in counts.items()},
            "refused_45011": self._refused.get(api, 0),
            "used_today": self.used_today(api, now),
        }

    def used_today(self, api: str, now: float) -> int:
        return self._day_counts.get((api, platform_day(now)), 0)

    def quota(self, api: str) -> int | None:
        return self._daily.get(api)

    def clear(self) -> None:
        """What ``clear_quota`` does: today's counts start again."""
        self._day_counts.clear()

    def _forget_before(self, day: int, minute: int) -> None:
        if len(self._minute_counts) > 256:
            self._minute_counts = {k: v for k, v in self._minute_counts.items() if k[1] >= minute}
        if len(self._day_counts) > 256:
            self._day_counts = {k: v for k, v in self._day_counts.items() if k[1] >= day}


@dataclass
class Fault:
    """The next ``remaining`` calls to ``api`` ("*" for any) fail with ``errcode``."""

    api: str
    errcode: int
    remaining: int
    errmsg: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"api": self.api, "errcode": self.errcode, "remaining": self.remaining, "errmsg": self.errmsg}


class FaultPlan:
    """Injected failures, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, api: str, errcode: int, count: int = 1, errmsg: str | None = None) -> Fault:
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(api, errcode, count, errmsg)
        self._faults.append(fault)
        return fault

    def take(self, api: str) -> ApiError | None:
        for fault in self._faults:
            if fault.api in (api, "*"):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return ApiError(fault.errcode, fault.errmsg)
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
