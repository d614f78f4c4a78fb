"""Poster A/B variants: the variant rides in the member's QR scene (old scenes still read), members are
spread by weight or shifted toward the winner, and each variant's scans, follows and credits are counted
once per push."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.campaigns.domain.campaign import CampaignInvalid, PosterTemplate, QrBox, RewardBasis
from services.campaigns.domain.referrals import ReferralScene
from services.campaigns.domain.variants import (
    PRIMARY,
    AutoShift,
    PosterVariant,
    VariantFigures,
    VariantPlan,
    choose_variant,
    confirmed_change,
    variant_figures,
)
from shared.contracts import CATALOG
from tests.unit.campaigns.graph_harness import at, graph_stack

TEMPLATE = PosterTemplate("img-b", 750, 1334, QrBox(100, 100, 240))


def plan(*keys: str, weights: dict[str, int] | None = None, shift: AutoShift | None = None) -> VariantPlan:
    weights = weights or {}
    variants = tuple(PosterVariant(key, TEMPLATE, weights.get(key, 1)) for key in keys)
    return VariantPlan("c1", variants, weights.get(PRIMARY, 1), shift or AutoShift())


def test_a_variant_rides_in_a_version_2_scene_and_version_1_scenes_still_read_as_the_primary() -> None:
    old = "r.c7Hq2xY.p0001abc"
    assert ReferralScene.decode(old) == ReferralScene("c7Hq2xY", "p0001abc", None)
    assert ReferralScene("c7Hq2xY", "p0001abc").encode() == old  # codes without a variant do not change
    scene = ReferralScene("c" * 32, "p" * 24, "b2z")
    assert scene.encode() == f"r2.{'c' * 32}.{'p' * 24}.b2z"
    assert len(scene.encode()) <= 64
    assert ReferralScene.decode(scene.encode()) == scene
    for foreign in ("r2.c.p", "r2.c.p.B", "r2.c.p.abcd", "r.c.p.b"):
        assert ReferralScene.decode(foreign) is None
    with pytest.raises(ValueError, match="scene"):
        ReferralScene("c", "p", "toolong").encode()


def test_plans_refuse_bad_keys_duplicates_and_no_weight_at_all() -> None:
    with pytest.raises(CampaignInvalid, match="key"):
        plan("B").validate()
    with pytest.raises(CampaignInvalid, match="each key once"):
        plan("a").validate()
    with pytest.raises(CampaignInvalid, match="weights"):
        plan("b", weights={"a": 0, "b": 0}).validate()
    plan("b", "c").validate()


def test_members_are_spread_by_weight_and_always_draw_the_same_variant() -> None:
    spread = plan("b", weights={"a": 1, "b": 3})
    drawn = [choose_variant(spread, [], f"o{n}") for n in range(4000)]
    assert drawn == [choose_variant(spread, [], f"o{n}") for n in range(4000)]  # deterministic per member
    assert 0.70 < drawn.count("b") / len(drawn) < 0.80
    assert choose_variant(plan("b", weights={"a": 0}), [], "o1") == "b"
    assert choose_variant(VariantPlan("c1"), [], "o1") == PRIMARY


def test_the_automatic_shift_waits_for_the_sample_then_favours_the_winner() -> None:
    shifting = plan("b", shift=AutoShift(enabled=True, min_sample=100))
    early = [VariantFigures("a", members=99, follows=90), VariantFigures("b", members=100, follows=1)]
    drawn = [choose_variant(shifting, early, f"o{n}") for n in range(2000)]
    assert 0.4 < drawn.count("b") / len(drawn) < 0.6  # one variant under the sample: still by weight
    clear = [VariantFigures("a", members=200, follows=20), VariantFigures("b", members=200, follows=60)]
    drawn = [choose_variant(shifting, clear, f"o{n}") for n in range(2000)]
    assert drawn.count("b") / len(drawn) > 0.99
    close = [VariantFigures("a", members=100, follows=30), VariantFigures("b", members=100, follows=33)]
    drawn = [choose_variant(shifting, close, f"o{n}") for n in range(2000)]
    assert 0.05 < drawn.count("a") / len(drawn) < 0.5  # a close race keeps exploring the other


def test_figures_come_from_the_counters_with_the_primary_first() -> None:
    counts = {"members:a": 4, "members:b": 5, "scans:b": 3, "follows:b": 2, "credited:b": 1, "scans:x": 1}
    figures = variant_figures(plan("b"), counts)
    assert [f.variant for f in figures] == ["a", "b", "x"]
    assert figures[1] == VariantFigures("b", members=5, scans=3, follows=2, credited=1)
    assert figures[1].follow_rate == 0.4 and VariantFigures("z").follow_rate is None


async def test_members_get_their_variants_poster_and_code_and_each_variant_counts_once_per_push() -> None:
    async with graph_stack() as stack:
        campaign = await stack.campaign("c1", keyword="海报", variants=("b",))
        members = [f"o_m{n}" for n in range(12)]
        for n, openid in enumerate(members):
            await stack.join(openid, "海报", n)
        given = {m: await stack.variants.assignment(campaign.id, m) for m in members}
        assert set(given.values()) == {"a", "b"}  # twelve members: both variants drawn
        plan_b = await stack.variants.plan(campaign.id)
        assert plan_b is not None
        for openid, variant in given.items():
            scene = await stack.scene_of(campaign.id, openid)
            assert ReferralScene.decode(scene) == ReferralScene(
                campaign.id, scene.split(".")[2], None if variant == "a" else variant
            )
            expected = campaign.template.image_id if variant == "a" else plan_b.template("b").image_id  # type: ignore[union-attr]
            assert stack.renderer.templates[openid] == expected
        a_member = next(m for m, v in given.items() if v == "a")
        b_member = next(m for m, v in given.items() if v == "b")
        await stack.invite(campaign.id, b_member, "o_f1", 20)
        envelope = await stack.follow("o_f2", await stack.scene_of(campaign.id, b_member), 21)
        await stack.worker.handle(envelope, CATALOG.decode(envelope))  # redelivered: counted once
        await stack.invite(campaign.id, a_member, "o_f3", 22)
        await stack.invite(campaign.id, a_member, "o_f1", 23)  # a re-follow: refused, still a scan and a follow
        counts = await stack.variants.counts(campaign.id)
        assert counts["scans:b"] == 2 and counts["follows:b"] == 2 and counts["credited:b"] == 2
        assert counts["scans:a"] == 2 and counts["follows:a"] == 2 and counts["credited:a"] == 1
        assert counts["members:a"] + counts["members:b"] == 12 + 3  # the friends joined too


def test_the_shift_of_a_verified_followers_campaign_counts_confirmed_credits_not_follows() -> None:
    shifting = plan("b", shift=AutoShift(enabled=True, min_sample=100))
    # a brings many follows whose friends leave within the window; b fewer follows that stay.
    figures = [
        VariantFigures("a", members=200, follows=80, credited=80, confirmed=5),
        VariantFigures("b", members=200, follows=40, credited=40, confirmed=35),
    ]
    on_follows = [choose_variant(shifting, figures, f"o{n}") for n in range(2000)]
    on_confirmed = [choose_variant(shifting, figures, f"o{n}", on_confirmed=True) for n in range(2000)]
    assert on_follows.count("a") / len(on_follows) > 0.99
    assert on_confirmed.count("b") / len(on_confirmed) > 0.99
    assert figures[1].confirmed_rate == 35 / 200 and VariantFigures("z").confirmed_rate is None
    assert variant_figures(plan("b"), {"members:b": 2, "confirmed:b": 1})[1].confirmed == 1
    assert confirmed_change("b", False, True) == {"confirmed:b": 1}
    assert confirmed_change("b", True, False) == {"confirmed:b": -1}
    assert confirmed_change(None, False, True) == {} and confirmed_change("b", True, True) == {}


async def test_confirmed_credits_count_per_variant_once_the_window_has_passed() -> None:
    async with graph_stack() as stack:
        campaign = await stack.campaign("c1", keyword="海报", variants=("b",))
        assert campaign.reward_basis is RewardBasis.VERIFIED_FOLLOWERS  # credits wait for their window
        members = [f"o_m{n}" for n in range(12)]
        for n, openid in enumerate(members):
            await stack.join(openid, "海报", n)
        given = {m: await stack.variants.assignment(campaign.id, m) for m in members}
        a_member = next(m for m, v in given.items() if v == "a")
        b_member = next(m for m, v in given.items() if v == "b")
        await stack.invite(campaign.id, b_member, "o_f1", 20)
        await stack.invite(campaign.id, b_member, "o_f2", 21)
        await stack.invite(campaign.id, a_member, "o_f3", 22)
        counts = await stack.variants.counts(campaign.id)
        assert counts["credited:b"] == 2 and "confirmed:b" not in counts  # pending: nothing confirmed yet
        await stack.unfollow("o_f2", 30)  # inside the window: the credit is taken back, never confirmed
        window = timedelta(hours=campaign.rules.revoke_if_unfollowed_within_hours, minutes=1)
        confirmed = await stack.worker.confirm_credits(at(22) + window + timedelta(minutes=5))
        assert sorted(c.invitee for c in confirmed) == ["o_f1", "o_f3"]
        assert await stack.worker.confirm_credits(at(22) + window + timedelta(minutes=6)) == []  # once
        counts = await stack.variants.counts(campaign.id)
        assert counts["confirmed:b"] == 1 and counts["confirmed:a"] == 1
        assert counts["credited:b"] == 2  # credits recorded stay as recorded
        invitation = await stack.worker.store.invitation(campaign.id, "o_f1")
        assert invitation is not None and invitation.variant == "b"
        [edge] = [e for e in await stack.graph.edges("wx1") if e.invitee == "o_f1"]
        assert edge.variant == "b"
