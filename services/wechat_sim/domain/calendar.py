"""The platform's calendar: days and months turn over at midnight Beijing time (UTC+8, no DST)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_OFFSET = 8 * 3600


def platform_day(ts: float) -> int:
    """The day number (since the epoch, Beijing time) that ``ts`` falls on: daily quotas reset with it."""
    return int((ts + _OFFSET) // 86_400)


def platform_month(ts: float) -> tuple[int, int]:
    """(year, month) in Beijing time: the mass-send limit counts per calendar month."""
    moment = datetime.fromtimestamp(ts, BEIJING)
    return moment.year, moment.month


def platform_minute(ts: float) -> int:
    return int(ts // 60)
