"""The review queue's rules as the console shows them: the service level, whose QR code a screenshot
shows, and where the console serves a submission's picture from."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["QUEUE_PAGE", "SERVICE_LEVEL_SECONDS", "overdue", "picture_path", "qr_owner"]

#: An item waiting longer than this is highlighted: members expect their reward within the half hour.
SERVICE_LEVEL_SECONDS = 30 * 60

#: Waiting items per page of the queue (the API's own maximum is 200).
QUEUE_PAGE = 50

_API_PICTURE = re.compile(r"^/accounts/(?P<appid>[^/]+)/campaigns/(?P<campaign>[^/]+)/screenshots/(?P<id>[^/]+)/image$")


def overdue(item: dict[str, Any]) -> bool:
    return item.get("status") == "review" and int(item.get("age_seconds") or 0) > SERVICE_LEVEL_SECONDS


def picture_path(appid: str, api_url: str | None) -> str | None:
    """The console's address for a picture the API serves at ``api_url`` (the browser cannot call the
    API itself); None for a missing picture or one of another account."""
    found = _API_PICTURE.match(api_url or "")
    if found is None or found["appid"] != appid:
        return None
    return f"/accounts/{appid}/review/pictures/{found['campaign']}/{found['id']}"


def qr_owner(code: dict[str, Any]) -> str:
    """``submitter`` (the member's own code), ``other`` (another member's) or ``unknown`` (nobody's here)."""
    if code.get("is_submitter"):
        return "submitter"
    return "other" if code.get("owner_openid") else "unknown"
