"""What a campaign achieved: participants, invites, rewards, and who invited most. Pure records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.campaigns.domain.rewards import PoolStock

__all__ = [
    "FUNNEL_STEPS",
    "MAX_INVITEES_LISTED",
    "CampaignStats",
    "FunnelStep",
    "InviteeRow",
    "LeaderboardRow",
    "MemberCampaign",
    "MemberReward",
    "ParticipantRow",
    "TierRewards",
    "mask_code",
    "merge_invitees",
    "rewards_by_tier",
]

#: A member's invitees listed per campaign; beyond this the listing says there are more.
MAX_INVITEES_LISTED = 200

#: The funnel, in order. Units differ along it: posters and the last two steps count members, the middle
#: ones count friends' follows and scans through members' poster codes.
FUNNEL_STEPS = ("poster_sent", "scanned", "followed", "credited", "reached_tier", "rewarded")
#: Refusals of a follow or scan by someone who already followed the account: no new follow.
_NOT_NEW_FOLLOWS = frozenset({"existing_follower_scan", "not_a_new_follower"})


@dataclass(frozen=True)
class FunnelStep:
    step: str
    count: int


@dataclass(frozen=True)
class TierRewards:
    """One invite tier's grants by delivery status, and what is left in the pool it draws from."""

    tier: int
    pool: str
    granted: int
    issued: int
    awaiting_stock: int
    #: None while the pool holds no codes at all.
    pool_total: int | None
    pool_remaining: int | None


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
    #: Members with at least one tier grant, and with at least one tier reward's code delivered.
    members_reached_tier: int = 0
    members_rewarded: int = 0
    #: Tier grants by tier and delivery status (granted: not delivered yet; issued; awaiting_stock).
    tier_rewards: dict[int, dict[str, int]] = field(default_factory=dict)
    #: Filled by the stats use case, which knows the campaign's tiers and pools.
    rewards_by_tier: list[TierRewards] = field(default_factory=list)
    #: Of the standing credits (``invites_credited``), those past the revocation window: what tiers
    #: count under ``verified_followers``. The rest are pending.
    invites_confirmed: int = 0

    @property
    def invites_pending(self) -> int:
        return self.invites_credited - self.invites_confirmed

    @property
    def funnel(self) -> list[FunnelStep]:
        """Every follow or scan through a member's poster code leaves one record: a credit (standing or
        revoked) or a refusal by rule; refusals of people who already followed are scans, not follows.
        Only tier rewards count (the share-screenshot reward is not a referral outcome)."""
        credited = self.invites_credited + self.invites_revoked
        refused = sum(self.rejections.values())
        refused_new = sum(n for reason, n in self.rejections.items() if reason not in _NOT_NEW_FOLLOWS)
        counts = (
            self.posters_sent,
            credited + refused,
            credited + refused_new,
            credited,
            self.members_reached_tier,
            self.members_rewarded,
        )
        return [FunnelStep(step, count) for step, count in zip(FUNNEL_STEPS, counts, strict=True)]

    @property
    def k_factor(self) -> float:
        """Credited invites (still standing) per participant: above 1, the campaign grows by itself."""
        return round(self.invites_credited / self.participants, 3) if self.participants else 0.0


def rewards_by_tier(
    tiers: Sequence[tuple[int, str]], tier_rewards: Mapping[int, Mapping[str, int]], stock: Mapping[str, PoolStock]
) -> list[TierRewards]:
    """Each tier (count, pool) of the campaign with its grants and its pool's stock (shared by the tiers
    drawing from one pool)."""
    rows = []
    for count, pool in tiers:
        statuses = tier_rewards.get(count, {})
        held = stock.get(pool)
        rows.append(
            TierRewards(
                tier=count,
                pool=pool,
                granted=sum(statuses.values()),
                issued=statuses.get("issued", 0),
                awaiting_stock=statuses.get("awaiting_stock", 0),
                pool_total=None if held is None else held.total,
                pool_remaining=None if held is None else held.remaining,
            )
        )
    return rows


# -- one member's campaigns, and a campaign's participants ---------------------------------------------


@dataclass(frozen=True)
class InviteeRow:
    """Someone who followed or scanned through the member's code: ``credited``, ``revoked`` (unfollowed
    within the window) or ``refused`` with the ``rule`` that refused the credit."""

    openid: str
    status: str
    rule: str | None
    at: datetime


@dataclass(frozen=True)
class MemberReward:
    """A grant: tier 0 is the share-screenshot reward. ``code`` is the coupon code as issued (mask it
    before showing it: :func:`mask_code`)."""

    tier: int
    pool: str
    granted_at: datetime
    status: str
    code: str | None


@dataclass(frozen=True)
class MemberCampaign:
    campaign_id: str
    joined_at: datetime
    joined_via: str
    credited: int
    revoked: int
    tiers_granted: list[int]
    #: Oldest first, at most MAX_INVITEES_LISTED; ``invitees_more`` says whether some were left out.
    invitees: list[InviteeRow]
    invitees_more: bool
    rewards: list[MemberReward]
    share_submissions: int


@dataclass(frozen=True)
class ParticipantRow:
    openid: str
    joined_at: datetime
    joined_via: str
    credited: int
    revoked: int
    tiers_granted: list[int]
    poster_sent_at: datetime | None


def mask_code(code: str | None) -> str | None:
    """A coupon code with all but its last 4 characters hidden: enough to match what a member quotes,
    not enough to redeem it."""
    if code is None:
        return None
    return "*" * max(len(code) - 4, 0) + code[-4:]


def merge_invitees(credits: Sequence[InviteeRow], refusals: Sequence[InviteeRow]) -> tuple[list[InviteeRow], bool]:
    """Credits and refusals in one list, oldest first, capped at MAX_INVITEES_LISTED."""
    merged = sorted([*credits, *refusals], key=lambda row: (row.at, row.openid))
    return merged[:MAX_INVITEES_LISTED], len(merged) > MAX_INVITEES_LISTED
