"""The dashboards' pure parts: the range control, changes, the chart specs and the CSV sections."""

from __future__ import annotations

from datetime import date

from services.console.domain.dashboards import (
    DateRange,
    change,
    choose_range,
    csv_sections,
    daily_chart,
    rate,
    same_days_last_month,
)

TODAY = date(2026, 3, 15)


def test_presets_end_today_and_this_month_starts_on_the_first() -> None:
    assert choose_range("", "", "7d", TODAY).range == DateRange(date(2026, 3, 9), TODAY)
    assert choose_range("", "", "90d", TODAY).range.days == 90
    month = choose_range("", "", "month", TODAY)
    assert month.range == DateRange(date(2026, 3, 1), TODAY) and month.preset == "month"


def test_typed_dates_are_checked_and_a_range_that_is_a_preset_says_so() -> None:
    typed = choose_range("2026-03-09", "2026-03-15", "", TODAY)
    assert typed.range.days == 7 and typed.preset == "7d" and not typed.errors
    assert choose_range("2026-01-01", "2026-01-31", "", TODAY).preset == ""
    assert choose_range("", "", "", TODAY).range == DateRange(date(2026, 2, 14), TODAY)  # the API's default
    for start, end, field in [
        ("2026-13-01", "", "from"),
        ("", "soon", "to"),
        ("2026-03-10", "2026-03-01", "from"),
        ("2026-03-10", "2026-03-16", "to"),  # after today
        ("2024-01-01", "2026-03-15", "to"),  # more than 400 days
    ]:
        refused = choose_range(start, end, "", TODAY)
        assert list(refused.errors) == [field], (start, end)
        assert refused.range.days == 30 and refused.range.end == TODAY  # the default, still shown


def test_the_previous_period_has_the_same_length_and_ends_the_day_before() -> None:
    chosen = DateRange(date(2026, 3, 1), date(2026, 3, 10))
    assert chosen.previous() == DateRange(date(2026, 2, 19), date(2026, 2, 28))
    assert chosen.params() == {"from": "2026-03-01", "to": "2026-03-10"}


def test_this_month_is_compared_with_the_same_days_of_last_month() -> None:
    assert same_days_last_month(TODAY) == DateRange(date(2026, 2, 1), date(2026, 2, 15))
    assert same_days_last_month(date(2026, 3, 31)) == DateRange(date(2026, 2, 1), date(2026, 2, 28))
    assert same_days_last_month(date(2026, 1, 5)) == DateRange(date(2025, 12, 1), date(2025, 12, 5))


def test_a_change_has_no_percentage_of_nothing() -> None:
    grown = change(15, 10)
    assert (grown.delta, grown.ratio, grown.direction) == (5, 0.5, "up")
    new = change(3, 0)
    assert (new.delta, new.ratio, new.direction) == (3, None, "up")
    assert change(4, None).delta is None and change(2, 2).direction == "flat"
    no_rate = change(None, 0.5)
    assert (no_rate.value, no_rate.delta, no_rate.ratio, no_rate.direction) == (None, None, None, "flat")
    assert rate(1, 4) == 0.25 and rate(1, 0) is None


def test_daily_charts_put_the_previous_period_under_the_same_days_dashed() -> None:
    chosen = DateRange(date(2026, 3, 1), date(2026, 3, 3))
    rows = [{"day": "2026-03-01", "follows": 2}, {"day": "2026-03-03", "follows": 5}]
    earlier = [{"day": "2026-02-26", "follows": 7}]
    spec = daily_chart("line", chosen, rows, earlier, [("follows", "Gained")], previous_label="%(name)s (before)")
    assert spec["x"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    current, previous = spec["series"]
    assert current["data"] == [2, 0, 5] and not current["dashed"]
    assert previous == {**previous, "name": "Gained (before)", "data": [7, 0, 0], "dashed": True, "colour": 0}
    before = [{"day": "2026-02-26", "rate": 0.5}]
    rates = daily_chart("line", chosen, [{"day": "2026-03-01", "rate": None}], before, [("rate", "R")], percent=True)
    assert [s["data"] for s in rates["series"]] == [[None, None, None], [0.5, None, None]] and rates["percent"]


def test_csv_sections_keep_the_wanted_tables_and_fall_back_to_all() -> None:
    document = (
        "\ufefftotals 2026-03-01 to 2026-03-10 vs 2026-02-19 to 2026-02-28\r\nfigure,value\r\nfollows,3\r\n\r\n"
        "daily\r\nday,follows\r\n2026-03-01,3\r\n\r\nfollows by source\r\nsource,count\r\nposter,3\r\n"
    ).encode()
    daily = csv_sections(document, ["daily"]).decode("utf-8")
    assert daily == "\ufeffdaily\r\nday,follows\r\n2026-03-01,3\r\n"
    both = csv_sections(document, ["totals", "follows by source"]).decode("utf-8")
    assert both.startswith("\ufefftotals 2026-03-01") and "poster,3" in both and "daily" not in both
    assert csv_sections(document, ["nothing"]) == document
