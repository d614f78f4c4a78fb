"""A little brand business around the demo's brand, for ``scrm up``: so the business view a manager
opens has something in it. Made through the brands API as an admin, like anyone would: a team (the head
and the manager), the demo's brand handed over to the manager, three more brands whose payments put
them in each tier, projects (one ending soon: a renewal), deals in every stage and a payment due and one
overdue.

One brand is dormant: inactivity is the time since a brand's last activity, which only real activity
moves (the API sets it to now), so :func:`seed_business` names the brand whose history predates the
platform (``BusinessSeed.dormant``) and ``scrm up`` dates its last activity back, as an import from the
previous CRM would, so the business view flags it for hand-over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from scrm_dev.demo_value import month_of
from scrm_dev.stack import DEMO_APPID

__all__ = ["DEMO_BRAND_PAID_YUAN", "DORMANT_DAYS", "BusinessSeed", "seed_business", "seed_plan"]

_YUAN = 100  # fen
#: How long the dormant brand has been quiet: past the brands service's default of 30 days.
DORMANT_DAYS = 45
#: What the demo's brand paid up front for its project: tier A.
DEMO_BRAND_PAID_YUAN = 600_000


@dataclass(frozen=True)
class BrandPlan:
    name: str
    industry: str
    owner: str
    #: Payments received: (yuan, days ago).
    received: tuple[tuple[int, int], ...] = ()
    #: Payments not received: (yuan, due in days; negative: overdue).
    due: tuple[tuple[int, int], ...] = ()
    #: Projects: (name, target deliveries, starts (days from today), ends (days from today)).
    projects: tuple[tuple[str, int, int, int], ...] = ()
    #: Deals: the stages each goes through (the first is where it opens).
    deals: tuple[tuple[str, ...], ...] = ()
    #: Days since its last activity before the platform (0: none; it is active).
    dormant_days: int = 0


def seed_plan(manager: str, head: str, today: date) -> list[BrandPlan]:
    """The brands besides the demo's (pure: what ``seed_business`` makes, relative to ``today``)."""
    first, last = month_of(today)
    this_month = ((first - today).days, (last - today).days)
    return [
        BrandPlan(
            "暖芽纸尿裤",
            "纸尿裤",
            manager,
            received=((150_000, 60),),
            due=((30_000, -10),),
            projects=(("新生儿试用装 本月推送", 5_000, *this_month),),
            deals=(("signed", "delivering", "renewed"), ("signed",)),
        ),
        BrandPlan(
            "萌趣玩具",
            "玩具",
            head,
            received=((20_000, 100),),
            projects=(("早教玩具 季度推送", 3_000, -80, 10),),
            deals=(("proposal",), ("lead", "lost")),
        ),
        BrandPlan("安睡宝寝具", "寝具", manager, deals=(("lead",),), dormant_days=DORMANT_DAYS),
    ]


@dataclass(frozen=True)
class BusinessSeed:
    brands: int
    projects: int
    deals: int
    payments: int
    #: Brands to date back: (brand id, days since their last activity).
    dormant: tuple[tuple[str, int], ...] = ()


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body)
    answer.raise_for_status()
    created: dict[str, Any] = answer.json()
    return created


async def seed_business(
    api: httpx.AsyncClient, *, demo_brand_id: str, demo_project_id: str, manager: str, head: str, today: date
) -> BusinessSeed:
    """``api``: the brands API with an admin's token; ``manager`` and ``head``: operator names."""
    await _post(api, "/teams", {"name": "华东母婴组", "head_id": head, "member_ids": [manager]})
    handover = {"to": manager, "reason": "demo: the brand's account manager takes it over"}
    await _post(api, f"/brands/{demo_brand_id}/handover", handover)
    # The demo's brand paid its project up front (tier A) and owes the rest at the end of the month.
    payments = [
        {"brand_id": demo_brand_id, "project_id": demo_project_id, "amount_fen": DEMO_BRAND_PAID_YUAN * _YUAN,
         "due_on": (today - timedelta(days=20)).isoformat(), "received_on": (today - timedelta(days=20)).isoformat()},
        {"brand_id": demo_brand_id, "project_id": demo_project_id, "amount_fen": 200_000 * _YUAN,
         "due_on": month_of(today)[1].isoformat()},
    ]  # fmt: skip
    deals = 1
    await _post(api, "/deals", {"brand_id": demo_brand_id, "stage": "delivering", "value_fen": 800_000 * _YUAN})
    projects = 0
    dormant: list[tuple[str, int]] = []
    plans = seed_plan(manager, head, today)
    for plan in plans:
        brand = await _post(api, "/brands", {"name": plan.name, "industry": plan.industry, "owner_id": plan.owner})
        if plan.dormant_days:
            dormant.append((str(brand["id"]), plan.dormant_days))
        for yuan, ago in plan.received:
            on = (today - timedelta(days=ago)).isoformat()
            payments.append({"brand_id": brand["id"], "amount_fen": yuan * _YUAN, "due_on": on, "received_on": on})
        for yuan, due_in in plan.due:
            due_on = (today + timedelta(days=due_in)).isoformat()
            payments.append({"brand_id": brand["id"], "amount_fen": yuan * _YUAN, "due_on": due_on})
        for name, target, starts, ends in plan.projects:
            body = {
                "appid": DEMO_APPID,
                "name": name,
                "target_deliveries": target,
                "starts_on": (today + timedelta(days=starts)).isoformat(),
                "ends_on": (today + timedelta(days=ends)).isoformat(),
                "price_fen": target * 20 * _YUAN,
                "status": "active",
            }
            await _post(api, f"/brands/{brand['id']}/projects", body)
            projects += 1
        for stages in plan.deals:
            opened = {"brand_id": brand["id"], "stage": stages[0], "value_fen": 100_000 * _YUAN}
            deal = await _post(api, "/deals", opened)
            for stage in stages[1:]:
                deal = await _post(api, f"/deals/{deal['id']}/stage", {"stage": stage, "version": deal["version"]})
            deals += 1
    for payment in payments:
        await _post(api, "/payments", payment)
    return BusinessSeed(
        brands=1 + len(plans), projects=1 + projects, deals=deals, payments=len(payments), dormant=tuple(dormant)
    )
