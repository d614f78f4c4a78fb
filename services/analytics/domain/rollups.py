"""The fold from the platform's events to rollup counter increments.

A rollup is one document per (account, scope, Beijing day) holding counters that only ever grow by
``$inc``. Most events map to increments on their own (:func:`count`); follows, unfollows and invite
credits also need what the worker remembers of the member (:class:`Follower`): the source a member
followed through, to count their unfollow by it, and their credits and unfollow times, to count invitees
lost within 7 and 30 days of their credit. The fold is a pure function of the events and that state, so
the service layer can apply it to a batch in memory and write the sum once.

Metric names use ``:`` between dimensions (``follows:poster``, ``failed:v:B``); docs/analytics.md lists
them. Dimension values coming from events pass through :func:`part`, which keeps them usable as MongoDB
field names (no ``.``, no leading ``$``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from shared.contracts import (
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
    MemberFollowed,
    MemberUnfollowed,
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
)
from shared.events import Message

__all__ = [
    "ACCOUNT",
    "BEIJING",
    "LOST_WINDOWS",
    "MAX_UNFOLLOWS",
    "Follower",
    "RollupKey",
    "Rollups",
    "apply",
    "beijing_day",
    "campaign_scope",
    "count",
    "counted",
    "follow_source",
    "follower_of",
    "part",
    "project_scope",
    "push_scope",
    "review_wait_bucket",
    "rollup_id",
]

#: China keeps no daylight saving time, so a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ACCOUNT = "account"
#: Invitees who unfollowed within this long of their credit count as lost, per metric.
LOST_WINDOWS = (("invitees_lost_7d", timedelta(days=7)), ("invitees_lost_30d", timedelta(days=30)))
#: Unfollow times remembered per member (the most recent): enough for any real member's history.
MAX_UNFOLLOWS = 64
_MAX_PART = 100


def beijing_day(at: datetime) -> str:
    """The Beijing calendar day of an aware time, ``YYYY-MM-DD``."""
    return at.astimezone(BEIJING).date().isoformat()


def part(value: object) -> str:
    """A dimension value made safe inside a MongoDB field name: ``.`` and ``$`` become ``_``, bounded."""
    text = str(value).replace(".", "_").replace("$", "_")[:_MAX_PART]
    return text or "-"


def campaign_scope(campaign_id: str) -> str:
    return f"campaign:{part(campaign_id)}"


def push_scope(push_id: str) -> str:
    return f"push:{part(push_id)}"


def project_scope(project_id: str) -> str:
    return f"project:{part(project_id)}"


def rollup_id(appid: str, scope: str, day: str) -> str:
    return f"{appid}|{scope}|{day}"


def follow_source(scene: str | None) -> str:
    """Where a follow came from, by its QR scene: a campaign poster, a campaign code, another code, none."""
    if not scene:
        return "direct"
    if scene.startswith(("r.", "r2.")) and scene.count(".") >= 2:  # r2.: a poster variant's code
        return "poster"
    if scene.startswith("j.") and len(scene) > 2:
        return "campaign_code"
    return "qr"


def review_wait_bucket(submitted_at: datetime, decided_at: datetime) -> str:
    """How long a screenshot waited for its reviewer: under 1 h, 4 h, 24 h, or longer."""
    wait = decided_at - submitted_at
    if wait < timedelta(hours=1):
        return "lt1h"
    if wait < timedelta(hours=4):
        return "lt4h"
    if wait < timedelta(hours=24):
        return "lt24h"
    return "ge24h"


RollupKey = tuple[str, str, str]
"""(appid, scope, day)."""


class Rollups:
    """Counter increments by rollup: what a batch adds, summed before anything is written."""

    def __init__(self) -> None:
        self._by_key: dict[RollupKey, Counter[str]] = {}

    def add(self, appid: str, scope: str, day: str, metric: str, n: int = 1) -> None:
        counters = self._by_key.get((appid, scope, day))
        if counters is None:
            counters = self._by_key[(appid, scope, day)] = Counter()
        counters[metric] += n

    def merge(self, other: Rollups) -> None:
        for key, counters in other.items():
            mine = self._by_key.get(key)
            if mine is None:
                mine = self._by_key[key] = Counter()
            mine.update(counters)

    def items(self) -> Iterator[tuple[RollupKey, Counter[str]]]:
        return iter(self._by_key.items())

    def get(self, appid: str, scope: str, day: str) -> dict[str, int]:
        return dict(self._by_key.get((appid, scope, day), {}))

    def __len__(self) -> int:
        return len(self._by_key)


@dataclass
class Follower:
    """What the worker remembers of one member of one account to count unfollows and lost invitees.

    ``source``/``followed_at`` are those of the member's latest follow. ``credits`` holds, per campaign,
    when the member was credited as someone's invitee; ``unfollows`` their unfollow times, ascending.
    Whichever of a credit and an unfollow arrives second counts the loss, so arrival order is irrelevant.
    """

    appid: str
    openid: str
    source: str | None = None
    followed_at: datetime | None = None
    credits: dict[str, datetime] = field(default_factory=dict)
    unfollows: list[datetime] = field(default_factory=list)


_COUNTED = (
    MemberFollowed,
    MemberUnfollowed,
    CampaignPosterSent,
    CampaignPosterScanned,
    CampaignInviteCredited,
    CampaignCreditRevoked,
    CampaignTierReached,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    PushDelivered,
    PushDeliveryFailed,
    PushClicked,
)


def counted(message: Message) -> bool:
    """Whether the rollups count ``message`` (the topics also carry events they do not)."""
    return isinstance(message, _COUNTED)


def follower_of(appid: str, message: Message) -> tuple[str, str] | None:
    """The (appid, openid) whose :class:`Follower` state ``message`` reads or changes, if any."""
    if isinstance(message, (MemberFollowed, MemberUnfollowed)):
        return (appid, message.openid)
    if isinstance(message, CampaignInviteCredited):
        return (appid, message.invitee_openid)
    return None


def _ms(at: datetime) -> datetime:
    """``at`` to the millisecond, as MongoDB stores it: state compares alike in memory and in storage."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _lost(credited_at: datetime, unfollow: datetime, window: timedelta) -> bool:
    return timedelta(0) <= unfollow - credited_at < window


