"""Tag weights (half-life fading, reinforcement, out-of-order signals) and what mall events say (interest
increments, purchase tags, spend, inferred birthdays, spend tiers)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from services.profiles.domain.mall import (
    MallEffects,
    MallEvent,
    MallEventKind,
    UnknownCategory,
    interpret,
)
from services.profiles.domain.tags import DEFAULT_HALF_LIFE, Tag, TagSource, decay_factor, reinforce
from shared.maternal_infant import SPEND_TIERS, Taxonomy, spend_tier

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HALF = DEFAULT_HALF_LIFE


# -- decay ------------------------------------------------------------------------------------------------


def test_the_default_half_life_is_thirty_days() -> None:
    assert timedelta(days=30) == DEFAULT_HALF_LIFE


@pytest.mark.parametrize(
    ("elapsed", "factor"),
    [
        (timedelta(days=30), 0.5),
        (timedelta(days=60), 0.25),
        (timedelta(days=90), 0.125),
        (timedelta(days=15), math.sqrt(0.5)),
        (timedelta(days=300), 0.5**10),
    ],
)
def test_decay_halves_every_half_life(elapsed: timedelta, factor: float) -> None:
    assert decay_factor(elapsed, HALF) == pytest.approx(factor, rel=1e-12)


def test_decay_follows_the_half_life_given() -> None:
    assert decay_factor(timedelta(days=7), timedelta(days=7)) == pytest.approx(0.5)
    assert decay_factor(timedelta(hours=1), timedelta(minutes=30)) == pytest.approx(0.25)


@pytest.mark.parametrize("elapsed", [timedelta(0), -timedelta(seconds=1), -timedelta(days=400)])
def test_no_time_or_a_moment_in_the_past_leaves_everything(elapsed: timedelta) -> None:
    assert decay_factor(elapsed, HALF) == 1.0


def test_decay_is_a_float_strictly_between_zero_and_one() -> None:
    factor = decay_factor(timedelta(seconds=1), HALF)
    assert isinstance(factor, float)
    assert 0 < factor < 1


@pytest.mark.parametrize("source", [TagSource.MALL, TagSource.INFERRED])
def test_behavioural_tags_fade(source: TagSource) -> None:
    assert source.fades
    tag = Tag("interest.toys", source, 4.0, T0, T0)
    assert tag.weight_at(T0) == 4.0
    assert tag.weight_at(T0 - DAY) == 4.0  # asked about the past: not heavier
    assert tag.weight_at(T0 + 30 * DAY) == pytest.approx(2.0)
    assert tag.weight_at(T0 + 60 * DAY) == pytest.approx(1.0)
    assert tag.weight_at(T0 + 10 * DAY, half_life=timedelta(days=10)) == pytest.approx(2.0)


@pytest.mark.parametrize("source", [TagSource.DECLARED, TagSource.SURVEY, TagSource.OPS])
def test_declared_survey_and_ops_tags_hold(source: TagSource) -> None:
    assert not source.fades
    tag = Tag("interest.toys", source, 4.0, T0, T0)
    assert tag.weight_at(T0 + 3650 * DAY) == 4.0


# -- reinforce --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", list(TagSource))
def test_a_first_signal_creates_the_tag(source: TagSource) -> None:
    assert reinforce(None, "interest.toys", source, 0.6, T0) == Tag("interest.toys", source, 0.6, T0, T0)


@pytest.mark.parametrize("increment", [0.0, -1.0])
def test_a_first_signal_with_no_weight_creates_nothing(increment: float) -> None:
    assert reinforce(None, "interest.toys", TagSource.MALL, increment, T0) is None
    assert reinforce(None, "interest.toys", TagSource.DECLARED, increment, T0) is None


def test_signals_accumulate_on_the_faded_weight() -> None:
    tag = reinforce(None, "interest.toys", TagSource.MALL, 2.0, T0)
    tag = reinforce(tag, "interest.toys", TagSource.MALL, 1.0, T0 + 30 * DAY)
    assert tag == Tag("interest.toys", TagSource.MALL, 2.0, T0, T0 + 30 * DAY)  # 2 * 0.5 + 1
    tag = reinforce(tag, "interest.toys", TagSource.MALL, 0.5, T0 + 30 * DAY)
    assert tag is not None
    assert tag.weight == 2.5  # same moment: nothing faded
    assert tag.last_seen == T0 + 30 * DAY


def test_an_accumulated_weight_is_rounded_to_six_places() -> None:
    tag = reinforce(Tag("interest.toys", TagSource.MALL, 1.0, T0, T0), "interest.toys", TagSource.MALL, 1.0, T0 + DAY)
    assert tag is not None
    assert tag.weight == round(1.0 + 0.5 ** (1 / 30), 6)


def test_an_older_signal_adds_its_faded_share_without_resetting_the_clock() -> None:
    latest = T0 + 30 * DAY
    tag = reinforce(Tag("interest.toys", TagSource.MALL, 1.0, T0, latest), "interest.toys", TagSource.MALL, 2.0, T0)
    assert tag == Tag("interest.toys", TagSource.MALL, 2.0, T0, latest)  # 1 + 2 * 0.5
    older = reinforce(tag, "interest.toys", TagSource.MALL, 4.0, T0 - 30 * DAY)
    assert older == Tag("interest.toys", TagSource.MALL, 3.0, T0 - 30 * DAY, latest)  # 2 + 4 * 0.25


def test_out_of_order_signals_end_where_in_order_ones_do() -> None:
    signals = [(T0, 3.0), (T0 + 10 * DAY, 0.6), (T0 + 45 * DAY, 1.0)]

    def replay(order: list[tuple[datetime, float]]) -> Tag:
        tag: Tag | None = None
        for at, increment in order:
            tag = reinforce(tag, "interest.toys", TagSource.MALL, increment, at)
        assert tag is not None
        return tag

    in_order = replay(signals)
    shuffled = replay([signals[2], signals[0], signals[1]])
    assert shuffled.weight == pytest.approx(in_order.weight, abs=1e-5)
    assert (shuffled.first_seen, shuffled.last_seen) == (in_order.first_seen, in_order.last_seen)
    assert (in_order.first_seen, in_order.last_seen) == (T0, T0 + 45 * DAY)


def test_a_refund_that_takes_everything_back_removes_the_tag() -> None:
    tag = reinforce(None, "interest.diapers", TagSource.MALL, 3.0, T0)
    assert reinforce(tag, "interest.diapers", TagSource.MALL, -3.0, T0) is None
    assert reinforce(tag, "interest.diapers", TagSource.MALL, -3.0, T0 + DAY) is None  # less left than refunded
    assert reinforce(tag, "interest.diapers", TagSource.MALL, -3.0 + 1e-7, T0) is None  # crumbs count as gone


def test_a_refund_smaller_than_the_interest_leaves_the_rest() -> None:
    tag = reinforce(None, "interest.diapers", TagSource.MALL, 3.6, T0)
    after = reinforce(tag, "interest.diapers", TagSource.MALL, -3.0, T0)
    assert after is not None
    assert after.weight == pytest.approx(0.6)


def test_an_older_refund_is_faded_too() -> None:
    tag = Tag("interest.diapers", TagSource.MALL, 2.0, T0, T0 + 30 * DAY)
    after = reinforce(tag, "interest.diapers", TagSource.MALL, -3.0, T0)
    assert after is not None
    assert after.weight == pytest.approx(0.5)  # 2 - 3 * 0.5
    assert after.last_seen == T0 + 30 * DAY


@pytest.mark.parametrize("source", [TagSource.DECLARED, TagSource.SURVEY, TagSource.OPS])
def test_non_fading_sources_keep_the_strongest_weight(source: TagSource) -> None:
    tag = Tag("interest.toys", source, 2.0, T0, T0)
    later = reinforce(tag, "interest.toys", source, 1.0, T0 + 100 * DAY)
    assert later == Tag("interest.toys", source, 2.0, T0, T0 + 100 * DAY)
    stronger = reinforce(later, "interest.toys", source, 5.0, T0 - DAY)
    assert stronger == Tag("interest.toys", source, 5.0, T0 - DAY, T0 + 100 * DAY)
    assert reinforce(stronger, "interest.toys", source, -10.0, T0) == stronger  # never removed by a signal


# -- interpret --------------------------------------------------------------------------------------------


def event(kind: MallEventKind, category: str, amount_fen: int = 0, at: datetime = T0) -> MallEvent:
    return MallEvent("e1", kind, category, at, amount_fen)


@pytest.mark.parametrize(
    ("kind", "factor"),
    [
        (MallEventKind.VIEW, 0.2),
        (MallEventKind.ADD_TO_CART, 0.6),
        (MallEventKind.ORDER, 1.0),
        (MallEventKind.REFUND, -1.0),
    ],
)
def test_each_kind_of_event_scales_the_categorys_interest_weights(
    taxonomy: Taxonomy, kind: MallEventKind, factor: float
) -> None:
    effects = interpret(event(kind, "formula_maternal"), taxonomy)
    assert effects.interests == {
        "interest.feeding.formula": round(1.0 * factor, 6),
        "interest.health.supplements": round(2.0 * factor, 6),
    }


def test_interest_increments_are_rounded(taxonomy: Taxonomy) -> None:
    assert interpret(event(MallEventKind.VIEW, "stroller"), taxonomy).interests == {"interest.gear.stroller": 0.6}


def test_a_view_only_hints(taxonomy: Taxonomy) -> None:
    effects = interpret(event(MallEventKind.VIEW, "diapers_newborn", amount_fen=9900), taxonomy)
    assert effects == MallEffects({"interest.diapers": 0.6}, None, 0, None)


def test_a_cart_only_suggests(taxonomy: Taxonomy) -> None:
    effects = interpret(event(MallEventKind.ADD_TO_CART, "diapers_newborn", amount_fen=9900), taxonomy)
    assert effects == MallEffects({"interest.diapers": 1.8}, None, 0, None)


def test_an_order_tags_the_purchase_and_counts_the_spend(taxonomy: Taxonomy) -> None:
    effects = interpret(event(MallEventKind.ORDER, "toys", amount_fen=12_345), taxonomy)
    assert effects == MallEffects({"interest.toys": 2.0}, "purchase.toys", 12_345, None)


def test_an_order_in_a_category_without_a_purchase_tag(taxonomy: Taxonomy) -> None:
    effects = interpret(event(MallEventKind.ORDER, "supplements", amount_fen=500), taxonomy)
    assert effects == MallEffects({"interest.health.supplements": 2.0}, None, 500, None)


def test_a_refund_takes_back_interest_and_spend(taxonomy: Taxonomy) -> None:
    effects = interpret(event(MallEventKind.REFUND, "toys", amount_fen=12_345), taxonomy)
    assert effects == MallEffects({"interest.toys": -2.0}, None, -12_345, None)


def test_an_unknown_category_is_refused_by_name(taxonomy: Taxonomy) -> None:
    with pytest.raises(UnknownCategory, match="'telescopes' is not mapped") as caught:
        interpret(event(MallEventKind.VIEW, "telescopes"), taxonomy)
    assert caught.value.category == "telescopes"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("category", "days_before"),
    [
        ("diapers_newborn", 0),  # about the order date
        ("breast_pump", 30),  # round(30.44)
        ("formula_stage1", 61),  # round(60.88)
        ("diapers_m", 183),  # round(182.64)
        ("baby_food", 213),  # round(213.08)
        ("diapers_l", 365),  # round(365.28)
        ("formula_stage3", 548),  # round(547.92)
    ],
)
def test_an_order_in_an_age_tied_category_suggests_a_birthday(
    taxonomy: Taxonomy, category: str, days_before: int
) -> None:
    at = datetime(2025, 6, 15, 23, 30, tzinfo=UTC)
    effects = interpret(event(MallEventKind.ORDER, category, 100, at), taxonomy)
    assert effects.inferred_birthday == date(2025, 6, 15) - timedelta(days=days_before)


@pytest.mark.parametrize("kind", [MallEventKind.VIEW, MallEventKind.ADD_TO_CART, MallEventKind.REFUND])
def test_only_orders_suggest_a_birthday(taxonomy: Taxonomy, kind: MallEventKind) -> None:
    assert interpret(event(kind, "formula_stage1", 100), taxonomy).inferred_birthday is None


def test_an_order_in_a_category_without_an_age_suggests_no_birthday(taxonomy: Taxonomy) -> None:
    assert interpret(event(MallEventKind.ORDER, "stroller", 100), taxonomy).inferred_birthday is None


# -- spend tiers ------------------------------------------------------------------------------------------


def test_the_tiers_are_a_b_c_from_the_top() -> None:
    assert SPEND_TIERS == (("spend.a", 3000), ("spend.b", 800), ("spend.c", 1))


@pytest.mark.parametrize(
    ("fen", "tier"),
    [
        (0, None),
        (99, None),  # under one yuan
        (100, "spend.c"),
        (79_999, "spend.c"),
        (80_000, "spend.b"),
        (299_999, "spend.b"),
        (300_000, "spend.a"),
        (10_000_000, "spend.a"),
        (-5_000, None),
    ],
)
def test_spend_tier_thresholds(fen: int, tier: str | None) -> None:
    assert spend_tier({"2025-06": fen}, date(2025, 6, 15)) == tier


def test_no_spend_no_tier() -> None:
    assert spend_tier({}, date(2025, 6, 15)) is None


def test_the_window_is_the_twelve_months_up_to_today() -> None:
    today = date(2025, 6, 15)
    assert spend_tier({"2024-07": 300_000}, today) == "spend.a"  # 12th month back: counted
    assert spend_tier({"2024-06": 300_000}, today) is None  # 13 months old: out
    assert spend_tier({"2025-07": 300_000}, today) is None  # not yet
    assert spend_tier({"2024-06": 300_000, "2025-01": 100}, today) == "spend.c"


def test_the_window_crosses_a_year_end() -> None:
    spend = {"2024-02": 40_000, "2024-12": 40_000, "2025-01": 10_000}
    assert spend_tier(spend, date(2025, 1, 31)) == "spend.b"  # Feb 2024 .. Jan 2025: 900 yuan
    assert spend_tier(spend, date(2025, 2, 1)) == "spend.c"  # Feb 2024 drops out: 500 yuan


def test_months_in_the_window_add_up() -> None:
    spend = {f"2025-{month:02d}": 25_000 for month in range(1, 13)}  # 250 yuan a month
    assert spend_tier(spend, date(2025, 12, 31)) == "spend.a"  # 3000 yuan
    assert spend_tier(spend, date(2025, 4, 1)) == "spend.b"  # January to April: 1000 yuan
    assert spend_tier(spend, date(2025, 3, 1)) == "spend.c"  # January to March: 750 yuan


def test_refunds_subtract() -> None:
    today = date(2025, 6, 15)
    assert spend_tier({"2025-05": 300_000, "2025-06": -1}, today) == "spend.b"
    assert spend_tier({"2025-05": 80_000, "2025-06": -80_000}, today) is None
