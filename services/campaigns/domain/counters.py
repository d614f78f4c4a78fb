"""A campaign's counters: the stats figures kept as small running counts beside its records. Pure.

Every write that changes a counted record (a participant's joining or poster, an invitation's status,
a refusal, a grant's delivery status, a submission's status) adds the change its record went through
to the counters, in the same transaction (the stores do it, see ``adapters/``), so reading the stats
never walks the records: :func:`stats_figures` turns the counts into the figures. :func:`recount`
computes the same counts from the records themselves: the rebuild, and the tests' check that the
counters equal a recount.

Counter names (``:`` separates a dimension; a grant without a delivery status is ``granted``)::

    participants:<joined_via>   posters_sent           invitations:<credited|revoked>
    invitations_confirmed       (of the credited, those past the revocation window)
    rejections:<reason>         rewards:<tier>:<status> (tier 0: the share reward)
    screenshots:<status>        members_reached_tier   members_rewarded

A campaign's counts are kept under the scope ``campaign:<id>``; an account's share-screenshot counts
(its review desk) under ``account:<appid>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "CONFIRMED",
    "GRANTED",
    "Counts",
    "Figures",
    "account_scope",
    "campaign_scope",
    "confirmation_change",
    "invitation_change",
    "participant_change",
    "recount",
    "rejection",
    "reward_change",
    "screenshot_counts",
    "stats_figures",
    "submission_change",
]

#: The delivery status of a grant whose coupon code has not been drawn yet (stored as no status).
GRANTED = "granted"

Counts = dict[str, int]


def campaign_scope(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def account_scope(appid: str) -> str:
    return f"account:{appid}"


def _named(kind: str, before: object | None, after: object | None) -> Counts:
    """A record whose ``kind`` dimension goes from ``before`` to ``after`` (None: no record)."""
    return _change(None if before is None else f"{kind}:{before}", None if after is None else f"{kind}:{after}")


def _change(before: str | None, after: str | None) -> Counts:
    """One record moving from the counter ``before`` to ``after`` (None: not there)."""
    if before == after:
        return {}
    counts: Counts = {}
    if before is not None:
        counts[before] = -1
    if after is not None:
        counts[after] = counts.get(after, 0) + 1
    return counts


def _merge(*parts: Mapping[str, int]) -> Counts:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return {name: n for name, n in total.items() if n}


def participant_change(before: tuple[str, bool] | None, after: tuple[str, bool] | None) -> Counts:
    """A participant as ``(joined_via, poster sent)`` before and after a write (None: absent)."""
    return _merge(
        _named("participants", None if before is None else before[0], None if after is None else after[0]),
        _change("posters_sent" if before and before[1] else None, "posters_sent" if after and after[1] else None),
    )


def invitation_change(before: str | None, after: str | None) -> Counts:
    """An invitation's status (``credited``/``revoked``) before and after."""
    return _named("invitations", before, after)


#: Standing credits that are confirmed (the rest of ``invitations:credited`` are pending).
CONFIRMED = "invitations_confirmed"


def confirmation_change(before: bool, after: bool) -> Counts:
    """A standing credit's confirmation before and after (a revoked credit is not confirmed)."""
    return _change(CONFIRMED if before else None, CONFIRMED if after else None)


def rejection(reason: str) -> Counts:
    return {f"rejections:{reason}": 1}


def reward_change(tier: int, before: str | None, after: str | None) -> Counts:
    """A grant of ``tier`` whose delivery status goes from ``before`` to ``after`` (None: no grant yet;
    a grant with no status is :data:`GRANTED`). Members reached and rewarded are counted by the store,
    which sees the member's other grants."""
    return _named(f"rewards:{tier}", before, after)


def submission_change(before: str | None, after: str | None) -> Counts:
    return _named("screenshots", before, after)


def screenshot_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Submissions by status, from a scope's counters (statuses with none left out)."""
    prefix = "screenshots:"
    return {name[len(prefix) :]: n for name, n in counts.items() if name.startswith(prefix) and n}


@dataclass(frozen=True)
class Figures:
    """The stats a campaign's counters answer (everything of ``CampaignStats`` but the leaderboard)."""

    participants: int
    posters_sent: int
    joined_via: dict[str, int]
    invites_credited: int
    invites_revoked: int
    rejections: dict[str, int]
    rewards_granted: dict[int, int]
    rewards_awaiting_stock: int
    screenshots: dict[str, int]
    share_rewards_granted: int
    members_reached_tier: int
    members_rewarded: int
    tier_rewards: dict[int, dict[str, int]]
    #: Standing credits past the revocation window; ``invites_credited - invites_confirmed`` pending.
    invites_confirmed: int = 0

    @property
    def invites_pending(self) -> int:
        return self.invites_credited - self.invites_confirmed


def stats_figures(counts: Mapping[str, int]) -> Figures:
    joined_via: dict[str, int] = {}
    rejections: dict[str, int] = {}
    tier_rewards: dict[int, dict[str, int]] = {}
    share_rewards = awaiting = 0
    for name, n in counts.items():
        if not n:
            continue
        kind, _, rest = name.partition(":")
        if kind == "participants":
            joined_via[rest] = n
        elif kind == "rejections":
            rejections[rest] = n
        elif kind == "rewards":
            tier_text, _, status = rest.partition(":")
            tier = int(tier_text)
            if status == "awaiting_stock":
                awaiting += n
            if tier == 0:  # the share-screenshot reward, reported on its own
                share_rewards += n
            else:
                tier_rewards.setdefault(tier, {})[status] = n
    return Figures(
        participants=sum(joined_via.values()),
        posters_sent=counts.get("posters_sent", 0),
        joined_via=joined_via,
        invites_credited=counts.get("invitations:credited", 0),
        invites_revoked=counts.get("invitations:revoked", 0),
        rejections=rejections,
        rewards_granted={tier: sum(statuses.values()) for tier, statuses in sorted(tier_rewards.items())},
        rewards_awaiting_stock=awaiting,
        screenshots=screenshot_counts(counts),
        share_rewards_granted=share_rewards,
        members_reached_tier=counts.get("members_reached_tier", 0),
        members_rewarded=counts.get("members_rewarded", 0),
        tier_rewards=tier_rewards,
        invites_confirmed=counts.get(CONFIRMED, 0),
    )


def recount(
    participants: Iterable[tuple[str, bool]],
    invitations: Iterable[str],
    rejections: Iterable[str],
    rewards: Iterable[tuple[str, int, str | None]],
    submissions: Iterable[str],
    confirmed: int = 0,
) -> Counts:
    """A campaign's counters computed from its records: participants as ``(joined_via, poster sent)``,
    invitation statuses, refusal reasons, grants as ``(member, tier, status)``, submission statuses,
    and how many standing credits are confirmed."""
    total: Counter[str] = Counter()
    total[CONFIRMED] = confirmed
    for joined in participants:
        total.update(participant_change(None, joined))
    for status in invitations:
        total.update(invitation_change(None, status))
    for reason in rejections:
        total.update(rejection(reason))
    reached: set[str] = set()
    rewarded: set[str] = set()
    for member, tier, delivery in rewards:
        total.update(reward_change(tier, None, delivery or GRANTED))
        if tier > 0:
            reached.add(member)
            if delivery == "issued":
                rewarded.add(member)
    for status in submissions:
        total.update(submission_change(None, status))
    total["members_reached_tier"] = len(reached)
    total["members_rewarded"] = len(rewarded)
    return {name: n for name, n in total.items() if n}
