"""Tag and life-stage coverage as counters: what each profile counts towards, and the figures read back.

A profile *counts towards* a set of counter keys (:func:`facets`): every member is under ``a:`` (all
profiles) and, while following, under ``f:`` too. Every write of a profile changes the counters by the
difference between the sets before and after (:func:`difference`), applied as increments in the same
transaction as the write, so the counters always equal a recount of the profiles (rebuilt with
:func:`recount`). The life stage moves on without writes, so what is counted is the declaration that
counts: its kind (``planning`` / ``pregnant`` / ``parenting`` / ``unknown``, by what was declared)
and its date (``due:`` and ``born:`` histograms by day); the stage as of any day is worked out from
those histograms when read (:func:`stages_of`), exactly as a walk over the profiles would.

Keys hold no dots (MongoDB reads them as paths): tag codes are written with ``/`` (:func:`code_key`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from functools import cache

from services.profiles.domain.profile import ConsentKind, Profile
from shared.maternal_infant import Basis, Stage, StageDeclaration, current_declaration, spans_for_stage

__all__ = [
    "ALL",
    "BEIJING",
    "FOLLOWING",
    "CoverageLedger",
    "StageKind",
    "beijing_day",
    "code_key",
    "code_of",
    "daily_part",
    "difference",
    "facets",
    "kind_of",
    "recount",
    "series",
    "stages_of",
]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
#: Scopes: every profile, and the members following now.
ALL, FOLLOWING = "a", "f"
#: Keys kept only in the totals (histograms of dates): daily documents leave them out.
_HISTOGRAMS = ("due:", "born:")


class StageKind(StrEnum):
    """What the declaration that counts says, independent of the day (the stage itself is not)."""

    PLANNING = "planning"  # "preparing" declared (备孕)
    PREGNANT = "pregnant"  # a due date (it counts as parenting once past: see stages_of)
    PARENTING = "parenting"  # a baby's birthday
    UNKNOWN = "unknown"  # nothing declared


_KINDS = {
    Basis.PREPARING: StageKind.PLANNING.value,
    Basis.DUE_DATE: StageKind.PREGNANT.value,
    Basis.BIRTHDAY: StageKind.PARENTING.value,
}
_UNKNOWN = StageKind.UNKNOWN.value


def code_key(code: str) -> str:
    return code.replace(".", "/")


def code_of(key: str) -> str:
    return key.replace("/", ".")


def kind_of(declaration: StageDeclaration | None) -> str:
    """The :class:`StageKind` value of the declaration that counts (a plain string: it is in keys)."""
    return _UNKNOWN if declaration is None else _KINDS[declaration.basis]


@cache
def _tag_keys(code: str, kind: str, following: bool) -> frozenset[str]:
    """The keys one held code counts towards: the code and its ancestors (a formula interest covers
    ``interest.feeding`` and ``interest`` too), alone and crossed with the stage kind, in each scope.
    Cached: a taxonomy has dozens of codes, and every read and write of a profile asks."""
    parts = code.split(".")
    keys: set[str] = set()
    for n in range(1, len(parts) + 1):
        key = "/".join(parts[:n])
        keys.update((f"tag:{key}", f"kt:{kind}:{key}"))
    scopes = (ALL, FOLLOWING) if following else (ALL,)
    return frozenset(f"{scope}:{key}" for scope in scopes for key in keys)


@cache
def _base_keys(kind: str, tagged: bool, marketing: bool, dated: str | None, following: bool) -> frozenset[str]:
    """The keys of everything but the tags (cached: few combinations, one per date at most)."""
    base = ["members", f"kind:{kind}"]
    if tagged:
        base.append("tagged")
    if marketing:
        base.append("marketing")
    if dated is not None:
        base.append(dated)
    scopes = (ALL, FOLLOWING) if following else (ALL,)
    return frozenset(f"{scope}:{key}" for scope in scopes for key in base)


def facets(profile: Profile | None) -> frozenset[str]:
    """The counter keys ``profile`` counts one towards (none for no profile)."""
    if profile is None:
        return frozenset()
    declarations = profile.declarations
    counting = declarations[0] if len(declarations) == 1 else current_declaration(declarations)
    kind = kind_of(counting)
    dated = None
    if counting is not None and counting.on is not None:
        dated = ("due:" if counting.basis is Basis.DUE_DATE else "born:") + counting.on.isoformat()
    following = profile.follow.following
    tagged = bool(profile.tags) or counting is not None
    keys = _base_keys(kind, tagged, profile.consented(ConsentKind.MARKETING), dated, following)
    if not profile.tags:
        return keys
    held = {code for code, _ in profile.tags}
    return keys.union(*(_tag_keys(code, kind, following) for code in held))


def difference(before: frozenset[str], after: frozenset[str]) -> dict[str, int]:
    """The increments that take the counters from ``before`` to ``after`` (zero ones left out)."""
    return {**dict.fromkeys(before - after, -1), **dict.fromkeys(after - before, 1)}


def daily_part(increments: Mapping[str, int]) -> dict[str, int]:
    """What a day's document keeps of ``increments``: everything but the date histograms."""
    return {key: n for key, n in increments.items() if not key.split(":", 1)[1].startswith(_HISTOGRAMS)}


