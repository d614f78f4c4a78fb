"""The referral graph: who invited whom, across an account's campaigns, and the patterns worth a look.

Pure: the caller loads the account's edges (one per credited invitation) and passes them in.

An edge is written when a credit is recorded and follows its invitation (credited, revoked); it also
remembers what the platform told us about the invitee since: whether they unfollowed (and when) and
whether they ever interacted after following (a message, a menu click, a scan).

Patterns flagged for review (:func:`find_flags`), each a hint for a person to judge, never a verdict:

``ring``
    Members inviting each other across campaigns: a cycle in the directed graph inviter → invitee
    (A credited for B in one campaign, B credited for A in another, or longer loops). Found as the
    strongly connected components with two or more members. Friends who really invite each other
    make small rings too; large ones, or many, are typical of account farms trading follows.
``unfollow_burst``
    At least ``burst_size`` of an inviter's credited invitees unfollowed within ``burst_window`` of each
    other, after their credit had stood (the credit was not taken back: the unfollows came after the
    revocation window). Followers bought or coaxed for the reward leave together once it is paid.
``silent_invitees``
    An inviter with at least ``silent_min`` credited invitees, none of whom ever interacted with the
    account after following, ``silent_after`` or more after the last one followed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "Edge",
    "Flag",
    "FlagRules",
    "InviterSummary",
    "find_flags",
    "find_rings",
    "summarise_inviters",
]


@dataclass(frozen=True)
class Edge:
    """One credited invitation: ``inviter`` brought ``invitee`` to the account in ``campaign_id``."""

    appid: str
    campaign_id: str
    inviter: str
    invitee: str
    credited_at: datetime
    status: str = "credited"  # credited | revoked (as the invitation)
    variant: str | None = None
    #: When the invitee first unfollowed after this credit (None: still following, as far as we know).
    unfollowed_at: datetime | None = None
    #: When the invitee first interacted after following (None: never).
    interacted_at: datetime | None = None


@dataclass(frozen=True)
class InviterSummary:
    """An inviter's invitees across campaigns and how many of them stayed."""

    inviter: str
    invitees: int
    campaigns: int
    revoked: int
    unfollowed: int
    interacted: int
    first_at: datetime
    last_at: datetime

    @property
    def retained(self) -> int:
        """Invitees credited who still follow (not revoked, not unfollowed since)."""
        return self.invitees - self.unfollowed

    @property
    def retention(self) -> float:
        return self.retained / self.invitees if self.invitees else 0.0


def summarise_inviters(edges: Iterable[Edge]) -> list[InviterSummary]:
    """One summary per inviter, most invitees first (then inviter, for a stable order)."""
    by_inviter: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        by_inviter[edge.inviter].append(edge)
    summaries = [
        InviterSummary(
            inviter=inviter,
            invitees=len(own),
            campaigns=len({edge.campaign_id for edge in own}),
            revoked=sum(edge.status == "revoked" for edge in own),
            unfollowed=sum(edge.unfollowed_at is not None for edge in own),
            interacted=sum(edge.interacted_at is not None for edge in own),
            first_at=min(edge.credited_at for edge in own),
            last_at=max(edge.credited_at for edge in own),
        )
        for inviter, own in by_inviter.items()
    ]
    return sorted(summaries, key=lambda s: (-s.invitees, s.inviter))


@dataclass(frozen=True)
class FlagRules:
    burst_size: int = 3
    burst_window: timedelta = timedelta(hours=6)
    silent_min: int = 5
    silent_after: timedelta = timedelta(days=3)


@dataclass(frozen=True)
class Flag:
    """A pattern for review: its kind, the members in it (inviters first), the campaigns, since when."""

    kind: str  # ring | unfollow_burst | silent_invitees
    members: tuple[str, ...]
    campaigns: tuple[str, ...]
    edges: int
    detail: str
    at: datetime
    inviters: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        """Stable while the pattern is the same set of members (a review can refer to it)."""
        digest = hashlib.sha256("|".join((self.kind, *sorted(self.members))).encode()).hexdigest()[:16]
        return f"{self.kind}:{digest}"


def find_rings(edges: Sequence[Edge]) -> list[list[str]]:
    """The strongly connected components with two or more members (members sorted; largest first).

    Iterative Tarjan (no recursion limit on long chains); revoked credits count too: a ring that
    unfollowed within the window still tried.
    """
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.inviter != edge.invitee:
            graph[edge.inviter].add(edge.invitee)
            graph.setdefault(edge.invitee, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components, key=lambda c: (-len(c), c))


def find_flags(edges: Sequence[Edge], now: datetime, rules: FlagRules | None = None) -> list[Flag]:
    """Every pattern in the account's edges worth a review (see the module's doc), rings first."""
    rules = rules or FlagRules()
    flags: list[Flag] = []
    for ring in find_rings(edges):
        members = set(ring)
        inside = [edge for edge in edges if edge.inviter in members and edge.invitee in members]
        campaigns = tuple(sorted({edge.campaign_id for edge in inside}))
        flags.append(
            Flag(
                "ring",
                tuple(ring),
                campaigns,
                len(inside),
                f"{len(ring)} members invited each other ({len(inside)} credits, {len(campaigns)} campaigns)",
                max(edge.credited_at for edge in inside),
                inviters=tuple(ring),
            )
        )
    by_inviter: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        by_inviter[edge.inviter].append(edge)
    for inviter, own in sorted(by_inviter.items()):
        burst = _unfollow_burst(own, rules)
        if burst:
            flags.append(
                Flag(
                    "unfollow_burst",
                    (inviter, *sorted(edge.invitee for edge in burst)),
                    tuple(sorted({edge.campaign_id for edge in burst})),
                    len(burst),
                    f"{len(burst)} credited invitees unfollowed within {_hours(rules.burst_window)} h of each other",
                    max(edge.unfollowed_at for edge in burst if edge.unfollowed_at is not None),
                    inviters=(inviter,),
                )
            )
        credited = [edge for edge in own if edge.status == "credited"]
        last = max((edge.credited_at for edge in credited), default=None)
        if (
            last is not None
            and len(credited) >= rules.silent_min
            and now - last >= rules.silent_after
            and all(edge.interacted_at is None for edge in credited)
        ):
            flags.append(
                Flag(
                    "silent_invitees",
                    (inviter, *sorted(edge.invitee for edge in credited)),
                    tuple(sorted({edge.campaign_id for edge in credited})),
                    len(credited),
                    f"none of {len(credited)} credited invitees interacted after following",
                    last,
                    inviters=(inviter,),
                )
            )
    return flags


def _unfollow_burst(edges: Sequence[Edge], rules: FlagRules) -> list[Edge]:
    """The largest set of credited invitees who unfollowed within the window of each other (or [])."""
    left = sorted(
        (edge for edge in edges if edge.status == "credited" and edge.unfollowed_at is not None),
        key=lambda edge: edge.unfollowed_at or edge.credited_at,
    )
    best: list[Edge] = []
    start = 0
    for end, edge in enumerate(left):
        assert edge.unfollowed_at is not None
        while (first := left[start].unfollowed_at) is not None and edge.unfollowed_at - first > rules.burst_window:
            start += 1
        if end - start + 1 > len(best):
            best = left[start : end + 1]
    return best if len(best) >= rules.burst_size else []


def _hours(window: timedelta) -> int:
    return int(window.total_seconds() // 3600)
