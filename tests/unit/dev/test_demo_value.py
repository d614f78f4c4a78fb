"""The demo's value checks and the business it seeds for ``scrm up``, without anything running: the
Beijing day and month, the project's target, each dashboard figure against the services' counts, and
the seeded brands' tiers, renewals and payments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from scrm_dev.demo_business import DEMO_BRAND_PAID_YUAN, seed_plan
from scrm_dev.demo_value import Check, Truth, ValueRun, beijing_today, dashboard_checks, month_of, project_target
from services.brands.settings import BrandsSettings

TRUTH = Truth(
    members=39,
    following=35,
    unfollowed=4,
    campaign_id="c1",
    campaign_stats={
        "posters_sent": 26,
        "invites_credited": 18,
        "invites_revoked": 2,
        "rewards_granted": {"3": 6},
        "share_rewards_granted": 4,
        "screenshots": {"approved": 4, "rejected": 2, "review": 0},
    },
    push_id="p1",
    segment_id="s1",
    project_id="pr1",
    push_sent=1,
    push_clicks=1,
    members_tagged=7,
)


def _boards() -> dict[str, dict[str, Any]]:
    """What the dashboards answer when they agree with :data:`TRUTH`."""
    steps = {"poster_sent": 26, "poster_scans": 23, "poster_follows": 21, "credited": 20, "retained_7d": 0}
    return {
        "overview": {
            "totals": {
                "follows": 39,
                "unfollows": 4,
                "net_follows": 35,
                "pushes_delivered": 1,
                "credited": 20,
                "rewards": 10,
            },
            "follows_by_source": {"poster": 21, "qr": 6, "campaign_code": 6, "direct": 6},
            "unfollows_by_source": {"direct": 2, "poster": 2},
            "month": {"project_delivered": 1},
        },
        "campaigns": {"campaigns": [{"campaign_id": "c1", "poster_sent": 26}]},
        "campaign": {
            "totals": {"revoked": 2},
            "funnel": [{"step": step, "count": n} for step, n in steps.items()],
        },
        "screenshots": {"totals": {"approved": 4, "rejected": 2, "queued": 0}},
        "pushes": {"pushes": [{"push_id": "p1", "delivered": 1}]},
        "push": {"totals": {"delivered": 1, "clickers": 1}},
        "project": {"totals": {"delivered": 1, "clicks": 1}, "by_segment": [{"segment_id": "s1", "delivered": 1}]},
        "progress": {"delivered": 1, "clicks": 1},
        "coverage": {"tagged": {"count": 7}, "following": {"count": 35}},
    }


def _failed(boards: dict[str, dict[str, Any]]) -> list[str]:
    return [check.what for check in dashboard_checks(boards, TRUTH) if not check.ok]


def test_the_beijing_day_turns_at_16_utc_and_a_month_runs_first_to_last() -> None:
    assert beijing_today(datetime(2026, 3, 31, 15, 59, tzinfo=UTC)) == date(2026, 3, 31)
    assert beijing_today(datetime(2026, 3, 31, 16, 0, tzinfo=UTC)) == date(2026, 4, 1)
    assert month_of(date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_of(date(2028, 2, 29)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_of(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))


def test_the_project_target_is_twice_the_segment_and_never_zero() -> None:
    assert [project_target(n) for n in (0, 1, 7)] == [1, 2, 14]


def test_dashboards_that_agree_with_the_services_pass_every_check() -> None:
    checks = dashboard_checks(_boards(), TRUTH)
    assert _failed(_boards()) == []
    assert ValueRun(checks).ok
    # The queued screenshots may be none (no review in a small demo); everything else is non-zero.
    assert [c.what for c in checks if c.seen == 0] == ["screenshots queued"]


def test_a_figure_another_service_disagrees_with_fails_its_check() -> None:
    boards = _boards()
    boards["overview"]["totals"]["follows"] = 40  # a redelivered follow counted twice
    boards["progress"]["delivered"] = 0  # the brands worker has not caught up
    boards["campaign"]["totals"]["revoked"] = 1
    assert _failed(boards) == [
        "follows",
        "credited − revoked",
        "revoked",
        "project delivered (brands)",
        "value delivered this month",
    ]


def test_a_missing_dashboard_or_a_zero_figure_fails() -> None:
    boards = _boards()
    del boards["project"]
    boards["campaign"]["funnel"][1]["count"] = 0
    failed = _failed(boards)
    assert "poster_scans (funnel)" in failed and "project delivered" in failed and "project by segment" in failed
    assert not ValueRun([]).ok
    assert not Check("zero", 0).ok and Check("zero", 0, may_be_zero=True).ok and not Check("x", 2, 3).ok


def test_the_seeded_brands_fall_in_each_tier_with_a_renewal_and_an_overdue_payment() -> None:
    settings = BrandsSettings.model_construct()
    tier_a, tier_b = settings.tier_a_yuan, settings.tier_b_yuan
    today = date(2026, 12, 4)
    plans = seed_plan("manager", "head", today)
    spend = {plan.name: sum(yuan for yuan, ago in plan.received if ago < 365) for plan in plans}
    # The demo's own brand is tier A; these are B, C and C.
    assert tier_a <= DEMO_BRAND_PAID_YUAN
    assert [tier_b <= spend[p.name] < tier_a for p in plans] == [True, False, False]
    assert {plan.owner for plan in plans} == {"manager", "head"}
    assert any(due < 0 for plan in plans for _, due in plan.due)  # overdue
    ends = [end for plan in plans for *_, end in plan.projects]
    assert any(0 < end <= settings.renewal_window_days for end in ends)
    stages = {stage for plan in plans for deal in plan.deals for stage in deal}
    assert stages | {"delivering"} == {"lead", "proposal", "signed", "delivering", "renewed", "lost"}
    # One brand's last activity predates the platform by more than the inactivity threshold.
    dormant = [plan for plan in plans if plan.dormant_days]
    assert len(dormant) == 1 and dormant[0].dormant_days > settings.brands_inactive_days
