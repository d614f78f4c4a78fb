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


class CallLimiter:
    """Counts one account's calls per API: by platform day (45009) and by clock minute (45011).

    A call counts once it is admitted; calls refused here do not count, like the platform's quota.
    """

    def __init__(self, daily: Mapping[str, int], per_minute: Mapping[str, int]) -> None:
        self._daily = dict(daily)
        self._per_minute = dict(per_minute)
        self._day_counts: dict[tuple[str, int], int] = {}
        self._minute_counts: dict[tuple[str, int], int] = {}

    def admit(self, api: str, now: float) -> None:
        day, minute = platform_day(now), platform_minute(now)
        day_key, minute_key = (api, day), (api, minute)
        daily = self._daily.get(api)
        if daily is not None and self._day_counts.get(day_key, 0) >= daily:
            raise ApiError(45009)
        per_minute = self._per_minute.get(api)
        if per_minute is not None and self._minute_counts.get(minute_key, 0) >= per_minute:
            raise ApiError(45011)
        self._forget_before(day, minute)
        self._day_counts[day_key] = self._day_counts.get(day_key, 0) + 1
        self._minute_counts[minute_key] = self._minute_counts.get(minute_key, 0) + 1

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