def apply(appid: str, message: Message, follower: Follower | None, into: Rollups) -> bool:
    """Add ``message``'s increments to ``into``; for follows, unfollows and credits, update ``follower``
    (the state :func:`follower_of` names, required for them). True if the follower state changed."""
    if isinstance(message, MemberFollowed):
        assert follower is not None
        source, followed_at = follow_source(message.scene), _ms(message.followed_at)
        day = beijing_day(message.followed_at)
        into.add(appid, ACCOUNT, day, "follows")
        into.add(appid, ACCOUNT, day, f"follows:{source}")
        if follower.followed_at is not None and follower.followed_at > followed_at:
            return False  # an older follow than the one remembered: the latest's source stays
        follower.source, follower.followed_at = source, followed_at
        return True
    if isinstance(message, MemberUnfollowed):
        assert follower is not None
        at = _ms(message.unfollowed_at)
        day = beijing_day(at)
        into.add(appid, ACCOUNT, day, "unfollows")
        into.add(appid, ACCOUNT, day, f"unfollows:{follower.source or 'unknown'}")
        for campaign_id, credited_at in follower.credits.items():
            for metric, window in LOST_WINDOWS:
                # Counted once per credit: by the first unfollow inside the window, whenever it arrives.
                if _lost(credited_at, at, window) and not any(
                    _lost(credited_at, seen, window) for seen in follower.unfollows
                ):
                    into.add(appid, campaign_scope(campaign_id), beijing_day(credited_at), metric)
        follower.unfollows = sorted([*follower.unfollows, at])[-MAX_UNFOLLOWS:]
        return True
    if isinstance(message, CampaignInviteCredited):
        assert follower is not None
        credited_at = _ms(message.credited_at)
        day = beijing_day(credited_at)
        scope = campaign_scope(message.campaign_id)
        into.add(appid, ACCOUNT, day, "credited")
        into.add(appid, scope, day, "credited")
        if message.campaign_id in follower.credits:
            return False  # the invitee's credit in this campaign is already counted for retention
        follower.credits[message.campaign_id] = credited_at
        for metric, window in LOST_WINDOWS:
            if any(_lost(credited_at, seen, window) for seen in follower.unfollows):
                into.add(appid, scope, day, metric)
        return True
    count(appid, message, into)
    return False


