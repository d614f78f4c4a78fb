"""Push decisions without I/O: quiet hours in Beijing time, rolling frequency caps, the stable weighted A/B
split, the per-member send decision (skips and their order, channel by interaction window), the fallback
when the platform says the window has closed, a variant's content per channel and which statuses are final."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest

from services.segments.domain.pushes import (
    BEIJING,
    Channel,
    Decision,
    FrequencyCap,
    MessageContent,
    PushStatus,
    QuietHours,
    Recipient,
    SkipReason,
    SubscriptionContent,
    TemplateContent,
    Variant,
    assign_variant,
    decide,
    fallback_channel,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NIGHT = QuietHours(start=time(22, 0), end=time(8, 0))
LUNCH = QuietHours(start=time(12, 0), end=time(14, 0))

MESSAGE = MessageContent(kind="text", text="新品试用装免费领 https://brand.example/a")
TEMPLATE = TemplateContent(template_id="tpl_1", data={"first": "您好"}, url="https://brand.example/t")
SUBSCRIPTION = SubscriptionContent(template_id="sub_1", data={"thing1": "试用装"}, page="pages/index")

EVERYTHING = Variant("A", 1, message=MESSAGE, template=TEMPLATE, subscription=SUBSCRIPTION)
MESSAGE_ONLY = Variant("M", 1, message=MESSAGE)
TEMPLATE_ONLY = Variant("T", 1, template=TEMPLATE)
SUBSCRIPTION_ONLY = Variant("S", 1, subscription=SUBSCRIPTION)
MESSAGE_AND_SUBSCRIPTION = Variant("MS", 1, message=MESSAGE, subscription=SUBSCRIPTION)

CAP = FrequencyCap(per_day=1, per_week=3)


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 instant given by its Beijing wall clock."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


def member(**facts: object) -> Recipient:
    base: dict[str, object] = {
        "openid": "o_mom",
        "following": True,
        "marketing_consent": True,
        "last_active_at": NOW - timedelta(hours=3),
        "recent_sends": (),
    }
    return Recipient(**(base | facts))  # type: ignore[arg-type]


# -- quiet hours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (beijing(23, 22, 0), beijing(24, 8, 0)),  # the start itself is quiet
        (beijing(23, 23, 30), beijing(24, 8, 0)),  # before midnight: ends tomorrow morning
        (beijing(24, 0, 0), beijing(24, 8, 0)),  # midnight
        (beijing(24, 3, 15), beijing(24, 8, 0)),  # after midnight: ends this morning
        (beijing(24, 7, 59), beijing(24, 8, 0)),
    ],
)
def test_night_quiet_hours_spanning_midnight_hold_until_eight_beijing_time(now: datetime, until: datetime) -> None:
    assert NIGHT.until(now) == until
    assert NIGHT.until(now.astimezone(UTC)) == until  # the caller's timezone does not matter


@pytest.mark.parametrize(
    "now",
    [beijing(24, 8, 0), beijing(24, 8, 1), beijing(24, 12, 0), beijing(23, 21, 59)],
)
def test_outside_night_quiet_hours_nothing_is_held(now: datetime) -> None:
    assert NIGHT.until(now) is None


def test_quiet_hours_are_beijing_wall_clock_not_utc() -> None:
    # 15:00 UTC is 23:00 in Beijing (quiet); 23:00 UTC is 07:00 next day in Beijing (still quiet);
    # 01:00 UTC is 09:00 in Beijing (not quiet), although 01:00 would be quiet on a UTC clock.
    assert NIGHT.until(datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert NIGHT.until(datetime(2026, 11, 23, 23, 0, tzinfo=UTC)) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert NIGHT.until(datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) is None


def test_the_end_of_quiet_hours_is_returned_in_utc() -> None:
    until = NIGHT.until(beijing(23, 23, 0))
    assert until is not None
    assert until.tzinfo is UTC
    assert until == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert until.astimezone(BEIJING).time() == NIGHT.end


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (beijing(23, 12, 0), beijing(23, 14, 0)),
        (beijing(23, 13, 30), beijing(23, 14, 0)),
        (beijing(23, 13, 59), beijing(23, 14, 0)),
        (beijing(23, 11, 59), None),
        (beijing(23, 14, 0), None),
        (beijing(23, 23, 0), None),
        (beijing(23, 3, 0), None),
    ],
)
def test_same_day_quiet_hours_hold_only_within_the_day(now: datetime, until: datetime | None) -> None:
    assert LUNCH.until(now) == until


@pytest.mark.parametrize("now", [beijing(23, 22, 0), beijing(23, 3, 0), beijing(23, 12, 0)])
def test_quiet_hours_starting_and_ending_together_are_never_quiet(now: datetime) -> None:
    assert QuietHours(start=time(22, 0), end=time(22, 0)).until(now) is None


# -- frequency caps ------------------------------------------------------------------------------------


def test_no_recent_sends_reach_no_cap() -> None:
    assert not CAP.reached([], NOW)


def test_a_send_within_the_last_day_reaches_the_daily_cap() -> None:
    assert CAP.reached([NOW - timedelta(hours=23, minutes=59)], NOW)


def test_the_daily_window_is_rolling_and_excludes_exactly_one_day_ago() -> None:
    assert not CAP.reached([NOW - timedelta(days=1)], NOW)
    assert CAP.reached([NOW - timedelta(days=1) + timedelta(seconds=1)], NOW)


def test_a_higher_daily_cap_counts_every_send_of_the_day() -> None:
    cap = FrequencyCap(per_day=2, per_week=10)
    assert not cap.reached([NOW - timedelta(hours=5)], NOW)
    assert cap.reached([NOW - timedelta(hours=5), NOW - timedelta(hours=20)], NOW)
    assert not cap.reached([NOW - timedelta(hours=5), NOW - timedelta(hours=30)], NOW)


def test_the_weekly_cap_counts_the_last_seven_days() -> None:
    three_this_week = [NOW - timedelta(days=2), NOW - timedelta(days=4), NOW - timedelta(days=6, hours=23)]
    assert CAP.reached(three_this_week, NOW)
    assert not CAP.reached(three_this_week[:2], NOW)


def test_the_weekly_window_is_rolling_and_excludes_exactly_seven_days_ago() -> None:
    two = [NOW - timedelta(days=2), NOW - timedelta(days=4)]
    assert not CAP.reached([*two, NOW - timedelta(days=7)], NOW)
    assert CAP.reached([*two, NOW - timedelta(days=7) + timedelta(seconds=1)], NOW)
    assert not CAP.reached([*two, NOW - timedelta(days=30), NOW - timedelta(days=8)], NOW)


# -- A/B split -----------------------------------------------------------------------------------------


def test_a_member_keeps_their_variant_for_the_same_push() -> None:
    variants = (Variant("A", 1), Variant("B", 1), Variant("C", 1))
    for n in range(200):
        first = assign_variant("push_1", f"o{n}", variants)
        assert all(assign_variant("push_1", f"o{n}", variants) is first for _ in range(3))


def test_the_split_roughly_follows_the_weights() -> None:
    variants = (Variant("A", 1), Variant("B", 3), Variant("C", 6))
    counts = Counter(assign_variant("push_1", f"o_{n}", variants).name for n in range(10_000))
    # Binomial standard deviations are 30, 43 and 49; 200 is over four of them.
    assert abs(counts["A"] - 1_000) < 200, counts
    assert abs(counts["B"] - 3_000) < 200, counts
    assert abs(counts["C"] - 6_000) < 200, counts


def test_a_variant_of_weight_zero_gets_nobody() -> None:
    variants = (Variant("A", 1), Variant("off", 0), Variant("B", 1))
    names = {assign_variant("push_1", f"o_{n}", variants).name for n in range(2_000)}
    assert names == {"A", "B"}


def test_different_pushes_split_the_same_members_differently() -> None:
    variants = (Variant("A", 1), Variant("B", 1))
    openids = [f"o_{n}" for n in range(10_000)]
    first = [assign_variant("push_1", openid, variants).name for openid in openids]
    second = [assign_variant("push_2", openid, variants).name for openid in openids]
    moved = sum(a != b for a, b in zip(first, second, strict=True))
    # Independent halves disagree for about half of the members.
    assert 4_500 < moved < 5_500, moved


# -- the send decision ---------------------------------------------------------------------------------


def test_a_member_gone_since_the_audience_was_frozen_is_skipped_as_unknown() -> None:
    assert decide(None, EVERYTHING, CAP, NOW) == Decision(reason=SkipReason.UNKNOWN_MEMBER)


def test_an_unfollowed_member_is_skipped() -> None:
    assert decide(member(following=False), EVERYTHING, CAP, NOW) == Decision(reason=SkipReason.UNFOLLOWED)


def test_a_member_without_marketing_consent_is_skipped() -> None:
    assert decide(member(marketing_consent=False), EVERYTHING, CAP, NOW) == Decision(reason=SkipReason.NO_CONSENT)


def test_a_capped_member_is_skipped() -> None:
    capped = member(recent_sends=(NOW - timedelta(hours=2),))
    assert decide(capped, EVERYTHING, CAP, NOW) == Decision(reason=SkipReason.FREQUENCY_CAP)


def test_skip_reasons_are_checked_in_order() -> None:
    recent = (NOW - timedelta(hours=2),)
    everything_wrong = member(following=False, marketing_consent=False, recent_sends=recent)
    assert decide(everything_wrong, EVERYTHING, CAP, NOW).reason is SkipReason.UNFOLLOWED
    no_consent_and_capped = member(marketing_consent=False, recent_sends=recent)
    assert decide(no_consent_and_capped, EVERYTHING, CAP, NOW).reason is SkipReason.NO_CONSENT


def test_inside_the_interaction_window_a_message_goes_as_customer_service() -> None:
    decision = decide(member(), EVERYTHING, CAP, NOW)
    assert decision == Decision(channel=Channel.CUSTOMER_SERVICE)
    assert decision.reason is None


def test_the_interaction_window_closes_after_exactly_48_hours() -> None:
    just_inside = member(last_active_at=NOW - timedelta(hours=47, minutes=59, seconds=59))
    at_the_edge = member(last_active_at=NOW - timedelta(hours=48))
    assert decide(just_inside, EVERYTHING, CAP, NOW).channel is Channel.CUSTOMER_SERVICE
    assert decide(at_the_edge, EVERYTHING, CAP, NOW).channel is Channel.TEMPLATE


@pytest.mark.parametrize("last_active_at", [NOW - timedelta(days=3), None])
def test_outside_the_window_a_template_is_preferred(last_active_at: datetime | None) -> None:
    recipient = member(last_active_at=last_active_at)
    assert decide(recipient, EVERYTHING, CAP, NOW) == Decision(channel=Channel.TEMPLATE)


def test_outside_the_window_without_a_template_a_subscription_message_goes() -> None:
    recipient = member(last_active_at=NOW - timedelta(days=3))
    assert decide(recipient, MESSAGE_AND_SUBSCRIPTION, CAP, NOW) == Decision(channel=Channel.SUBSCRIPTION)


def test_outside_the_window_with_only_a_message_the_member_is_skipped() -> None:
    recipient = member(last_active_at=NOW - timedelta(days=3))
    assert decide(recipient, MESSAGE_ONLY, CAP, NOW) == Decision(reason=SkipReason.OUTSIDE_WINDOW)


def test_a_member_never_active_with_only_a_message_is_skipped() -> None:
    recipient = member(last_active_at=None)
    assert decide(recipient, MESSAGE_ONLY, CAP, NOW) == Decision(reason=SkipReason.OUTSIDE_WINDOW)


def test_a_variant_without_a_message_uses_its_template_even_inside_the_window() -> None:
    assert decide(member(), TEMPLATE_ONLY, CAP, NOW) == Decision(channel=Channel.TEMPLATE)


def test_a_variant_with_only_a_subscription_message_uses_it_even_inside_the_window() -> None:
    assert decide(member(), SUBSCRIPTION_ONLY, CAP, NOW) == Decision(channel=Channel.SUBSCRIPTION)


# -- fallback when the window has closed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "fallback"),
    [
        (EVERYTHING, Channel.TEMPLATE),
        (MESSAGE_AND_SUBSCRIPTION, Channel.SUBSCRIPTION),
        (MESSAGE_ONLY, None),
    ],
)
def test_a_closed_window_falls_back_from_customer_service(variant: Variant, fallback: Channel | None) -> None:
    assert fallback_channel(Channel.CUSTOMER_SERVICE, variant) is fallback


@pytest.mark.parametrize("channel", [Channel.TEMPLATE, Channel.SUBSCRIPTION, Channel.MASS])
def test_only_customer_service_messages_fall_back(channel: Channel) -> None:
    assert fallback_channel(channel, EVERYTHING) is None


# -- a variant's content -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "content"),
    [
        (Channel.CUSTOMER_SERVICE, MESSAGE),
        (Channel.MASS, MESSAGE),
        (Channel.TEMPLATE, TEMPLATE),
        (Channel.SUBSCRIPTION, SUBSCRIPTION),
    ],
)
def test_a_variant_gives_the_content_of_each_channel(
    channel: Channel, content: MessageContent | TemplateContent | SubscriptionContent
) -> None:
    assert EVERYTHING.content_for(channel) is content


@pytest.mark.parametrize(
    ("variant", "channel"),
    [
        (TEMPLATE_ONLY, Channel.CUSTOMER_SERVICE),
        (TEMPLATE_ONLY, Channel.MASS),
        (MESSAGE_ONLY, Channel.TEMPLATE),
        (MESSAGE_ONLY, Channel.SUBSCRIPTION),
    ],
)
def test_a_variant_without_content_for_a_channel_refuses_it(variant: Variant, channel: Channel) -> None:
    with pytest.raises(ValueError, match=f"variant '{variant.name}' has nothing for {channel}"):
        variant.content_for(channel)


# -- statuses ------------------------------------------------------------------------------------------

FINAL = {PushStatus.FINISHED, PushStatus.CANCELLED, PushStatus.FAILED}


@pytest.mark.parametrize("status", list(PushStatus))
def test_only_finished_cancelled_and_failed_pushes_are_final(status: PushStatus) -> None:
    assert status.final is (status in FINAL)


def test_a_broadcast_reaches_members_outside_the_window_by_mass_send() -> None:
    quiet_member = member(last_active_at=NOW - timedelta(days=30))
    assert decide(quiet_member, MESSAGE_ONLY, CAP, NOW, broadcast=True) == Decision(channel=Channel.MASS)
    assert decide(quiet_member, MESSAGE_ONLY, CAP, NOW) == Decision(reason=SkipReason.OUTSIDE_WINDOW)


def test_a_broadcast_skips_members_who_had_this_months_four_mass_messages() -> None:
    assert decide(member(mass_this_month=3), MESSAGE_ONLY, CAP, NOW, broadcast=True).channel is Channel.MASS
    used_up = decide(member(mass_this_month=4), MESSAGE_ONLY, CAP, NOW, broadcast=True)
    assert used_up == Decision(reason=SkipReason.MASS_BUDGET)


def test_a_broadcast_still_honours_follow_consent_and_caps() -> None:
    assert decide(member(following=False), MESSAGE_ONLY, CAP, NOW, broadcast=True).reason is SkipReason.UNFOLLOWED
    assert (
        decide(member(marketing_consent=False), MESSAGE_ONLY, CAP, NOW, broadcast=True).reason is SkipReason.NO_CONSENT
    )
    capped = member(recent_sends=(NOW - timedelta(hours=1),))
    assert decide(capped, MESSAGE_ONLY, CAP, NOW, broadcast=True).reason is SkipReason.FREQUENCY_CAP