def recount(profiles: Iterable[Profile]) -> dict[str, int]:
    """The counters of ``profiles`` from scratch (the rebuild, and the tests' reference)."""
    total: Counter[str] = Counter()
    for profile in profiles:
        total.update(facets(profile))
    return dict(total)


def beijing_day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BEIJING).date()


def stages_of(counts: Mapping[str, int], scope: str, today: date) -> dict[Stage, int]:
    """The life stages on ``today`` of the members counted in ``scope``, from the date histograms: each
    day falls in one stage's date span (``spans_for_stage``, as segments select them; a due date that
    has passed stands in for the birthday). ISO days compare as strings: nothing is parsed, and each
    day finds its span by bisection (the histograms hold thousands of days)."""
    kinds = {Basis.DUE_DATE: "due", Basis.BIRTHDAY: "born"}
    spans: dict[str, list[tuple[str, str, Stage]]] = {"due": [], "born": []}
    for stage in Stage:
        for span in spans_for_stage(stage, today):
            if span.basis in kinds:
                spans[kinds[span.basis]].append((_iso(span.through) or "~", _iso(span.after) or "", stage))
    for ranges in spans.values():
        ranges.sort()
    ends = {kind: [through for through, _, _ in ranges] for kind, ranges in spans.items()}
    stages: Counter[Stage] = Counter()
    stages[Stage.PREPARING] += counts.get(f"{scope}:kind:{StageKind.PLANNING.value}", 0)
    for key, n in counts.items():
        where, _, rest = key.partition(":")
        kind, _, on = rest.partition(":")
        if where != scope or kind not in spans or not n:
            continue
        at = bisect_left(ends[kind], on)  # the first span ending on or after the day
        if at < len(ends[kind]):
            _, after, stage = spans[kind][at]
            if on > after:
                stages[stage] += n
    return {stage: n for stage, n in stages.items() if n}


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def series(
    totals: Mapping[str, int], days: Mapping[date, Mapping[str, int]], first: date, last: date
) -> list[tuple[date, dict[str, int]]]:
    """The counters as they stood at the end of each day from ``first`` to ``last`` (Beijing), worked
    back from the totals: each day is the next one's without that next day's increments. ``days`` must
    hold every day after ``first`` that has increments (up to today); the date histograms are left out.
    """
    at: Counter[str] = Counter(daily_part(totals))
    for when, increments in days.items():
        if when > last:
            at.subtract(increments)
    out: list[tuple[date, dict[str, int]]] = []
    day = last
    while day >= first:
        out.append((day, {key: n for key, n in at.items() if n}))
        at.subtract(days.get(day, {}))
        day -= timedelta(days=1)
    return out[::-1]


class CoverageLedger:
    """One transaction's bookkeeping: the keys each member counted towards when the transaction read
    them (or last wrote them), and the increments its writes add up to, per account. The adapters keep
    one per unit of work and apply :meth:`increments` with the commit, one update per counter document
    however many profiles the batch wrote (fewer conflicts on the account's hot document)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], frozenset[str]] = {}
        self._pending: dict[str, Counter[str]] = {}

    def knows(self, member: tuple[str, str]) -> bool:
        return member in self._known

    def seen(self, member: tuple[str, str], profile: Profile | None) -> None:
        """The transaction read ``member``'s profile (None: there is none yet)."""
        self._known[member] = facets(profile)

    def wrote(self, profile: Profile) -> None:
        """The transaction wrote ``profile``: the difference from what it was counts."""
        member = (profile.appid, profile.openid)
        after = facets(profile)
        self.add(profile.appid, self._known.get(member, frozenset()), after)
        self._known[member] = after

    def add(self, appid: str, before: frozenset[str], after: frozenset[str]) -> None:
        """A member of ``appid`` went from counting towards ``before`` to ``after``."""
        self._pending.setdefault(appid, Counter()).update(difference(before, after))

    def increments(self) -> dict[str, dict[str, int]]:
        """appid -> key -> increment, the zero ones left out."""
        found = {appid: {k: n for k, n in counts.items() if n} for appid, counts in self._pending.items()}
        return {appid: counts for appid, counts in found.items() if counts}

    def clear(self) -> None:
        self._known.clear()
        self._pending.clear()