def count(appid: str, message: Message, into: Rollups) -> None:
    """Add the increments of an event that needs no member state (others are ignored here)."""
    if isinstance(message, CampaignPosterSent):
        day = beijing_day(message.sent_at)
        into.add(appid, ACCOUNT, day, "poster_sent")
        into.add(appid, campaign_scope(message.campaign_id), day, "poster_sent")
    elif isinstance(message, CampaignPosterScanned):
        day, scope = beijing_day(message.scanned_at), campaign_scope(message.campaign_id)
        into.add(appid, scope, day, "poster_scans")
        if message.new_follower:
            into.add(appid, scope, day, "poster_follows")
    elif isinstance(message, CampaignCreditRevoked):
        day = beijing_day(message.revoked_at)
        into.add(appid, ACCOUNT, day, "revoked")
        into.add(appid, campaign_scope(message.campaign_id), day, "revoked")
    elif isinstance(message, CampaignTierReached):
        into.add(appid, campaign_scope(message.campaign_id), beijing_day(message.reached_at), f"tier:{message.tier}")
    elif isinstance(message, CampaignRewardGranted):
        day, scope = beijing_day(message.granted_at), campaign_scope(message.campaign_id)
        into.add(appid, ACCOUNT, day, "rewards")
        into.add(appid, scope, day, "rewards")
        into.add(appid, scope, day, f"rewards:{message.tier}")
    elif isinstance(message, CampaignScreenshotDecided):
        _count_screenshot(appid, message, into)
    elif isinstance(message, (PushDelivered, PushDeliveryFailed, PushClicked)):
        _count_push(appid, message, into)


def _count_screenshot(appid: str, message: CampaignScreenshotDecided, into: Rollups) -> None:
    day = beijing_day(message.decided_at)
    for scope in (ACCOUNT, campaign_scope(message.campaign_id)):
        into.add(appid, scope, day, f"screenshots:{message.outcome}")
        for reason in dict.fromkeys(message.reasons):  # a reason named twice is one reason
            into.add(appid, scope, day, f"screenshot_reason:{part(reason)}")
    if message.decided_by == "reviewer":
        into.add(appid, ACCOUNT, day, f"review_wait:{review_wait_bucket(message.submitted_at, message.decided_at)}")


def _count_push(appid: str, message: PushDelivered | PushDeliveryFailed | PushClicked, into: Rollups) -> None:
    push = push_scope(message.push_id)
    variant = part(message.variant) if message.variant else "-"
    project = project_scope(message.project_id) if message.project_id else None
    if isinstance(message, PushDelivered):
        day = beijing_day(message.delivered_at)
        into.add(appid, ACCOUNT, day, "pushes_delivered")
        into.add(appid, push, day, "delivered")
        into.add(appid, push, day, f"delivered:v:{variant}")
        if project is not None:
            into.add(appid, ACCOUNT, day, "project_delivered")
            into.add(appid, project, day, "delivered")
            into.add(appid, project, day, f"delivered:seg:{part(message.segment_id)}")
            into.add(appid, project, day, f"delivered:push:{part(message.push_id)}")
    elif isinstance(message, PushDeliveryFailed):
        day = beijing_day(message.failed_at)
        into.add(appid, ACCOUNT, day, "pushes_failed")
        into.add(appid, push, day, "failed")
        into.add(appid, push, day, f"failed:{message.errcode}")
        into.add(appid, push, day, f"failed:v:{variant}")
    else:
        day = beijing_day(message.clicked_at)
        into.add(appid, ACCOUNT, day, "push_clicks")
        into.add(appid, push, day, "clicks")
        into.add(appid, push, day, f"clicks:v:{variant}")
        if message.first:
            into.add(appid, ACCOUNT, day, "push_clickers")
            into.add(appid, push, day, "clickers")
            into.add(appid, push, day, f"clickers:v:{variant}")
        if project is not None:
            into.add(appid, project, day, "clicks")
            into.add(appid, project, day, f"clicks:push:{part(message.push_id)}")
            if message.first:
                into.add(appid, project, day, "clickers")
