"""The dashboards' pure rules: ranges and the period before, change, series, funnel, retention, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from fastapi.routing import APIRoute

from services.analytics.domain.dashboards import (
    MAX_DAYS,
    DayRange,
    RangeInvalid,
    Rollup,
    Table,
    beijing_today,
    by_day,
    change,
    cohort_days,
    csv_document,
    dimension,
    funnel,
    month_to_date,
    ratio,
    resolve_range,
    retention,
    series,
    tier_reached,
)
from services.analytics.entrypoints.http.dashboards import router
from shared.identity import Permission
from tests.unit.profiles.test_route_permissions import required

TODAY = date(2026, 3, 15)


def test_the_default_range_is_30_days_to_today_and_the_previous_period_is_as_long_right_before() -> None:
    days = resolve_range(None, None, TODAY)
    assert (days.first, days.last, days.days) == ("2026-02-14", "2026-03-15", 30)
    previous = days.previous()
    assert (previous.first, previous.last, previous.days) == ("2026-01-15", "2026-02-13", 30)
    assert resolve_range(None, date(2026, 3, 1), TODAY).first == "2026-01-31"
    assert resolve_range(date(2026, 3, 10), None, TODAY).last == "2026-03-15"
    one = resolve_range(TODAY, TODAY, TODAY)
    assert one.days == 1 and one.previous() == DayRange(date(2026, 3, 14), date(2026, 3, 14))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "from"),
        (None, date(2026, 3, 16), "to"),
        (date(2025, 2, 8), TODAY, "from"),
    ],
)
def test_a_range_that_cannot_be_answered_names_its_field(start: date | None, end: date | None, field: str) -> None:
    with pytest.raises(RangeInvalid) as refused:
        resolve_range(start, end, TODAY)
    assert refused.value.field == field


def test_the_longest_range_is_max_days() -> None:
    assert resolve_range(date(2025, 2, 9), TODAY, TODAY).days == MAX_DAYS == 400


def test_today_is_the_beijing_day() -> None:
    assert beijing_today(datetime(2026, 3, 14, 15, 59, tzinfo=UTC)) == date(2026, 3, 14)
    assert beijing_today(datetime(2026, 3, 14, 16, 0, tzinfo=UTC)) == date(2026, 3, 15)
    assert month_to_date(TODAY) == DayRange(date(2026, 3, 1), TODAY)


def test_change_is_a_delta_and_a_percent_of_the_previous_period_when_there_was_one() -> None:
    assert change({"a": 15, "b": 3, "c": 0.5, "d": None}, {"a": 10, "b": 0, "c": 0.25, "d": 0.1}) == {
        "a": {"delta": 5, "percent": 50.0},
        "b": {"delta": 3, "percent": None},
        "c": {"delta": 0.25, "percent": 100.0},
        "d": {"delta": None, "percent": None},
    }
    assert ratio(1, 3) == 0.3333 and ratio(1, 0) is None


def test_series_has_every_day_in_order_with_zeros_for_days_without_rollups() -> None:
    rollups = [Rollup("account", "2026-03-02", {"follows": 2}), Rollup("push:p", "2026-03-02", {"follows": 1})]
    days = DayRange(date(2026, 3, 1), date(2026, 3, 3))
    entries = series(days, by_day(rollups), lambda c: {"follows": c.get("follows", 0)})
    assert entries == [
        {"day": "2026-03-01", "follows": 0},
        {"day": "2026-03-02", "follows": 3},
        {"day": "2026-03-03", "follows": 0},
    ]


def test_a_dimension_is_the_counters_after_its_prefix_largest_first() -> None:
    counters = {"follows": 9, "follows:qr": 2, "follows:poster": 5, "follows:direct": 0, "followsx": 1}
    assert dimension(counters, "follows") == {"poster": 5, "qr": 2}
    assert list(dimension({"r:b": 1, "r:a": 1}, "r")) == ["a", "b"]  # ties by name


def test_any_tier_reached_is_the_largest_tier_count_not_their_sum() -> None:
    assert tier_reached({"tier:1": 10, "tier:2": 4, "tier:3": 1}) == 10
    assert tier_reached({}) == 0


def test_retention_counts_only_credit_days_whose_window_has_closed() -> None:
    days = DayRange(date(2026, 3, 1), TODAY)
    # Credited on 03-07: watched until 03-14, which is over on the 15th. Credited on 03-08: still watched.
    assert cohort_days(days, TODAY, 7) == DayRange(date(2026, 3, 1), date(2026, 3, 7))
    assert cohort_days(days, TODAY, 30) is None
    daily = {
        "2026-03-07": {"credited": 4, "invitees_lost_7d": 1},
        "2026-03-08": {"credited": 100, "invitees_lost_7d": 0},
    }
    assert retention(daily, days, TODAY, 7) == {
        "window_days": 7,
        "cohort": {"from": "2026-03-01", "to": "2026-03-07", "days": 7},
        "credited": 4,
        "retained": 3,
        "rate": 0.75,
    }
    assert retention(daily, days, TODAY, 30) == {
        "window_days": 30,
        "cohort": None,
        "credited": 0,
        "retained": 0,
        "rate": None,
    }


def test_funnel_steps_compare_with_the_step_before_and_the_first() -> None:
    days = DayRange(date(2026, 1, 1), date(2026, 1, 31))
    daily = {
        "2026-01-05": {
            "poster_sent": 1000,
            "poster_scans": 300,
            "poster_follows": 120,
            "credited": 100,
            "invitees_lost_7d": 10,
            "invitees_lost_30d": 30,
            "tier:1": 20,
            "tier:2": 5,
            "rewards": 22,
        }
    }
    steps = {step["step"]: step for step in funnel(daily, days, TODAY)}
    assert [(s["count"], s["from_previous"], s["from_first"]) for s in steps.values()] == [
        (1000, None, 1.0),
        (300, 0.3, 0.3),
        (120, 0.4, 0.12),
        (100, 0.8333, 0.1),
        (90, 0.9, 0.09),
        (70, 0.7778, 0.07),  # 70 of the 90 kept a week
        (20, 0.2, 0.02),  # against credited: retention is a branch of the funnel, not a step towards tiers
        (22, 1.1, 0.022),
    ]
    assert steps["retained_30d"]["cohort"] == {"from": "2026-01-01", "to": "2026-01-31", "days": 31}
    empty = funnel({}, days, TODAY)
    assert all(step["count"] == 0 and step["from_first"] is None for step in empty)


def test_csv_has_a_bom_titled_sections_and_never_a_formula() -> None:
    tables = [
        Table.of("daily", [{"day": "2026-03-01", "follows": 1, "rate": None}]),
        Table("reasons", ["reason", "count"], [["=HYPERLINK(1)", 2], ["-", 1], ["二维码", 3]]),
    ]
    text = csv_document(tables)
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        ["daily"],
        ["day", "follows", "rate"],
        ["2026-03-01", "1", ""],
        [],
        ["reasons"],
        ["reason", "count"],
        ["'=HYPERLINK(1)", "2"],
        ["-", "1"],
        ["二维码", "3"],
    ]


def test_every_dashboard_route_needs_stats_view() -> None:
    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    assert {route.path for route in routes} == {
        "/accounts/{appid}/dashboards/overview",
        "/accounts/{appid}/dashboards/campaigns",
        "/accounts/{appid}/dashboards/campaigns/{campaign_id}",
        "/accounts/{appid}/dashboards/screenshots",
        "/accounts/{appid}/dashboards/pushes",
        "/accounts/{appid}/dashboards/pushes/{push_id}",
        "/accounts/{appid}/dashboards/projects/{project_id}",
    }
    for route in routes:
        assert required(route) == {Permission.STATS_VIEW.name.lower()}, route.path
