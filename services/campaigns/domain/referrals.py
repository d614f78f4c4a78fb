"""Referral crediting rules (pure): who gets credit for a follow, when it is taken back, which tiers a
count unlocks. No I/O: the caller looks facts up and passes them in.

Why credit *followers who stay* rather than shares: WeChat's operating rules prohibit rewarding the act
of sharing to Moments (诱导分享) and can punish it by removing the followers gained; rewarding verified
outcomes (a new follower who does not leave within the revocation window) is the safer design.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

#: ``r.<campaign>.<participant>``: fits the platform's 64-character ``scene_str``. Every code issued
#: before poster variants, and every member's code of the campaign's own template since.
_SCENE = re.compile(r"^r\.(?P<campaign>[A-Za-z0-9_-]{1,32})\.(?P<participant>[A-Za-z0-9_-]{1,24})$")
#: ``r2.<campaign>.<participant>.<variant>``: version 2, a member given a poster variant (still 64 at most).
_SCENE_V2 = re.compile(
    r"^r2\.(?P<campaign>[A-Za-z0-9_-]{1,32})\.(?P<participant>[A-Za-z0-9_-]{1,24})\.(?P<variant>[a-z][a-z0-9]{0,2})$"
)
#: ``j.<campaign>``: the campaign's own QR code, which members follow or scan to join.
_JOIN_SCENE = re.compile(r"^j\.(?P<campaign>[A-Za-z0-9_-]{1,32})$")


@dataclass(frozen=True)
class JoinScene:
    """What a campaign's own QR code carries: following or scanning it joins the campaign."""

    campaign_id: str

    def encode(self) -> str:
        scene = f"j.{self.campaign_id}"
        if not _JOIN_SCENE.fullmatch(scene):
            raise ValueError(f"campaign id does not fit a QR scene: {scene!r}")
        return scene

    @classmethod
    def decode(cls, scene: str | None) -> JoinScene | None:
        match = _JOIN_SCENE.fullmatch(scene or "")
        return None if match is None else cls(match["campaign"])


@dataclass(frozen=True)
class ReferralScene:
    """What a member's personal QR code carries: which campaign, which participant invited, and which
    poster variant they were given (None: the campaign's own template, written without a variant so
    the codes of campaigns without variants stay what they were)."""

    campaign_id: str
    participant_code: str
    variant: str | None = None

    def encode(self) -> str:
        if self.variant is None:
            scene = f"r.{self.campaign_id}.{self.participant_code}"
        else:
            scene = f"r2.{self.campaign_id}.{self.participant_code}.{self.variant}"
        if not (_SCENE_V2 if self.variant else _SCENE).fullmatch(scene):
            raise ValueError(f"ids do not fit a QR scene: {scene!r}")
        return scene

    @classmethod
    def decode(cls, scene: str | None) -> ReferralScene | None:
        """The referral a scene stands for, or None for any other scene (a campaign's own QR, say)."""
        match = _SCENE.fullmatch(scene or "")
        if match is not None:  # version 1 (no variant): the campaign's own template
            return cls(match["campaign"], match["participant"])
        match = _SCENE_V2.fullmatch(scene or "")
        return None if match is None else cls(match["campaign"], match["participant"], match["variant"])


class Rejection(StrEnum):
    """Why a follow earned no credit. Recorded, so ops can see cheating patterns."""

    CAMPAIGN_NOT_RUNNING = "campaign_not_running"
    SELF_INVITE = "self_invite"
    NOT_A_NEW_FOLLOWER = "not_a_new_follower"
    ALREADY_INVITED = "already_invited"
    INVITER_BLACKLISTED = "inviter_blacklisted"
    INVITEE_BLACKLISTED = "invitee_blacklisted"
    DAILY_CAP_REACHED = "daily_cap_reached"
    #: An existing follower scanned the code (a ``SCAN`` push): recorded, never credited.
    EXISTING_FOLLOWER_SCAN = "existing_follower_scan"


@dataclass(frozen=True)
class Tier:
    invites: int
    reward_pool: str


