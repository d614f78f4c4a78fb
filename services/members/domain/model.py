"""The member aggregate: follow state over time. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Member:
    appid: str
    openid: str
    following: bool = False
    first_followed_at: datetime | None = None
    last_followed_at: datetime | None = None
    last_unfollowed_at: datetime | None = None
    follow_count: int = 0
    #: The QR scene of the first follow: where this member came from.
    first_scene: str | None = None

    def follow(self, at: datetime, scene: str | None) -> None:
        """Record a follow. Pushes can arrive out of order; state follows the newest one."""
        self.follow_count += 1
        if self.first_followed_at is None or at < self.first_followed_at:
            self.first_followed_at = at
            self.first_scene = scene
        if self.last_followed_at is None or at > self.last_followed_at:
            self.last_followed_at = at
        self.following = self._latest_is_follow()

    def unfollow(self, at: datetime) -> None:
        if self.last_unfollowed_at is None or at > self.last_unfollowed_at:
            self.last_unfollowed_at = at
        self.following = self._latest_is_follow()

    @property
    def is_new(self) -> bool:
        """First-time follower: followed once and never before."""
        return self.follow_count == 1

    def _latest_is_follow(self) -> bool:
        if self.last_followed_at is None:
            return False
        return self.last_unfollowed_at is None or self.last_followed_at > self.last_unfollowed_at


def count_change(before: Member | None, after: Member) -> dict[str, int]:
    """What a member's write changes in the account's counters (``members``, ``following``)."""
    return {
        "members": 1 if before is None else 0,
        "following": int(after.following) - int(before is not None and before.following),
    }
