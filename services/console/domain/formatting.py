"""How the console shows times and personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["BEIJING", "age", "beijing", "mask_identifier", "parse_time"]

#: China has one time zone and no daylight saving: a fixed offset needs no tz database.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def beijing(value: str | datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Beijing wall-clock text ("" when unknown)."""
    moment = parse_time(value)
    return moment.astimezone(BEIJING).strftime(pattern) if moment else ""


def age(value: str | datetime | None, now: datetime) -> timedelta | None:
    moment = parse_time(value)
    return None if moment is None else max(now - moment, timedelta(0))


def mask_identifier(value: str, keep: int = 4) -> str:
    """``oAbc…wxyz``: enough to tell members apart on a page, not enough to copy one."""
    if len(value) <= keep * 2:
        return value[:1] + "…" if value else value
    return f"{value[:keep]}…{value[-keep:]}"
