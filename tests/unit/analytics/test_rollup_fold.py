"""The pure fold from events to rollup increments: each metric, Beijing days, follow sources, invitee
retention in either arrival order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.domain.rollups import (
    ACCOUNT,
    Follower,
    Rollups,
    apply,
    beijing_day,
    counted,
    follow_source,
    follower_of,
    part,
    review_wait_bucket,
)
from shared.contracts import (
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
)
from shared.events import Message

APPID = "wx1"
# 2026-12-01 10:00 Beijing.
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = "2026-12-01"


def fold(*messages: Message, follower: Follower | None = None) -> Rollups:
    into = Rollups()
    states: dict[tuple[str, str], Follower] = {}
    for message in messages:
        member = follower_of(APPID, message)
        state = None
        if member is not None:
            state = follower if follower is not None else states.setdefault(member, Follower(*member))
        apply(APPID, message, state, into)
    return into


def test_the_day_is_the_event_time_in_beijing() -> None:
    assert beijing_day(datetime(2026, 12, 1, 15, 59, tzinfo=UTC)) == "2026-12-01"
    assert beijing_day(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)) == "2026-12-02"
    followed = MemberFollowed(openid="o1", followed_at=datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    assert fold(followed).get(APPID, ACCOUNT, "2026-12-02") == {"follows": 1, "follows:direct": 1}


@pytest.mark.parametrize(
    ("scene", "source"),
    [
        (None, "direct"),
        ("", "direct"),
        ("r.c1.p9", "poster"),
        ("r2.c1.p9.b", "poster"),  # a poster variant's code (scene version 2)
        ("j.c1", "campaign_code"),
        ("store-7", "qr"),
        ("r.x", "qr"),
    ],
)
def test_a_follow_source_comes_from_its_scene(scene: str | None, source: str) -> None:
    assert follow_source(scene) == source


def test_unfollows_count_by_the_source_of_the_latest_follow_or_unknown() -> None:
    rollups = fold(
        MemberFollowed(openid="o1", followed_at=T0, scene="r.c1.p1"),
        MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(hours=1)),
        MemberFollowed(openid="o1", followed_at=T0 + timedelta(hours=2), scene="j.c1"),
        MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(hours=3)),
        MemberUnfollowed(openid="o2", unfollowed_at=T0 + timedelta(hours=3)),
    )
    assert rollups.get(APPID, ACCOUNT, DAY) == {
        "follows": 2,
        "follows:poster": 1,
        "follows:campaign_code": 1,
        "unfollows": 3,
        "unfollows:poster": 1,
        "unfollows:campaign_code": 1,
        "unfollows:unknown": 1,
    }


def test_an_older_follow_arriving_late_keeps_the_latest_source() -> None:
    state = Follower(APPID, "o1")
    fold(
        MemberFollowed(openid="o1", followed_at=T0 + timedelta(hours=2), scene="j.c1"),
        MemberFollowed(openid="o1", followed_at=T0, scene="r.c1.p1"),
        follower=state,
    )
    assert state.source == "campaign_code"


def test_campaign_events_count_for_the_account_and_the_campaign() -> None:
    rollups = fold(
        CampaignPosterSent(openid="o1", campaign_id="c1", sent_at=T0),
        CampaignPosterScanned(openid="o2", campaign_id="c1", inviter_openid="o1", new_follower=True, scanned_at=T0),
        CampaignPosterScanned(openid="o3", campaign_id="c1", inviter_openid="o1", new_follower=False, scanned_at=T0),
        CampaignInviteCredited(openid="o1", campaign_id="c1", invitee_openid="o2", credited_at=T0),
        CampaignCreditRevoked(openid="o1", campaign_id="c1", invitee_openid="o2", revoked_at=T0),
        CampaignTierReached(openid="o1", campaign_id="c1", tier=2, reached_at=T0),
        CampaignRewardGranted(openid="o1", campaign_id="c1", tier=2, basis="invites", granted_at=T0),
    )
    assert rollups.get(APPID, ACCOUNT, DAY) == {"poster_sent": 1, "credited": 1, "revoked": 1, "rewards": 1}
    assert rollups.get(APPID, "campaign:c1", DAY) == {
        "poster_sent": 1,
        "poster_scans": 2,
        "poster_follows": 1,
        "credited": 1,
        "revoked": 1,
        "tier:2": 1,
        "rewards": 1,
        "rewards:2": 1,
    }


def test_screenshot_decisions_count_outcomes_reasons_and_reviewer_waits() -> None:
    def decided(outcome: str, by: str, reasons: list[str], waited: timedelta) -> CampaignScreenshotDecided:
        return CampaignScreenshotDecided.model_validate(
            {
                "openid": "o1",
                "campaign_id": "c1",
                "submission_id": "s1",
                "outcome": outcome,
                "reasons": reasons,
                "decided_by": by,
                "submitted_at": T0 - waited,
                "decided_at": T0,
            }
        )

    rollups = fold(
        decided("queued", "auto", ["poster_uncertain"], timedelta(0)),
        decided("rejected", "reviewer", ["not_moments", "not_moments", "odd.reason"], timedelta(minutes=30)),
        decided("approved", "reviewer", [], timedelta(hours=2)),
        decided("approved", "reviewer", [], timedelta(hours=5)),
        decided("approved", "reviewer", [], timedelta(hours=24)),
        decided("approved", "auto", [], timedelta(0)),
    )
    account = rollups.get(APPID, ACCOUNT, DAY)
    assert account == {
        "screenshots:queued": 1,
        "screenshots:rejected": 1,
        "screenshots:approved": 4,
        "screenshot_reason:poster_uncertain": 1,
        "screenshot_reason:not_moments": 1,
        "screenshot_reason:odd_reason": 1,
        "review_wait:lt1h": 1,
        "review_wait:lt4h": 1,
        "review_wait:lt24h": 1,
        "review_wait:ge24h": 1,
    }
    campaign = rollups.get(APPID, "campaign:c1", DAY)
    assert campaign == {k: v for k, v in account.items() if not k.startswith("review_wait")}


def test_review_wait_buckets() -> None:
    assert review_wait_bucket(T0, T0 + timedelta(minutes=59)) == "lt1h"
    assert review_wait_bucket(T0, T0 + timedelta(hours=1)) == "lt4h"
    assert review_wait_bucket(T0, T0 + timedelta(hours=23, minutes=59)) == "lt24h"
    assert review_wait_bucket(T0, T0 + timedelta(days=3)) == "ge24h"


def test_push_events_count_per_push_variant_project_and_account() -> None:
    common = {"push_id": "p1", "segment_id": "s1"}
    sent = common | {"channel": "template"}
    rollups = fold(
        PushDelivered(openid="o1", variant="A", project_id="pr1", delivered_at=T0, **sent),
        PushDelivered(openid="o2", delivered_at=T0, **sent),
        PushDeliveryFailed(openid="o3", variant="B", project_id="pr1", errcode=43004, failed_at=T0, **sent),
        PushClicked(openid="o1", variant="A", project_id="pr1", first=True, click_id="k1", clicked_at=T0, **common),
        PushClicked(openid="o1", variant="A", project_id="pr1", first=False, click_id="k2", clicked_at=T0, **common),
    )
    assert rollups.get(APPID, ACCOUNT, DAY) == {
        "pushes_delivered": 2,
        "project_delivered": 1,
        "pushes_failed": 1,
        "push_clicks": 2,
        "push_clickers": 1,
    }
    assert rollups.get(APPID, "push:p1", DAY) == {
        "delivered": 2,
        "delivered:v:A": 1,
        "delivered:v:-": 1,
        "failed": 1,
        "failed:43004": 1,
        "failed:v:B": 1,
        "clicks": 2,
        "clicks:v:A": 2,
        "clickers": 1,
        "clickers:v:A": 1,
    }
    assert rollups.get(APPID, "project:pr1", DAY) == {
        "delivered": 1,
        "delivered:seg:s1": 1,
        "delivered:push:p1": 1,
        "clicks": 2,
        "clickers": 1,
        "clicks:push:p1": 2,
    }


def credit(at: datetime, campaign: str = "c1") -> CampaignInviteCredited:
    return CampaignInviteCredited(openid="inviter", campaign_id=campaign, invitee_openid="o9", credited_at=at)


def unfollow(at: datetime) -> MemberUnfollowed:
    return MemberUnfollowed(openid="o9", unfollowed_at=at)


def lost(rollups: Rollups, day: str = DAY) -> dict[str, int]:
    return {k: v for k, v in rollups.get(APPID, "campaign:c1", day).items() if k.startswith("invitees_lost")}


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (timedelta(days=2), {"invitees_lost_7d": 1, "invitees_lost_30d": 1}),
        (timedelta(days=10), {"invitees_lost_30d": 1}),
        (timedelta(days=31), {}),
        (-timedelta(hours=1), {}),  # gone before the credit: not lost after it
    ],
)
def test_an_invitee_lost_counts_on_the_credit_day_whichever_arrives_first(
    after: timedelta, expected: dict[str, int]
) -> None:
    assert lost(fold(credit(T0), unfollow(T0 + after))) == expected
    assert lost(fold(unfollow(T0 + after), credit(T0))) == expected


def test_an_invitee_who_leaves_twice_is_lost_once() -> None:
    events = [credit(T0), unfollow(T0 + timedelta(days=1)), unfollow(T0 + timedelta(days=3))]
    assert lost(fold(*events)) == {"invitees_lost_7d": 1, "invitees_lost_30d": 1}
    assert lost(fold(*reversed(events))) == {"invitees_lost_7d": 1, "invitees_lost_30d": 1}
    late = [credit(T0), unfollow(T0 + timedelta(days=20)), unfollow(T0 + timedelta(days=3))]
    assert lost(fold(*late)) == {"invitees_lost_7d": 1, "invitees_lost_30d": 1}


def test_a_credit_in_two_campaigns_is_lost_in_each() -> None:
    rollups = fold(credit(T0, "c1"), credit(T0, "c2"), unfollow(T0 + timedelta(days=1)))
    assert lost(rollups) == {"invitees_lost_7d": 1, "invitees_lost_30d": 1}
    assert rollups.get(APPID, "campaign:c2", DAY)["invitees_lost_7d"] == 1


def test_only_counted_events_need_work_and_some_need_member_state() -> None:
    menu = MenuClicked(openid="o1", clicked_at=T0, key="k")
    assert not counted(menu)
    assert follower_of(APPID, menu) is None
    assert counted(credit(T0)) and follower_of(APPID, credit(T0)) == (APPID, "o9")
    assert follower_of(APPID, CampaignPosterSent(openid="o1", campaign_id="c", sent_at=T0)) is None


def test_dimension_values_are_safe_field_names() -> None:
    assert part("a.b$c") == "a_b_c"
    assert part("") == "-"
    assert len(part("x" * 500)) == 100
