"""The business view (``brand:view``): the figures a manager opens every morning, over the caller's
scope (admin: everyone; sales head: their teams; account manager: their own)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.brands.domain.business import BusinessView
from services.brands.domain.rules import PeriodKind
from services.brands.entrypoints.http.deps import CanView, Now, Today, UseCases, operator_names, viewer_of
from services.brands.entrypoints.http.schemas import (
    BusinessOut,
    DealOut,
    FiguresOut,
    FunnelStep,
    InactiveBrand,
    ManagerRow,
    PaymentOut,
    PaymentsOut,
    PeriodOut,
    RenewalProject,
    RenewalsOut,
    TeamRow,
)

__all__ = ["TAG", "router"]

TAG = "business"
router = APIRouter(tags=[TAG])


def _out(view: BusinessView, at: date, today: date, names: dict[str, str]) -> BusinessOut:
    brand_names = view.brand_names
    ids = {m.manager_id for m in view.managers} | {p.manager_id for p in view.renewals}
    ids |= {i for t in view.teams for i in (t.team.head_id, *t.team.member_ids)}
    ids |= {row.brand.owner_id for row in view.inactive} | {d.owner_id for d in view.delivering}
    return BusinessOut(
        period=PeriodOut(
            kind=view.period.kind.value, label=view.period.label, start=view.period.start, end=view.period.end
        ),
        at=at,
        totals=FiguresOut.of(view.totals),
        managers=[
            ManagerRow(
                manager_id=m.manager_id,
                name=names.get(m.manager_id),
                rank=m.rank,
                **FiguresOut.of(m.figures).model_dump(),
            )
            for m in view.managers
        ],
        teams=[
            TeamRow(
                team_id=t.team.id,
                name=t.team.name,
                head_id=t.team.head_id,
                member_ids=t.team.member_ids,
                **FiguresOut.of(t.figures).model_dump(),
            )
            for t in view.teams
        ],
        payments=PaymentsOut(
            received_fen=view.totals.received_fen,
            due_fen=view.totals.due_fen,
            overdue_fen=view.totals.overdue_fen,
            due=[PaymentOut.of(p, today) for p in view.payments_due],
            overdue=[PaymentOut.of(p, today) for p in view.payments_overdue],
        ),
        renewals=RenewalsOut(
            projects=[
                RenewalProject(
                    id=p.id,
                    name=p.name,
                    brand_id=p.brand_id,
                    brand_name=brand_names.get(p.brand_id, ""),
                    manager_id=p.manager_id,
                    ends_on=p.ends_on,
                    days_left=(p.ends_on - at).days,
                )
                for p in view.renewals
            ],
            deals=[DealOut.of(d) for d in view.delivering],
        ),
        funnel=[
            FunnelStep(stage=stage, count=count, value_fen=view.funnel_value_fen[stage])
            for stage, count in view.funnel.items()
        ],
        tiers={tier.value: n for tier, n in view.tiers.items()},
        inactive=[
            InactiveBrand(
                brand_id=row.brand.id,
                name=row.brand.name,
                owner_id=row.brand.owner_id,
                last_activity_at=row.brand.last_activity_at,
                days_inactive=row.days_inactive,
                tier=row.tier.value,
            )
            for row in view.inactive
        ],
        names={i: names[i] for i in sorted(ids) if i in names},
    )


@router.get("/business", summary="Targets, completion, payments, renewals, ranking, funnel, tiers, inactive brands")
async def business(
    actor: CanView,
    request: Request,
    use_cases: UseCases,
    now: Now,
    today: Today,
    period: PeriodKind = PeriodKind.MONTH,
    at: Annotated[date | None, Query(description="A day in the period (default: today, Beijing)")] = None,
) -> BusinessOut:
    day = at or today
    view = await use_cases.business(viewer_of(actor), period, day, now)
    return _out(view, day, today, await operator_names(request))
