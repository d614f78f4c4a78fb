"""What a campaign achieved: participants, invites, rewards, and who invited most. Pure records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["CampaignStats", "LeaderboardRow"]


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    openid: str
    credited: int
    revoked: int
    tiers_granted: list[int]
    joined_at: datetime


@dataclass(frozen=True)
class CampaignStats:
    participants: int
    posters_sent: int
    joined_via: dict[str, int]
    invites_credited: int
    invites_revoked: int
    rejections: dict[str, int]
    rewards_granted: dict[int, int]
    rewards_awaiting_stock: int
    #: Share-screenshot submissions by status (approved, rejected, review) and share rewards granted.
    screenshots: dict[str, int] = field(default_factory=dict)
    share_rewards_granted: int = 0
    leaderboard: list[LeaderboardRow] = field(default_factory=list)

    @property
    def k_factor(self) -> float:
        """Credited invites (still standing) per participant: above 1, the campaign grows by itself."""
        return round(self.invites_credited / self.participants, 3) if self.participants else 0.0
