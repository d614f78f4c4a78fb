"""Live segment membership: per-predicate member sets as compressed bitmaps over dense member numbers.

Each member known to the process gets a small number (the order they were first seen); every
predicate a rule can use has a bitmap of the numbers it holds for, or a structure that yields one
cheaply: tags, accounts, consents, spend tiers, campaigns and following are plain bitmaps; dates
(the counting life-stage declaration, the first follow, the last interaction) are bitmaps per day,
so "孕晚期 today" is the union of the days in its span; tag weights are kept in tenths per member,
so "weight ≥ 2.5" is one vectorized comparison. A rule is then set algebra (``all`` intersects,
``any`` unites, ``not`` subtracts from everyone), evaluated as of a day: time-based predicates move
with the calendar without rebuilding anything.

Pure computation (pyroaring and numpy, no I/O): the service fills it from MongoDB at start and keeps
it current from profile events; :meth:`MembershipIndex.upsert` replaces what it knew of a member.
"""

from __future__ import annotations

import array
import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from pyroaring import BitMap

from services.segments.domain.rules import All, AnyOf, MemberFacts, Not, Predicate, Rule
from shared.maternal_infant import (
    Basis,
    DateSpan,
    Stage,
    spans_for_age_months,
    spans_for_pregnancy_weeks,
    spans_for_stage,
)

__all__ = ["MARKETING_CONSENT", "WEIGHT_STEPS", "MembershipIndex", "Preview", "Reach"]

#: Tag weights are kept in steps of 1/WEIGHT_STEPS (rules' thresholds are in tenths), capped at 25.5.
WEIGHT_STEPS = 10
_NO_DAY = -1


@dataclass(frozen=True)
class Preview:
    size: int
    #: (appid, openid) of the first members of the segment, by member number.
    sample: tuple[tuple[str, str], ...]


class _DayBuckets:
    """Members by a day (an ordinal), for "between these days" as a union of per-day bitmaps."""

    def __init__(self) -> None:
        self._days: list[int] = []  # sorted keys of _by_day
        self._by_day: dict[int, BitMap] = {}
        self._of: array.array[int] = array.array("i")  # member number -> day, or _NO_DAY

    def set(self, number: int, day: int) -> None:
        while len(self._of) <= number:
            self._of.append(_NO_DAY)
        old = self._of[number]
        if old == day:
            return
        if old != _NO_DAY:
            self._by_day[old].discard(number)
        if day != _NO_DAY:
            bucket = self._by_day.get(day)
            if bucket is None:
                bucket = self._by_day[day] = BitMap()
                bisect.insort(self._days, day)
            bucket.add(number)
        self._of[number] = day

    def between(self, after: int | None, through: int | None) -> BitMap:
        """Members whose day is in ``after < day <= through`` (None: unbounded)."""
        start = 0 if after is None else bisect.bisect_right(self._days, after)
        stop = len(self._days) if through is None else bisect.bisect_right(self._days, through)
        buckets = [self._by_day[day] for day in self._days[start:stop]]
        return BitMap.union(*buckets) if buckets else BitMap()


#: The consent a push needs (``consents`` of the member facts, and the ``consent`` rule's value).
MARKETING_CONSENT = "marketing"


@dataclass(frozen=True)
class Reach:
    """Of the members a rule selects, those a push would send to and those it would skip, by reason."""

    matching: int
    reachable: int
    not_following: int
    no_consent: int

    @property
    def skipped(self) -> int:
        return self.not_following + self.no_consent


