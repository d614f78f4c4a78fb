"""Who sees which brands, brand tiers, inactivity, periods and pro-rated targets. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.brands.domain.model import Brand, Invalid, Payment, Project, Team

__all__ = [
    "Period",
    "PeriodKind",
    "Scope",
    "Tier",
    "TierThresholds",
    "Viewer",
    "check_handover",
    "inactive",
    "overlap_days",
    "period_of",
    "prorated_target",
    "scope_of",
    "spend_fen",
    "tier_of",
]


@dataclass(frozen=True)
class Viewer:
    """The caller as the brand rules see them: their operator id, and whether they hold the admin role on
    every account or the sales head role."""

    actor_id: str
    admin: bool = False
    head: bool = False


@dataclass(frozen=True)
class Scope:
    """The brand owners (and project managers) whose records a viewer sees; ``everyone`` for admins."""

    everyone: bool
    owners: frozenset[str]

    def sees(self, owner_id: str) -> bool:
        return self.everyone or owner_id in self.owners

    def sees_brand(self, brand: Brand) -> bool:
        return self.sees(brand.owner_id)


def scope_of(viewer: Viewer, teams: Iterable[Team]) -> Scope:
    """An admin sees all; a sales head their own and those of the members of every team they head; an
    account manager their own."""
    if viewer.admin:
        return Scope(True, frozenset())
    owners = {viewer.actor_id}
    if viewer.head:
        for team in teams:
            if team.head_id == viewer.actor_id:
                owners.update(team.member_ids)
    return Scope(False, frozenset(owners))


def check_handover(scope: Scope, brand: Brand, to: str) -> None:
    """A brand goes to another manager within the hander's scope (an admin: anyone)."""
    if to == brand.owner_id:
        raise Invalid("to", "the brand is already theirs")
    if not scope.sees(to):
        raise Invalid("to", "hand brands over only to a manager of a team you head")


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"


@dataclass(frozen=True)
class TierThresholds:
    """Spend from which a brand is tier A, and B (fen); below B it is C."""

    a_fen: int
    b_fen: int

    @classmethod
    def in_yuan(cls, a: int, b: int) -> TierThresholds:
        return cls(a * 100, b * 100)


def spend_fen(payments: Iterable[Payment], today: date) -> int:
    """Payments received in the 12 months up to ``today`` (the last 365 days, today included)."""
    since = today - timedelta(days=364)
    return sum(p.amount_fen for p in payments if p.received_on is not None and since <= p.received_on <= today)


def tier_of(spend: int, thresholds: TierThresholds) -> Tier:
    if spend >= thresholds.a_fen:
        return Tier.A
    if spend >= thresholds.b_fen:
        return Tier.B
    return Tier.C


def inactive(brand: Brand, now: datetime, days: int) -> bool:
    """Nothing happened to the brand for ``days`` days: flagged for hand-over."""
    return now - brand.last_activity_at >= timedelta(days=days)


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class Period:
    """Beijing days ``start`` to ``end``, both included."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"


def period_of(kind: PeriodKind, at: date) -> Period:
    """The calendar month or quarter holding ``at``."""
    first_month = at.month if kind is PeriodKind.MONTH else (at.month - 1) // 3 * 3 + 1
    start = date(at.year, first_month, 1)
    months = 1 if kind is PeriodKind.MONTH else 3
    after_month = first_month + months
    after = date(at.year + (after_month - 1) // 12, (after_month - 1) % 12 + 1, 1)
    return Period(kind, start, after - timedelta(days=1))


def overlap_days(start: date, end: date, other_start: date, other_end: date) -> int:
    """Days two inclusive day ranges share."""
    return max(0, (min(end, other_end) - max(start, other_start)).days + 1)


def prorated_target(project: Project, start: date, end: date) -> float:
    """The share of a project's delivery target that falls in ``start``..``end``: its target spread evenly
    over its days, times the days it overlaps the range."""
    return project.target_deliveries * overlap_days(project.starts_on, project.ends_on, start, end) / project.days
