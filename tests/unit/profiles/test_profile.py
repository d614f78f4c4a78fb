"""The member profile: stage declarations, consents, tags set by members and ops, mall events applied once,
and the tag views segments read."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from services.profiles.domain.mall import MallEvent, MallEventKind, UnknownCategory
from services.profiles.domain.profile import (
    Change,
    Consent,
    ConsentKind,
    Profile,
    ProfileError,
    TagView,
)
from services.profiles.domain.tags import Tag, TagSource
from shared.maternal_infant import (
    Basis,
    Confidence,
    LifeStage,
    Stage,
    StageDeclaration,
    Taxonomy,
)

NOW = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def new_profile() -> Profile:
    return Profile("wx_app", "openid-1", unionid="union-1")


def mall(event_id: str, kind: MallEventKind, category: str, at: datetime = NOW, amount_fen: int = 0) -> MallEvent:
    return MallEvent(event_id, kind, category, at, amount_fen)


# -- a new profile ----------------------------------------------------------------------------------------


def test_a_new_profile_is_empty() -> None:
    profile = new_profile()
    assert profile.stage(NOW.date()) is None
    assert profile.tag_views(NOW) == []
    assert not profile.consented(ConsentKind.MARKETING)
    assert not profile.consented(ConsentKind.DATA_USE)
    assert profile.version == 0


# -- life stage -------------------------------------------------------------------------------------------


def test_declaring_a_due_date_sets_the_stage_and_records_it() -> None:
    profile = new_profile()
    declaration = StageDeclaration(Basis.DUE_DATE, NOW.date(), date(2025, 9, 1), source="h5_form")
    changes = profile.declare_stage(declaration, NOW)
    assert changes == [
        Change(
            NOW,
            "stage_declared",
            {"basis": "due_date", "on": "2025-09-01", "confidence": "declared", "source": "h5_form"},
            "member",
        )
    ]
    assert profile.stage(NOW.date()) == LifeStage(Stage.LATE_PREGNANCY, pregnancy_week=28)
    assert profile.stage(date(2025, 9, 1)) == LifeStage(Stage.BABY_0_6M, age_months=0)


def test_declaring_preparing_records_no_date() -> None:
    profile = new_profile()
    changes = profile.declare_stage(StageDeclaration(Basis.PREPARING, NOW.date()), NOW, actor="keyword")
    assert changes[0].detail["on"] is None
    assert changes[0].detail["basis"] == "preparing"
    assert changes[0].actor == "keyword"
    assert profile.stage(NOW.date()) == LifeStage(Stage.PREPARING)


def test_the_same_declaration_twice_changes_nothing() -> None:
    profile = new_profile()
    declaration = StageDeclaration(Basis.BIRTHDAY, NOW.date(), date(2025, 1, 1))
    profile.declare_stage(declaration, NOW)
    assert profile.declare_stage(declaration, NOW + DAY) == []
    assert profile.declarations == [declaration]


def test_declarations_are_kept_oldest_first() -> None:
    profile = new_profile()
    newer = StageDeclaration(Basis.BIRTHDAY, date(2025, 6, 1), date(2025, 5, 20))
    older = StageDeclaration(Basis.DUE_DATE, date(2025, 1, 1), date(2025, 6, 1))
    profile.declare_stage(newer, NOW)
    profile.declare_stage(older, NOW)
    assert profile.declarations == [older, newer]
    assert profile.stage(NOW.date()) == LifeStage(Stage.BABY_0_6M, age_months=0)


def test_the_newest_declaration_wins() -> None:
    profile = new_profile()
    profile.declare_stage(StageDeclaration(Basis.PREPARING, date(2024, 6, 1)), NOW)
    profile.declare_stage(StageDeclaration(Basis.DUE_DATE, date(2024, 10, 1), date(2025, 5, 1)), NOW)
    assert profile.stage(NOW.date()) == LifeStage(Stage.BABY_0_6M, age_months=1)
    profile.declare_stage(StageDeclaration(Basis.BIRTHDAY, date(2025, 6, 10), date(2025, 4, 10)), NOW)
    assert profile.stage(NOW.date()) == LifeStage(Stage.BABY_0_6M, age_months=2)
    assert profile.stage(date(2025, 10, 10)) == LifeStage(Stage.BABY_6_12M, age_months=6)


def test_a_declared_date_beats_what_purchases_suggest(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.declare_stage(StageDeclaration(Basis.DUE_DATE, date(2025, 3, 1), date(2025, 10, 1)), NOW)
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "formula_stage2", NOW, 19_900), taxonomy)
    assert len(profile.declarations) == 2
    stage = profile.stage(NOW.date())
    assert stage is not None
    assert stage.stage is Stage.MID_PREGNANCY
    assert stage.confidence is Confidence.DECLARED


def test_purchases_suggest_a_stage_when_nothing_is_declared(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    changes = profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900), taxonomy)
    assert (
        Change(
            NOW,
            "stage_declared",
            {"basis": "birthday", "on": "2025-06-15", "confidence": "inferred", "source": "mall"},
            "mall",
        )
        in changes
    )
    assert profile.declarations == [
        StageDeclaration(Basis.BIRTHDAY, NOW.date(), NOW.date(), Confidence.INFERRED, "mall")
    ]
    assert profile.stage(NOW.date()) == LifeStage(Stage.BABY_0_6M, age_months=0, confidence=Confidence.INFERRED)
    # a later declaration by the member takes over
    profile.declare_stage(StageDeclaration(Basis.BIRTHDAY, date(2025, 6, 20), date(2024, 12, 1)), NOW + 5 * DAY)
    assert profile.stage(date(2025, 6, 20)) == LifeStage(Stage.BABY_6_12M, age_months=6)


def test_the_newest_inferred_stage_wins_among_inferred(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW - 200 * DAY, 9_900), taxonomy)
    profile.apply_mall_event(mall("o2", MallEventKind.ORDER, "diapers_s", NOW, 9_900), taxonomy)
    stage = profile.stage(NOW.date())
    assert stage is not None
    assert stage.age_months == 2  # born 61 days before NOW: 2025-04-15
    assert stage.confidence is Confidence.INFERRED


# -- consent ----------------------------------------------------------------------------------------------


def test_consent_is_recorded_with_when_and_how() -> None:
    profile = new_profile()
    changes = profile.set_consent(ConsentKind.MARKETING, True, NOW, "h5_form")
    assert changes == [Change(NOW, "consent", {"kind": "marketing", "given": True, "via": "h5_form"})]
    assert changes[0].actor == "system"
    assert profile.consents == {ConsentKind.MARKETING: Consent(True, NOW, "h5_form")}
    assert profile.consented(ConsentKind.MARKETING)
    assert not profile.consented(ConsentKind.DATA_USE)


def test_consent_can_be_withdrawn() -> None:
    profile = new_profile()
    profile.set_consent(ConsentKind.MARKETING, True, NOW, "h5_form")
    changes = profile.set_consent(ConsentKind.MARKETING, False, NOW + DAY, "keyword")
    assert changes == [Change(NOW + DAY, "consent", {"kind": "marketing", "given": False, "via": "keyword"})]
    assert profile.consents[ConsentKind.MARKETING] == Consent(False, NOW + DAY, "keyword")
    assert not profile.consented(ConsentKind.MARKETING)


def test_an_older_statement_is_ignored() -> None:
    profile = new_profile()
    profile.set_consent(ConsentKind.MARKETING, False, NOW, "keyword")
    assert profile.set_consent(ConsentKind.MARKETING, True, NOW - DAY, "h5_form") == []
    assert profile.consents[ConsentKind.MARKETING] == Consent(False, NOW, "keyword")


def test_the_same_statement_again_changes_nothing() -> None:
    profile = new_profile()
    profile.set_consent(ConsentKind.DATA_USE, True, NOW, "survey")
    assert profile.set_consent(ConsentKind.DATA_USE, True, NOW, "survey") == []
    assert profile.set_consent(ConsentKind.DATA_USE, True, NOW + DAY, "survey") == []
    assert profile.consents[ConsentKind.DATA_USE] == Consent(True, NOW, "survey")


def test_the_same_answer_by_another_way_is_a_new_statement() -> None:
    profile = new_profile()
    profile.set_consent(ConsentKind.DATA_USE, True, NOW, "survey")
    changes = profile.set_consent(ConsentKind.DATA_USE, True, NOW + DAY, "ops")
    assert [change.detail for change in changes] == [{"kind": "data_use", "given": True, "via": "ops"}]
    assert profile.consents[ConsentKind.DATA_USE] == Consent(True, NOW + DAY, "ops")


def test_consents_are_kept_per_kind() -> None:
    profile = new_profile()
    profile.set_consent(ConsentKind.MARKETING, True, NOW, "h5_form")
    profile.set_consent(ConsentKind.DATA_USE, False, NOW + DAY, "h5_form")
    assert profile.consented(ConsentKind.MARKETING)
    assert not profile.consented(ConsentKind.DATA_USE)


# -- tags set by members, surveys and ops -----------------------------------------------------------------


def test_adding_a_tag_records_it(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    changes = profile.add_tag(taxonomy, "interest.toys", TagSource.DECLARED, NOW)
    assert changes == [
        Change(NOW, "tag_added", {"code": "interest.toys", "source": "declared", "weight": 1.0}, "member")
    ]
    assert profile.tags == {
        ("interest.toys", TagSource.DECLARED): Tag("interest.toys", TagSource.DECLARED, 1.0, NOW, NOW)
    }


def test_ops_is_recorded_as_the_actor(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    added = profile.add_tag(taxonomy, "interest.gear.stroller", TagSource.OPS, NOW, weight=2.0, actor="ops:alice")
    assert added == [
        Change(NOW, "tag_added", {"code": "interest.gear.stroller", "source": "ops", "weight": 2.0}, "ops:alice")
    ]
    removed = profile.remove_tag("interest.gear.stroller", TagSource.OPS, NOW + DAY, actor="ops:bob")
    assert removed == [Change(NOW + DAY, "tag_removed", {"code": "interest.gear.stroller", "source": "ops"}, "ops:bob")]
    assert profile.tags == {}


def test_a_stronger_statement_raises_the_weight(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.add_tag(taxonomy, "interest.toys", TagSource.SURVEY, NOW, weight=1.0)
    changes = profile.add_tag(taxonomy, "interest.toys", TagSource.SURVEY, NOW + DAY, weight=3.0)
    assert changes == [
        Change(NOW + DAY, "tag_weight", {"code": "interest.toys", "source": "survey", "weight": 3.0}, "member")
    ]
    assert profile.tags[("interest.toys", TagSource.SURVEY)] == Tag(
        "interest.toys", TagSource.SURVEY, 3.0, NOW, NOW + DAY
    )


def test_the_same_tag_again_changes_nothing(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.add_tag(taxonomy, "interest.toys", TagSource.DECLARED, NOW, weight=2.0)
    before = copy.deepcopy(profile)
    assert profile.add_tag(taxonomy, "interest.toys", TagSource.DECLARED, NOW, weight=2.0) == []
    assert profile.add_tag(taxonomy, "interest.toys", TagSource.DECLARED, NOW, weight=1.0) == []
    assert profile == before


def test_a_tag_with_no_weight_is_not_added(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    assert profile.add_tag(taxonomy, "interest.toys", TagSource.OPS, NOW, weight=0.0) == []
    assert profile.tags == {}


@pytest.mark.parametrize("code", ["interest.telescopes", "toys", ""])
def test_an_unknown_code_is_refused_by_name(taxonomy: Taxonomy, code: str) -> None:
    profile = new_profile()
    with pytest.raises(ProfileError, match=re.escape(f"unknown tag code {code!r}")):
        profile.add_tag(taxonomy, code, TagSource.OPS, NOW, actor="ops:alice")
    assert profile.tags == {}


@pytest.mark.parametrize("code", [*(stage.value for stage in Stage), "stage.pregnancy", "stage.baby"])
def test_a_stage_cannot_be_set_as_a_tag(taxonomy: Taxonomy, code: str) -> None:
    profile = new_profile()
    with pytest.raises(ProfileError, match="life stages come from a due date or birthday"):
        profile.add_tag(taxonomy, code, TagSource.OPS, NOW, actor="ops:alice")
    assert profile.tags == {}


def test_the_same_code_from_different_sources_are_different_tags(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.add_tag(taxonomy, "interest.diapers", TagSource.DECLARED, NOW)
    profile.apply_mall_event(mall("v1", MallEventKind.VIEW, "diapers_s"), taxonomy)
    assert set(profile.tags) == {("interest.diapers", TagSource.DECLARED), ("interest.diapers", TagSource.MALL)}
    profile.remove_tag("interest.diapers", TagSource.MALL, NOW, actor="ops:alice")
    assert set(profile.tags) == {("interest.diapers", TagSource.DECLARED)}


def test_removing_a_tag_that_is_not_there_changes_nothing(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.add_tag(taxonomy, "interest.toys", TagSource.DECLARED, NOW)
    assert profile.remove_tag("interest.toys", TagSource.OPS, NOW, actor="ops:alice") == []
    assert profile.remove_tag("interest.clothing", TagSource.DECLARED, NOW, actor="ops:alice") == []
    assert set(profile.tags) == {("interest.toys", TagSource.DECLARED)}


# -- mall events ------------------------------------------------------------------------------------------


def test_an_order_adds_interest_purchase_spend_and_a_stage(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    changes = profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 12_900), taxonomy)
    assert [change.kind for change in changes] == ["tag_added", "stage_declared", "mall_event"]
    assert all(change.actor == "mall" for change in changes)
    assert changes[0] == Change(NOW, "tag_added", {"code": "purchase.diapers", "source": "mall", "weight": 1.0}, "mall")
    assert changes[-1] == Change(
        NOW, "mall_event", {"event_id": "o1", "kind": "order", "category": "diapers_newborn"}, "mall"
    )
    assert profile.tags == {
        ("interest.diapers", TagSource.MALL): Tag("interest.diapers", TagSource.MALL, 3.0, NOW, NOW),
        ("purchase.diapers", TagSource.MALL): Tag("purchase.diapers", TagSource.MALL, 1.0, NOW, NOW),
    }
    assert profile.spend_by_month == {"2025-06": 12_900}
    assert profile.applied_events == ["o1"]


def test_a_view_only_adds_interest(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    changes = profile.apply_mall_event(mall("v1", MallEventKind.VIEW, "formula_stage1", NOW, 5_000), taxonomy)
    assert [change.kind for change in changes] == ["mall_event"]
    assert profile.tags == {
        ("interest.feeding.formula", TagSource.MALL): Tag("interest.feeding.formula", TagSource.MALL, 0.6, NOW, NOW)
    }
    assert profile.spend_by_month == {}
    assert profile.declarations == []


def test_interest_builds_up_and_fades(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("v1", MallEventKind.VIEW, "toys", NOW), taxonomy)  # 0.4
    profile.apply_mall_event(mall("c1", MallEventKind.ADD_TO_CART, "toys", NOW), taxonomy)  # 1.2
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "toys", NOW + 30 * DAY, 100), taxonomy)  # 2.0
    tag = profile.tags[("interest.toys", TagSource.MALL)]
    assert tag.weight == pytest.approx(1.6 * 0.5 + 2.0)
    assert (tag.first_seen, tag.last_seen) == (NOW, NOW + 30 * DAY)


def test_a_half_life_can_be_given(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "toys", NOW, 100), taxonomy)
    profile.apply_mall_event(mall("o2", MallEventKind.ORDER, "toys", NOW + 7 * DAY, 100), taxonomy, timedelta(days=7))
    assert profile.tags[("interest.toys", TagSource.MALL)].weight == pytest.approx(3.0)


def test_the_same_event_twice_changes_nothing(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    order = mall("o1", MallEventKind.ORDER, "formula_stage1", NOW, 29_900)
    assert profile.apply_mall_event(order, taxonomy) != []
    before = copy.deepcopy(profile)
    assert profile.apply_mall_event(order, taxonomy) == []
    assert profile.apply_mall_event(order, taxonomy) == []
    assert profile == before
    assert profile.spend_by_month == {"2025-06": 29_900}


def test_a_redelivered_event_id_is_recognized_whatever_it_carries(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("e1", MallEventKind.VIEW, "toys"), taxonomy)
    before = copy.deepcopy(profile)
    assert profile.apply_mall_event(mall("e1", MallEventKind.ORDER, "stroller", NOW + DAY, 100), taxonomy) == []
    assert profile == before


def test_an_unknown_category_leaves_the_profile_untouched(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "toys", NOW, 100), taxonomy)
    before = copy.deepcopy(profile)
    with pytest.raises(UnknownCategory) as caught:
        profile.apply_mall_event(mall("o2", MallEventKind.ORDER, "telescopes", NOW + DAY, 99_900), taxonomy)
    assert caught.value.category == "telescopes"
    assert profile == before
    assert "o2" not in profile.applied_events  # so a redelivery after the taxonomy is fixed still counts


def test_a_refund_takes_back_interest_and_spend_but_not_the_purchase(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "stroller", NOW, 159_900), taxonomy)
    changes = profile.apply_mall_event(mall("r1", MallEventKind.REFUND, "stroller", NOW + DAY, 159_900), taxonomy)
    assert [change.kind for change in changes] == ["mall_event"]
    assert ("interest.gear.stroller", TagSource.MALL) not in profile.tags
    assert ("purchase.gear", TagSource.MALL) in profile.tags
    assert profile.spend_by_month == {"2025-06": 0}
    assert all(view.code != "spend.c" for view in profile.tag_views(NOW + DAY))


def test_a_refund_with_nothing_to_take_back_adds_no_tag(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("r1", MallEventKind.REFUND, "toys", NOW, 5_000), taxonomy)
    assert profile.tags == {}
    assert profile.spend_by_month == {"2025-06": -5_000}


def test_spend_is_counted_in_the_events_month(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(
        mall("o1", MallEventKind.ORDER, "toys", datetime(2025, 5, 31, 23, 59, tzinfo=UTC), 100), taxonomy
    )
    profile.apply_mall_event(
        mall("o2", MallEventKind.ORDER, "toys", datetime(2025, 6, 1, 0, 0, tzinfo=UTC), 250), taxonomy
    )
    profile.apply_mall_event(mall("o3", MallEventKind.ORDER, "bath", datetime(2025, 6, 2, tzinfo=UTC), 50), taxonomy)
    profile.apply_mall_event(mall("r1", MallEventKind.REFUND, "bath", datetime(2025, 7, 2, tzinfo=UTC), 50), taxonomy)
    assert profile.spend_by_month == {"2025-05": 100, "2025-06": 300, "2025-07": -50}


def test_only_the_latest_200_event_ids_are_remembered(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    for index in range(201):
        profile.apply_mall_event(
            mall(f"v{index}", MallEventKind.VIEW, "toys", NOW + index * timedelta(minutes=1)), taxonomy
        )
    assert len(profile.applied_events) == 200
    assert profile.applied_events[0] == "v1"
    assert profile.applied_events[-1] == "v200"
    assert profile.apply_mall_event(mall("v200", MallEventKind.VIEW, "toys"), taxonomy) == []


# -- tag views --------------------------------------------------------------------------------------------


def test_tag_views_fade_behaviour_and_sort_strongest_first(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.add_tag(taxonomy, "interest.clothing", TagSource.DECLARED, NOW, weight=2.0)
    profile.add_tag(taxonomy, "interest.care.bath", TagSource.OPS, NOW, weight=2.0, actor="ops:alice")
    profile.apply_mall_event(mall("c1", MallEventKind.ADD_TO_CART, "stroller", NOW), taxonomy)  # 1.8
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "toys", NOW, 100), taxonomy)  # 2.0 + purchase 1.0
    later = NOW + 30 * DAY
    views = profile.tag_views(later)
    assert [(view.code, view.source, view.weight) for view in views] == [
        ("interest.care.bath", TagSource.OPS, 2.0),  # ties by code
        ("interest.clothing", TagSource.DECLARED, 2.0),
        ("interest.toys", TagSource.MALL, 1.0),  # 2.0 half gone
        ("spend.c", TagSource.MALL, 1.0),  # one yuan this year
        ("interest.gear.stroller", TagSource.MALL, 0.9),
        ("purchase.toys", TagSource.MALL, 0.5),
    ]
    assert [view.last_seen for view in views if view.code == "spend.c"] == [later]


def test_tag_views_are_rounded_to_four_places(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("v1", MallEventKind.VIEW, "toys"), taxonomy)
    (view,) = profile.tag_views(NOW + 10 * DAY)
    assert view == TagView("interest.toys", TagSource.MALL, round(0.4 * 0.5 ** (1 / 3), 4), NOW, NOW)


def test_tag_views_include_the_declared_stage() -> None:
    profile = new_profile()
    profile.declare_stage(StageDeclaration(Basis.DUE_DATE, date(2025, 6, 1), date(2025, 9, 1)), NOW)
    midnight = datetime(2025, 6, 1, tzinfo=UTC)
    assert profile.tag_views(NOW) == [TagView("stage.pregnancy.late", TagSource.DECLARED, 1.0, midnight, midnight)]
    # the stage moves with the clock
    (view,) = profile.tag_views(datetime(2025, 9, 2, tzinfo=UTC))
    assert view.code == "stage.baby.0_6m"


def test_tag_views_mark_an_inferred_stage_as_inferred(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "formula_stage2", NOW, 100), taxonomy)
    stage_views = [view for view in profile.tag_views(NOW) if view.code.startswith("stage.")]
    midnight = datetime(2025, 6, 15, tzinfo=UTC)
    assert stage_views == [TagView("stage.baby.6_12m", TagSource.INFERRED, 1.0, midnight, midnight)]


@pytest.mark.parametrize(("fen", "tier"), [(100, "spend.c"), (80_000, "spend.b"), (300_000, "spend.a")])
def test_tag_views_include_the_spend_tier(taxonomy: Taxonomy, fen: int, tier: str) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "supplements", NOW, fen), taxonomy)
    later = NOW + 60 * DAY
    tiers = [view for view in profile.tag_views(later) if view.code.startswith("spend.")]
    assert tiers == [TagView(tier, TagSource.MALL, 1.0, later, later)]


def test_a_spend_tier_lapses_after_twelve_months(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "supplements", NOW, 300_000), taxonomy)
    codes = {view.code for view in profile.tag_views(datetime(2026, 5, 31, tzinfo=UTC))}
    assert "spend.a" in codes
    codes = {view.code for view in profile.tag_views(datetime(2026, 6, 1, tzinfo=UTC))}
    assert not any(code.startswith("spend.") for code in codes)


# -- follow state and the last interaction ------------------------------------------------------------


def following(profile: Profile) -> bool:
    """Read through a call: mypy would otherwise keep an asserted property's value across changes."""
    return profile.follow.following


