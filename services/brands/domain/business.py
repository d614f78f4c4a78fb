"""The business view: targets and completion per account manager and team for a month or quarter,
payments, renewals, the ranking of managers, the deal funnel, brand tiers and inactive brands. Pure:
computed from the records a viewer may see (the service layer has scoped them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.brands.domain.model import FUNNEL, Brand, Deal, DealStage, Payment, Project, ProjectStatus, Team
from services.brands.domain.progress import rate
from services.brands.domain.rules import (
    Period,
    Tier,
    TierThresholds,
    inactive,
    overlap_days,
    prorated_target,
    spend_fen,
    tier_of,
)

__all__ = ["BrandStanding", "BusinessView", "Figures", "ManagerFigures", "TeamFigures", "business_view", "standing"]


@dataclass(frozen=True)
class Figures:
    """Targets against deliveries in the period, and money."""

    #: Σ over the projects overlapping the period of target × overlap days / project days, rounded.
    target: int
    delivered: int
    #: delivered / target, percent (None without a target).
    completion: float | None
    projects: int
    received_fen: int
    due_fen: int
    overdue_fen: int


@dataclass(frozen=True)
class ManagerFigures:
    manager_id: str
    figures: Figures
    rank: int


@dataclass(frozen=True)
class TeamFigures:
    team: Team
    figures: Figures


@dataclass(frozen=True)
class BrandStanding:
    """A brand with its tier, spend and activity, as lists show it."""

    brand: Brand
    spend_fen: int
    tier: Tier
    inactive: bool
    days_inactive: int


def standing(
    brand: Brand, payments: Iterable[Payment], now: datetime, today: date, thresholds: TierThresholds, days: int
) -> BrandStanding:
    spend = spend_fen(payments, today)
    return BrandStanding(
        brand,
        spend,
        tier_of(spend, thresholds),
        inactive(brand, now, days),
        max(0, (now - brand.last_activity_at).days),
    )


@dataclass(frozen=True)
class BusinessView:
    period: Period
    managers: list[ManagerFigures]
    teams: list[TeamFigures]
    totals: Figures
    #: Payments due in the period not received yet, and all overdue ones (due before today).
    payments_due: list[Payment]
    payments_overdue: list[Payment]
    #: Open projects ending within the renewal window of the view's date.
    renewals: list[Project]
    #: Deals delivering now: the next renewals.
    delivering: list[Deal]
    funnel: dict[DealStage, int]
    funnel_value_fen: dict[DealStage, int]
    tiers: dict[Tier, int]
    inactive: list[BrandStanding]
    brand_names: dict[str, str]


def _figures(
    projects: Sequence[Project],
    delivered: Mapping[str, int],
    payments: Sequence[Payment],
    period: Period,
    today: date,
) -> Figures:
    overlapping = [p for p in projects if overlap_days(p.starts_on, p.ends_on, period.start, period.end) > 0]
    target = round(sum(prorated_target(p, period.start, period.end) for p in overlapping))
    done = sum(delivered.get(p.id, 0) for p in projects)
    return Figures(
        target=target,
        delivered=done,
        completion=rate(done, target),
        projects=len(overlapping),
        received_fen=sum(
            p.amount_fen for p in payments if p.received_on is not None and period.start <= p.received_on <= period.end
        ),
        due_fen=sum(p.amount_fen for p in payments if p.received_on is None and period.start <= p.due_on <= period.end),
        overdue_fen=sum(p.amount_fen for p in payments if p.overdue(today)),
    )


def business_view(
    *,
    period: Period,
    at: date,
    now: datetime,
    today: date,
    brands: Sequence[Brand],
    projects: Sequence[Project],
    deals: Sequence[Deal],
    payments: Sequence[Payment],
    teams: Sequence[Team],
    managers: Iterable[str],
    delivered: Mapping[str, int],
    thresholds: TierThresholds,
    inactive_days: int,
    renewal_days: int,
) -> BusinessView:
    """``delivered`` is each project's deliveries in the period. A project counts for its manager; a
    payment for its brand's owner; a team adds up its head's and members' figures. Managers are ranked by
    completion, then by deliveries (no target: after those with one)."""
    owner_of = {b.id: b.owner_id for b in brands}
    people = set(managers) | {p.manager_id for p in projects} | set(owner_of.values())

    def of(people_ids: set[str]) -> Figures:
        return _figures(
            [p for p in projects if p.manager_id in people_ids],
            delivered,
            [p for p in payments if owner_of.get(p.brand_id) in people_ids],
            period,
            today,
        )

    per_manager = {m: of({m}) for m in people}
    ordered = sorted(
        per_manager.items(),
        key=lambda item: (item[1].completion is None, -(item[1].completion or 0.0), -item[1].delivered, item[0]),
    )
    ranked = [ManagerFigures(m, figures, rank) for rank, (m, figures) in enumerate(ordered, start=1)]
    team_rows = [TeamFigures(t, of({t.head_id, *t.member_ids})) for t in sorted(teams, key=lambda t: t.name)]

    horizon = at + timedelta(days=renewal_days)
    tiers: Counter[Tier] = Counter(dict.fromkeys(Tier, 0))
    flagged: list[BrandStanding] = []
    by_brand: dict[str, list[Payment]] = {}
    for payment in payments:
        by_brand.setdefault(payment.brand_id, []).append(payment)
    for brand in brands:
        row = standing(brand, by_brand.get(brand.id, []), now, today, thresholds, inactive_days)
        tiers[row.tier] += 1
        if row.inactive:
            flagged.append(row)
    funnel = dict.fromkeys((*FUNNEL, DealStage.LOST), 0)
    funnel_value = dict(funnel)
    for deal in deals:
        funnel[deal.stage] += 1
        funnel_value[deal.stage] += deal.value_fen
    return BusinessView(
        period=period,
        managers=ranked,
        teams=team_rows,
        totals=of(people),
        payments_due=sorted(
            (p for p in payments if p.received_on is None and period.start <= p.due_on <= period.end),
            key=lambda p: (p.due_on, p.id),
        ),
        payments_overdue=sorted((p for p in payments if p.overdue(today)), key=lambda p: (p.due_on, p.id)),
        renewals=sorted(
            (p for p in projects if p.status is not ProjectStatus.ENDED and at <= p.ends_on <= horizon),
            key=lambda p: (p.ends_on, p.id),
        ),
        delivering=sorted((d for d in deals if d.stage is DealStage.DELIVERING), key=lambda d: d.id),
        funnel=funnel,
        funnel_value_fen=funnel_value,
        tiers=dict(tiers),
        inactive=sorted(flagged, key=lambda row: (-row.days_inactive, row.brand.id)),
        brand_names={b.id: b.name for b in brands},
    )
