"""The campaign pages' pure rules: Beijing wall-clock times, text lists, edits as what changed, and the
acknowledgement of wording warnings."""

from __future__ import annotations

from datetime import UTC, datetime

from services.console.domain.campaigns import (
    STEP_KEYS,
    changed,
    default_dates,
    from_beijing_input,
    lines,
    step_of_field,
    step_of_problem,
    to_beijing_input,
    warnings_fingerprint,
)


def test_a_datetime_input_is_read_as_beijing_time_and_shown_back_the_same() -> None:
    assert from_beijing_input("2027-01-01T00:30") == datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert from_beijing_input("2026-06-01T08:00+00:00") == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert from_beijing_input("") is None and from_beijing_input("tomorrow") is None
    assert to_beijing_input("2026-12-31T16:30:00Z") == "2027-01-01T00:30"
    assert to_beijing_input(None) == ""
    assert default_dates(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == ("2027-01-01T01:00", "2027-01-15T01:00")


def test_lists_take_lines_or_commas_without_blanks_or_repeats() -> None:
    assert lines("邀请\n 海报 \n\n邀请") == ["邀请", "海报"]
    assert lines("a, b，c") == ["a", "b", "c"]
    assert lines("") == []


def test_an_edit_sends_only_what_changed_one_level_into_messages_and_rules() -> None:
    current = {
        "name": "新客邀请",
        "starts_at": "2026-12-01T02:00:00Z",
        "join": {"follow_qr": True, "keywords": ["邀请"], "menu_keys": []},
        "messages": {"welcome": "hi", "progress": "{count}"},
        "rules": {"per_inviter_daily_cap": None, "blacklist": ["o1"]},
    }
    wanted = {
        "name": "新客邀请",
        "starts_at": "2026-12-01T02:00:00+00:00",  # the same moment, written differently
        "join": {"follow_qr": True, "keywords": ["邀请"], "menu_keys": []},
        "messages": {"welcome": "hello", "progress": "{count}"},
        "rules": {"per_inviter_daily_cap": None, "blacklist": ["o1", "o2"]},
    }
    assert changed(current, wanted) == {"messages": {"welcome": "hello"}, "rules": {"blacklist": ["o1", "o2"]}}
    assert changed(current, current) == {}
    assert changed(current, {"name": "Tea time"}) == {"name": "Tea time"}


def test_an_acknowledgement_names_the_warnings_as_they_stood() -> None:
    warn = {"field": "messages.welcome", "phrase": "分享", "rule": "induced_sharing", "severity": "warn"}
    block = {**warn, "severity": "block"}
    assert warnings_fingerprint([]) == "" and warnings_fingerprint([block]) == ""
    first = warnings_fingerprint([warn])
    assert first and first == warnings_fingerprint([warn, block])
    assert warnings_fingerprint([{**warn, "phrase": "转发"}]) != first


def test_each_flagged_field_leads_to_the_step_that_edits_it() -> None:
    assert step_of_field("name") == "basics"
    assert step_of_field("messages.welcome") == "tiers"
    assert step_of_field("messages.share_approved") == "rules"
    assert step_of_field("reward_basis") == "rules"
    assert {step_of_field(f) for f in ("name", "messages.ended", "share_screenshot_task")} <= set(STEP_KEYS)


def test_each_activation_problem_links_to_the_step_that_fixes_it() -> None:
    assert step_of_problem("template") == "poster"
    assert step_of_problem("tiers") == "tiers"
    assert step_of_problem("tiers.1.pool") == "pools" and step_of_problem("share_reward_pool") == "pools"
    assert step_of_problem("ends_at") == "basics" and step_of_problem("join.keywords.0") == "basics"
    assert step_of_problem("messages.share_approved") == "rules" and step_of_problem("messages.welcome") == "tiers"
    assert step_of_problem("status") == "review"