@dataclass(frozen=True)
class ReferralRules:
    """The parts of a campaign the crediting rules read."""

    starts_at: datetime
    ends_at: datetime
    running: bool
    tiers: tuple[Tier, ...]
    first_time_followers_only: bool = True
    revoke_if_unfollowed_within: timedelta = timedelta(hours=48)
    per_inviter_daily_cap: int | None = None
    blacklist: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        counts = [tier.invites for tier in self.tiers]
        if any(count < 1 for count in counts) or counts != sorted(set(counts)):
            raise ValueError("tiers must have strictly ascending invite counts of at least 1")


@dataclass(frozen=True)
class CampaignTexts:
    """Message templates. ``{code}`` in ``tier_reached`` stays in the queued notice and is filled when
    the notice is delivered, with the code allocated for that grant."""

    progress: str = "已邀请 {count}/{target}，再邀请 {remaining} 位即可领取奖励。"
    tier_reached: str = "恭喜！已成功邀请 {count} 位好友，奖励券码：{code}"
    revoked: str = "你邀请的一位好友已取消关注，当前有效邀请 {count} 人。"


@dataclass(frozen=True)
class CampaignView:
    """What crediting needs of a campaign."""

    campaign_id: str
    appid: str
    rules: ReferralRules
    texts: CampaignTexts = CampaignTexts()


@dataclass(frozen=True)
class FollowFacts:
    """What the caller knows about a follow through a referral code."""

    inviter: str
    invitee: str
    followed_at: datetime
    #: First follow of this account ever (the platform re-sends ``subscribe`` on a re-follow).
    invitee_is_new: bool
    #: Some participant of this campaign already has credit (or a revoked credit) for this invitee.
    invitee_already_invited: bool
    #: Credits the inviter has been given today (the campaign's day, in its timezone).
    inviter_credits_today: int


def decide_credit(rules: ReferralRules, facts: FollowFacts) -> Rejection | None:
    """None when the follow earns the inviter a credit, else the first rule it breaks."""
    if not rules.running or not rules.starts_at <= facts.followed_at < rules.ends_at:
        return Rejection.CAMPAIGN_NOT_RUNNING
    if facts.inviter == facts.invitee:
        return Rejection.SELF_INVITE
    if facts.inviter in rules.blacklist:
        return Rejection.INVITER_BLACKLISTED
    if facts.invitee in rules.blacklist:
        return Rejection.INVITEE_BLACKLISTED
    if facts.invitee_already_invited:
        return Rejection.ALREADY_INVITED
    if rules.first_time_followers_only and not facts.invitee_is_new:
        return Rejection.NOT_A_NEW_FOLLOWER
    if rules.per_inviter_daily_cap is not None and facts.inviter_credits_today >= rules.per_inviter_daily_cap:
        return Rejection.DAILY_CAP_REACHED
    return None


def should_revoke(rules: ReferralRules, credited_at: datetime, unfollowed_at: datetime) -> bool:
    """A credited invitee who leaves within the window takes the credit back with them."""
    return credited_at <= unfollowed_at < credited_at + rules.revoke_if_unfollowed_within


def tiers_to_grant(tiers: Sequence[Tier], credited: int, granted: Iterable[int]) -> list[Tier]:
    """Tiers the inviter now qualifies for and has not been granted (by invite count).

    Rewards are never taken back when a later revocation lowers the count: a tier, once granted, stays
    granted, and a count that climbs back does not grant it twice.
    """
    done = set(granted)
    return [tier for tier in tiers if tier.invites <= credited and tier.invites not in done]


def next_target(tiers: Sequence[Tier], credited: int) -> int | None:
    """The invite count of the next tier to reach, or None when all are reached."""
    return next((tier.invites for tier in tiers if tier.invites > credited), None)


def render_message(template: str, **values: object) -> str:
    """Fill ``{count}``-style placeholders; unknown placeholders are left visible, not an error, so a
    typo in ops' copy never stops a notice from being sent."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m[1], m[0])), template)
