"""The brand rules without I/O: the deal stage machine, project statuses, tiers, inactivity, periods and
pro-rated targets, who sees what, the counters' fold, progress and the business view."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.brands.domain.business import business_view
from services.brands.domain.model import (
    Brand,
    Deal,
    DealStage,
    IllegalStageMove,
    Invalid,
    Payment,
    Project,
    ProjectStatus,
    Team,
    beijing_day,
    can_move,
)
from services.brands.domain.progress import DeliveryFact, ProjectDay, fold, progress
from services.brands.domain.rules import (
    PeriodKind,
    Scope,
    Tier,
    TierThresholds,
    Viewer,
    check_handover,
    inactive,
    overlap_days,
    period_of,
    prorated_target,
    scope_of,
    spend_fen,
    tier_of,
)
from services.brands.settings import BrandsSettings
from shared.settings import SettingsError, load_settings

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
S = DealStage


def project(**changes: object) -> Project:
    fields: dict[str, object] = {
        "id": "p1",
        "brand_id": "b1",
        "appid": "wx1",
        "name": "Spring",
        "target_deliveries": 1000,
        "target_clicks": None,
        "starts_on": date(2026, 12, 1),
        "ends_on": date(2026, 12, 10),
        "price_fen": 100,
        "manager_id": "m1",
        "status": ProjectStatus.ACTIVE,
        "created_at": NOW,
    } | changes
    return Project(**fields)  # type: ignore[arg-type]


def brand(brand_id: str = "b1", owner: str = "m1", last: datetime = NOW) -> Brand:
    return Brand(brand_id, f"Brand {brand_id}", None, owner, last, last)


def payment(amount: int, due: date, received: date | None = None, brand_id: str = "b1") -> Payment:
    return Payment(f"pay{amount}{due}", brand_id, None, amount, due, received, NOW)


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (S.LEAD, S.PROPOSAL, True),
        (S.LEAD, S.SIGNED, True),  # skipping ahead is forward too
        (S.SIGNED, S.DELIVERING, True),
        (S.DELIVERING, S.RENEWED, True),
        (S.PROPOSAL, S.LEAD, False),  # never back
        (S.SIGNED, S.SIGNED, False),
        (S.LEAD, S.LOST, True),
        (S.DELIVERING, S.LOST, True),
        (S.RENEWED, S.LOST, False),  # closed stages stay closed
        (S.LOST, S.LEAD, False),
        (S.LOST, S.LOST, False),
    ],
)
def test_deals_move_forward_or_to_lost_from_an_open_stage(current: DealStage, to: DealStage, allowed: bool) -> None:
    assert can_move(current, to) is allowed


def test_a_deal_move_is_recorded_and_an_illegal_one_refused() -> None:
    deal = Deal("d1", "b1", "m1", S.LEAD, 100, None, NOW)
    deal.move(S.SIGNED, NOW + timedelta(hours=1), "m1")
    assert deal.stage is S.SIGNED and deal.history[-1].previous is S.LEAD and deal.history[-1].by == "m1"
    with pytest.raises(IllegalStageMove):
        deal.move(S.PROPOSAL, NOW, "m1")
    deal.move(S.LOST, NOW, "m1")
    assert not deal.is_open


def test_a_project_checks_its_figures_and_moves_forward() -> None:
    with pytest.raises(Invalid) as refused:
        project(target_deliveries=0)
    assert refused.value.field == "target_deliveries"
    with pytest.raises(Invalid) as refused:
        project(ends_on=date(2026, 11, 30))
    assert refused.value.field == "ends_on"
    with pytest.raises(Invalid):
        project(target_clicks=0)
    p = project(status=ProjectStatus.DRAFT)
    p.move(ProjectStatus.ACTIVE)
    p.move(ProjectStatus.ENDED)
    with pytest.raises(Invalid):
        p.move(ProjectStatus.ACTIVE)
    assert p.days == 10 and not p.is_open


def test_tiers_come_from_the_payments_received_in_the_last_12_months() -> None:
    today = date(2026, 12, 4)
    thresholds = TierThresholds.in_yuan(500_000, 100_000)
    payments = [
        payment(30_000_000, date(2026, 1, 1), received=date(2026, 1, 5)),
        payment(20_000_000, date(2025, 12, 1), received=date(2025, 12, 5)),  # inside: 364 days ago
        payment(90_000_000, date(2025, 1, 1), received=date(2025, 12, 4)),  # 365 days ago: outside
        payment(70_000_000, date(2026, 12, 1)),  # not received
    ]
    assert spend_fen(payments, today) == 50_000_000
    assert tier_of(50_000_000, thresholds) is Tier.A
    assert tier_of(49_999_999, thresholds) is Tier.B
    assert tier_of(10_000_000, thresholds) is Tier.B
    assert tier_of(9_999_999, thresholds) is Tier.C


def test_a_brand_is_inactive_after_the_set_days_without_anything_happening() -> None:
    b = brand(last=NOW - timedelta(days=30))
    assert inactive(b, NOW, 30) and not inactive(b, NOW - timedelta(seconds=1), 30)
    b.touch(NOW - timedelta(days=40))  # activity never moves back
    assert b.last_activity_at == NOW - timedelta(days=30)
    b.touch(NOW)
    assert not inactive(b, NOW, 30)


def test_periods_are_calendar_months_and_quarters() -> None:
    month = period_of(PeriodKind.MONTH, date(2026, 2, 14))
    assert (month.start, month.end, month.days, month.label) == (date(2026, 2, 1), date(2026, 2, 28), 28, "2026-02")
    quarter = period_of(PeriodKind.QUARTER, date(2026, 12, 31))
    assert (quarter.start, quarter.end, quarter.label) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    assert period_of(PeriodKind.QUARTER, date(2026, 4, 1)).end == date(2026, 6, 30)


def test_targets_are_pro_rated_by_the_days_a_project_overlaps_a_period() -> None:
    p = project(target_deliveries=3100, starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31))
    assert overlap_days(p.starts_on, p.ends_on, date(2026, 12, 1), date(2026, 12, 31)) == 31
    assert prorated_target(p, date(2026, 12, 1), date(2026, 12, 31)) == pytest.approx(3100 * 31 / 61)
    assert prorated_target(p, date(2026, 10, 1), date(2026, 12, 31)) == 3100
    assert prorated_target(p, date(2027, 1, 1), date(2027, 1, 31)) == 0


def test_who_sees_which_owners() -> None:
    teams = [Team("t1", "East", "head", ["m1", "m2"]), Team("t2", "West", "other", ["m3"])]
    assert scope_of(Viewer("root", admin=True), teams).everyone
    head = scope_of(Viewer("head", head=True), teams)
    assert head.owners == {"head", "m1", "m2"} and head.sees("m2") and not head.sees("m3")
    # A member of a team is no head of it: their own only, whatever their role's name.
    assert scope_of(Viewer("m1"), teams).owners == {"m1"}
    assert scope_of(Viewer("m1", head=True), teams).owners == {"m1"}
    check_handover(head, brand(owner="m1"), "m2")
    with pytest.raises(Invalid):
        check_handover(head, brand(owner="m1"), "m3")
    with pytest.raises(Invalid):
        check_handover(Scope(True, frozenset()), brand(owner="m1"), "m1")


def test_the_fold_counts_per_project_and_beijing_day() -> None:
    late = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 00:30 on the 2nd in Beijing
    counts = fold(
        [
            DeliveryFact("delivered", "p1", "push1", "s1", late),
            DeliveryFact("clicked", "p1", "push1", "s1", late, first=True),
            DeliveryFact("clicked", "p1", "push1", "s1", late, first=False),
        ]
    )
    assert beijing_day(late) == date(2026, 12, 2)
    assert counts == {
        ("p1", date(2026, 12, 2)): {
            "delivered": 1,
            "delivered:seg:s1": 1,
            "delivered:push:push1": 1,
            "clicks": 2,
            "clicks:seg:s1": 2,
            "clicks:push:push1": 2,
            "clickers": 1,
            "clickers:push:push1": 1,
        }
    }


def test_progress_runs_cumulative_against_a_linear_target_line() -> None:
    p = project(target_deliveries=100, target_clicks=10)
    days = [
        ProjectDay("p1", date(2026, 12, 1), {"delivered": 10, "clicks": 1, "clickers": 1}),
        ProjectDay("p1", date(2026, 12, 3), {"delivered": 20, "clicks": 4, "clickers": 2}),
    ]
    result = progress(p, days, date(2026, 12, 4))
    assert (result.delivered, result.completion, result.click_completion, result.click_rate) == (30, 30.0, 50.0, 10.0)
    assert [s.delivered_total for s in result.series] == [10, 10, 30, 30]
    assert [s.target_line for s in result.series] == [10.0, 20.0, 30.0, 40.0]
    assert result.expected_by_now == 40.0
    # Once the project is over the series stops at its last day; the line tops out at the target.
    finished = progress(p, days, date(2027, 1, 1))
    assert len(finished.series) == 10 and finished.series[-1].target_line == 100


def test_the_business_view_attributes_ranks_and_flags() -> None:
    at = date(2026, 12, 15)
    period = period_of(PeriodKind.MONTH, at)
    brands = [brand("b1", "m1"), brand("b2", "m2", last=NOW - timedelta(days=45))]
    projects = [
        project(
            id="p1",
            brand_id="b1",
            manager_id="m1",
            target_deliveries=310,
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
        ),
        project(
            id="p2",
            brand_id="b2",
            manager_id="m2",
            target_deliveries=100,
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 10),
        ),
        project(
            id="p3",
            brand_id="b2",
            manager_id="m2",
            target_deliveries=100,
            starts_on=date(2027, 1, 1),
            ends_on=date(2027, 1, 20),
            status=ProjectStatus.DRAFT,
        ),
    ]
    deals = [
        Deal("d1", "b1", "m1", S.DELIVERING, 500, None, NOW),
        Deal("d2", "b2", "m2", S.LOST, 700, None, NOW),
    ]
    payments = [
        payment(1000, date(2026, 12, 1), received=date(2026, 12, 2), brand_id="b1"),
        payment(300, date(2026, 12, 20), brand_id="b2"),
        payment(200, date(2026, 11, 20), brand_id="b2"),  # overdue
    ]
    view = business_view(
        period=period,
        at=at,
        now=NOW + timedelta(days=10),
        today=date(2026, 12, 14),
        brands=brands,
        projects=projects,
        deals=deals,
        payments=payments,
        teams=[Team("t1", "East", "head", ["m1", "m2"])],
        managers={"head", "m1", "m2"},
        delivered={"p1": 155, "p2": 100},
        thresholds=TierThresholds(a_fen=10_000, b_fen=1_000),
        inactive_days=30,
        renewal_days=30,
    )
    ranked = [(m.manager_id, m.figures.target, m.figures.delivered, m.figures.completion) for m in view.managers]
    assert ranked == [("m2", 100, 100, 100.0), ("m1", 310, 155, 50.0), ("head", 0, 0, None)]
    (team,) = view.teams
    assert (team.figures.target, team.figures.delivered, team.figures.received_fen) == (410, 255, 1000)
    assert (view.totals.due_fen, view.totals.overdue_fen) == (300, 200)
    assert [p.id for p in view.payments_overdue] == ["pay2002026-11-20"]
    assert [p.id for p in view.renewals] == ["p1"]  # p2 ends before the day, p3 after the window
    assert [d.id for d in view.delivering] == ["d1"]
    assert view.funnel[S.DELIVERING] == 1 and view.funnel[S.LOST] == 1 and view.funnel_value_fen[S.LOST] == 700
    assert view.tiers == {Tier.A: 0, Tier.B: 1, Tier.C: 1}
    assert [row.brand.id for row in view.inactive] == ["b2"]


def test_settings_name_the_inactivity_days_and_keep_the_tiers_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError):
        load_settings(BrandsSettings, tier_a_yuan=100, tier_b_yuan=200)
    assert load_settings(BrandsSettings).brands_inactive_days == 30
    monkeypatch.setenv("BRANDS_INACTIVE_DAYS", "7")
    assert load_settings(BrandsSettings).brands_inactive_days == 7
