"""Followers the account had before the campaigns service saw them follow.

The worker decides "new follower" from the follows it has seen itself. A member who followed before
the service ran (or before its topic's retention) would look new on a re-follow through a poster and
be credited, although the platform had them all along. Seeding the known followers closes that gap:
``scrm members import`` seeds every follower it imports (with the platform's subscribe time), and
``scrm campaigns seed-followers`` seeds the account's whole follower list from ``user/get``. A follow
after the seeded moment is a re-follow (``not_a_new_follower``); the follow the seed saw, read late by
the worker, is judged as if there were no seed (see ``domain.referrals.seed_saw_this_follow``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from services.campaigns.service_layer.ports import KnownFollowers
from shared.wechat_client import FollowerPage, UserInfo

__all__ = ["FollowerList", "seed_from_platform", "seed_imported"]


class FollowerList(Protocol):
    """The platform's follower list (``user/get``), one page at a time."""

    async def list_followers(self, next_openid: str | None = None) -> FollowerPage: ...


async def seed_imported(appid: str, followers: Sequence[UserInfo], known: KnownFollowers, now: datetime) -> int:
    """Seed imported followers, each as following since its platform subscribe time (else ``now``)."""
    seen = [
        (info.openid, datetime.fromtimestamp(info.subscribe_time, UTC) if info.subscribe_time else now)
        for info in followers
    ]
    return await known.seed(appid, seen)


async def seed_from_platform(
    appid: str,
    platform: FollowerList,
    known: KnownFollowers,
    now: datetime,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[int, int]:
    """Seed every follower the platform lists for ``appid`` as following at ``now``; ``(listed, new)``."""
    listed = added = 0
    next_openid: str | None = None
    while True:
        page = await platform.list_followers(next_openid)
        added += await known.seed(appid, [(openid, now) for openid in page.openids])
        listed += len(page.openids)
        progress(listed, page.total)
        if page.is_last:
            return listed, added
        next_openid = page.next_openid