def test_a_follow_is_recorded_once_with_how() -> None:
    profile = Profile("wx1", "o1")
    assert not following(profile)
    [change] = profile.followed(NOW, via="scene:poster-7")
    assert (change.kind, change.detail, change.actor) == ("followed", {"via": "scene:poster-7"}, "member")
    assert following(profile) and profile.follow.first_followed_at == NOW
    assert profile.last_active_at == NOW
    assert profile.followed(NOW, via="scene:poster-7") == []  # the same push again


def test_unfollow_and_refollow_keep_the_first_follow() -> None:
    profile = Profile("wx1", "o1")
    profile.followed(NOW, via="direct")
    [gone] = profile.unfollowed(NOW + timedelta(days=1))
    assert gone.kind == "unfollowed" and not following(profile)
    [back] = profile.followed(NOW + timedelta(days=3), via="search")
    assert back.kind == "followed" and following(profile)
    assert profile.follow.first_followed_at == NOW
    assert profile.follow.last_followed_at == NOW + timedelta(days=3)


def test_pushes_arriving_out_of_order_settle_on_what_happened_last() -> None:
    profile = Profile("wx1", "o1")
    [gone] = profile.unfollowed(NOW + timedelta(hours=2))
    assert gone.kind == "unfollowed" and not following(profile)
    [came] = profile.followed(NOW, via="direct")  # the earlier follow, told late: history, not state
    assert came.at == NOW and not following(profile) and profile.follow.first_followed_at == NOW
    profile.followed(NOW + timedelta(hours=3), via="direct")
    assert following(profile)
    assert profile.unfollowed(NOW + timedelta(hours=1)) == []  # older than the last unfollow: known
    assert profile.followed(NOW + timedelta(hours=3), via="direct") == []  # the same push again
    assert following(profile)