class MembershipIndex:
    """Who holds each predicate, for every member this process knows."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], int] = {}
        self._keys: list[tuple[str, str]] = []
        self._everyone = BitMap()
        self._accounts: dict[str, BitMap] = {}
        self._tags: dict[str, BitMap] = {}
        self._weights: dict[str, np.ndarray] = {}
        self._stage_days = {basis: _DayBuckets() for basis in (Basis.DUE_DATE, Basis.BIRTHDAY)}
        self._preparing = BitMap()
        self._followed = _DayBuckets()
        self._active = _DayBuckets()
        self._following = BitMap()
        self._campaigns: dict[str, BitMap] = {}
        self._invites: dict[str | None, dict[int, int]] = {}
        self._tiers: dict[str, BitMap] = {}
        self._consents: dict[str, BitMap] = {}

    def __len__(self) -> int:
        return len(self._everyone)

    def number(self, appid: str, openid: str) -> int:
        key = (appid, openid)
        found = self._numbers.get(key)
        if found is None:
            found = self._numbers[key] = len(self._keys)
            self._keys.append(key)
        return found

    def member(self, number: int) -> tuple[str, str]:
        return self._keys[number]

    # -- updates --------------------------------------------------------------------------------------

    def upsert(self, facts: MemberFacts) -> None:
        """Replace what the index knows of one member with ``facts``."""
        n = self.number(facts.appid, facts.openid)
        self._everyone.add(n)
        _member_of(self._accounts, facts.appid).add(n)
        for code, members in self._tags.items():
            if code not in facts.tags and n in members:
                members.discard(n)
                self._weights[code][n] = 0
        for code, weight in facts.tags.items():
            _member_of(self._tags, code).add(n)
            self._weight_column(code, n)[n] = min(255, int(weight * WEIGHT_STEPS + 1e-9))
        preparing = facts.stage_basis is Basis.PREPARING
        (self._preparing.add if preparing else self._preparing.discard)(n)
        for basis, days in self._stage_days.items():
            on = facts.stage_on if facts.stage_basis is basis and facts.stage_on is not None else None
            days.set(n, _NO_DAY if on is None else on.toordinal())
        self._followed.set(n, _ordinal(facts.first_followed_at))
        self._active.set(n, _ordinal(facts.last_active_at))
        (self._following.add if facts.following else self._following.discard)(n)
        _replace(self._campaigns, n, facts.campaigns)
        _replace(self._tiers, n, {facts.spend_tier} if facts.spend_tier else set())
        _replace(self._consents, n, facts.consents)
        for counts in self._invites.values():
            counts.pop(n, None)
        for campaign, count in facts.invites.items():
            if count:
                self._invites.setdefault(campaign, {})[n] = count
        total = sum(facts.invites.values())
        if total:
            self._invites.setdefault(None, {})[n] = total

    def _weight_column(self, code: str, n: int) -> np.ndarray:
        column = self._weights.get(code)
        if column is None or len(column) <= n:
            grown = np.zeros(max(1024, 2 * (n + 1)), dtype=np.uint8)
            if column is not None:
                grown[: len(column)] = column
            column = self._weights[code] = grown
        return column

    # -- queries --------------------------------------------------------------------------------------

    def select(self, rule: Rule, now: datetime) -> BitMap:
        """The member numbers in ``rule``'s segment as of ``now``."""
        match rule:
            case All(children):
                ordered = sorted((self.select(child, now) for child in children), key=len)
                return BitMap.intersection(*ordered) if len(ordered) > 1 else ordered[0]
            case AnyOf(children):
                return BitMap.union(*(self.select(child, now) for child in children))
            case Not(child):
                return self._everyone - self.select(child, now)
            case Predicate():
                return self._predicate(rule, now)
        raise TypeError(f"not a rule: {rule!r}")

    def preview(self, rule: Rule, now: datetime, sample: int = 20) -> Preview:
        members = self.select(rule, now)
        first: list[tuple[str, str]] = []
        for number in members:
            if len(first) == sample:
                break
            first.append(self._keys[number])
        return Preview(len(members), tuple(first))

    def keys(self, numbers: Iterable[int]) -> Iterator[tuple[str, str]]:
        return (self._keys[number] for number in numbers)

    def _predicate(self, predicate: Predicate, now: datetime) -> BitMap:
        value = predicate.value
        today = now.date()
        match predicate.kind:
            case "has_tag":
                return self._tags.get(value, BitMap()).copy()
            case "tag_weight":
                code, weight = value
                column = self._weights.get(code)
                if column is None:
                    return BitMap()
                numbers = np.flatnonzero(column >= round(weight * WEIGHT_STEPS)).astype(np.uint32)
                return BitMap(array.array("I", numbers.tobytes()))
            case "stage_in":
                return BitMap.union(BitMap(), *(self._spans(spans_for_stage(Stage(code), today)) for code in value))
            case "pregnancy_week":
                return self._spans(spans_for_pregnancy_weeks(value[0], value[1], today))
            case "baby_age_months":
                return self._spans(spans_for_age_months(value[0], value[1], today))
            case "followed_since":
                return self._followed.between(value.toordinal() - 1, None)
            case "followed_before":
                return self._followed.between(None, value.toordinal() - 1)
            case "active_within_days":
                since = now - timedelta(days=value)
                # Days are whole: the day the window starts is included, a slight widening at its edge.
                return self._active.between(since.date().toordinal() - 1, None)
            case "joined_campaign":
                return self._campaigns.get(value, BitMap()).copy()
            case "invited_at_least":
                count, campaign = value
                counts = self._invites.get(campaign, {})
                return BitMap(n for n, done in counts.items() if done >= count)
            case "spend_tier":
                return BitMap.union(BitMap(), *(self._tiers.get(tier, BitMap()) for tier in value))
            case "consent":
                return self._consents.get(value, BitMap()).copy()
            case "account":
                return self._accounts.get(value, BitMap()).copy()
        raise ValueError(f"unknown condition {predicate.kind!r}")

    def _spans(self, spans: Iterable[DateSpan]) -> BitMap:
        found = BitMap()
        for span in spans:
            if span.basis is Basis.PREPARING:
                found |= self._preparing
                continue
            after = None if span.after is None else span.after.toordinal()
            through = None if span.through is None else span.through.toordinal()
            found |= self._stage_days[span.basis].between(after, through)
        return found

    def following(self) -> BitMap:
        return self._following.copy()

    def reach(self, members: BitMap) -> Reach:
        """How many of ``members`` a push could reach: following now and consenting to marketing
        messages (the dispatcher skips the others as ``unfollowed`` and ``no_consent``, in that order)."""
        following = members & self._following
        consenting = following & self._consents.get(MARKETING_CONSENT, BitMap())
        return Reach(
            matching=len(members),
            reachable=len(consenting),
            not_following=len(members) - len(following),
            no_consent=len(following) - len(consenting),
        )

    def account(self, appid: str) -> BitMap:
        """Every member of one account (a push goes to its account's members only)."""
        return self._accounts.get(appid, BitMap()).copy()


def _member_of(sets: dict[str, BitMap], key: str) -> BitMap:
    found = sets.get(key)
    if found is None:
        found = sets[key] = BitMap()
    return found


def _replace(sets: dict[str, BitMap], n: int, keys: Iterable[str]) -> None:
    wanted = set(keys)
    for key, members in sets.items():
        if key not in wanted:
            members.discard(n)
    for key in wanted:
        _member_of(sets, key).add(n)


def _ordinal(moment: datetime | date | None) -> int:
    if moment is None:
        return _NO_DAY
    return (moment.date() if isinstance(moment, datetime) else moment).toordinal()