def test_interactions_keep_the_latest_moment_without_history() -> None:
    profile = Profile("wx1", "o1")
    profile.touch(NOW)
    profile.touch(NOW - timedelta(hours=5))
    assert profile.last_active_at == NOW
    profile.unfollowed(NOW + timedelta(hours=1))
    assert profile.last_active_at == NOW  # unfollowing is not an interaction the window counts


# -- the data_use consent gates mall behaviour --------------------------------------------------------------


def test_a_refused_data_use_keeps_mall_behaviour_out_of_the_profile(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.set_consent(ConsentKind.DATA_USE, False, NOW - DAY, "h5_form")
    changes = profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900), taxonomy)
    assert changes == [Change(NOW, "mall_event", {"event_id": "o1", "used": False}, "mall")]
    assert profile.tag_views(NOW) == [] and profile.spend_by_month == {} and profile.declarations == []
    # applied once: a redelivery (or a consent given later) does not replay it
    assert profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900), taxonomy) == []
    profile.set_consent(ConsentKind.DATA_USE, True, NOW + DAY, "h5_form")
    assert profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900), taxonomy) == []
    assert profile.tag_views(NOW) == []


def test_no_answer_is_no_refusal_and_a_withdrawal_forgets_what_behaviour_gave(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    profile.declare_stage(StageDeclaration(Basis.DUE_DATE, NOW.date(), date(2025, 9, 1), source="h5_form"), NOW)
    profile.add_tag(taxonomy, "interest.feeding", TagSource.DECLARED, NOW)
    profile.apply_mall_event(mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900), taxonomy)
    assert any(source is TagSource.MALL for _, source in profile.tags) and profile.spend_by_month
    assert any(d.source == "mall" for d in profile.declarations)

    changes = profile.set_consent(ConsentKind.DATA_USE, False, NOW + DAY, "h5_form")
    kinds = [change.kind for change in changes]
    assert kinds[0] == "consent" and "tag_removed" in kinds and "stage_withdrawn" in kinds
    assert not any(source is TagSource.MALL for _, source in profile.tags)
    assert ("interest.feeding", TagSource.DECLARED) in profile.tags  # what the member declared stays
    assert profile.spend_by_month == {} and [d.source for d in profile.declarations] == ["h5_form"]


def test_with_consent_required_mall_behaviour_waits_for_a_given_data_use(taxonomy: Taxonomy) -> None:
    profile = new_profile()
    order = mall("o1", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900)
    changes = profile.apply_mall_event(order, taxonomy, consent_required=True)
    assert changes == [Change(NOW, "mall_event", {"event_id": "o1", "used": False}, "mall")]
    profile.set_consent(ConsentKind.DATA_USE, True, NOW, "h5_form")
    profile.apply_mall_event(
        mall("o2", MallEventKind.ORDER, "diapers_newborn", NOW, 9_900), taxonomy, consent_required=True
    )
    assert any(source is TagSource.MALL for _, source in profile.tags) and profile.spend_by_month
