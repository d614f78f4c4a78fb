"""Crediting emits what it records on ``campaigns.activity``, in the transaction of the write: a scan of
a poster code, the credit, the revocation, each tier reached and its reward, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.campaigns.adapters.memory import CampaignRecords, InMemoryReferrals, InMemoryReferralUnitOfWork
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.referrals import CampaignView, ReferralRules, ReferralScene, Tier
from services.campaigns.service_layer.referrals import credit_follow, revoke_on_unfollow
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    CATALOG,
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignRewardGranted,
    CampaignTierReached,
    MemberFollowed,
    MemberUnfollowed,
)
from shared.events import Envelope, Message

APPID = "wx1"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CAMPAIGN = CampaignView(
    campaign_id="c1",
    appid=APPID,
    rules=ReferralRules(
        starts_at=T0, ends_at=T0 + timedelta(days=30), running=True, tiers=(Tier(2, "A"), Tier(3, "B"))
    ),
)


class Directory:
    async def find(self, appid: str, campaign_id: str) -> CampaignView | None:
        return CAMPAIGN if (appid, campaign_id) == (APPID, "c1") else None


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def follow(invitee: str, minutes: int, scene: str | None = None) -> tuple[Envelope, MemberFollowed]:
    event = MemberFollowed(
        openid=invitee, followed_at=at(minutes), scene=scene or ReferralScene("c1", "mom0000001").encode()
    )
    return Envelope.wrap(event, appid=APPID, key=invitee, event_id=f"f-{invitee}-{minutes}"), event


def unfollow(invitee: str, minutes: int) -> tuple[Envelope, MemberUnfollowed]:
    event = MemberUnfollowed(openid=invitee, unfollowed_at=at(minutes))
    return Envelope.wrap(event, appid=APPID, key=invitee, event_id=f"u-{invitee}-{minutes}"), event


async def with_mom() -> InMemoryReferralUnitOfWork:
    records = CampaignRecords()
    await InMemoryReferrals(records).add_participant(Participant("c1", APPID, "o_mom", "mom0000001", T0, "qr"))
    return InMemoryReferralUnitOfWork(records)


def activity(uow: InMemoryReferralUnitOfWork, start: int = 0) -> list[tuple[str, Message]]:
    """What was emitted (from ``start``): each event's id and payload, after checking topic, key and account."""
    found = []
    for topic, envelope in uow.emitted[start:]:
        assert topic is CAMPAIGN_ACTIVITY and envelope.appid == APPID
        message = CATALOG.decode(envelope)
        assert envelope.key == getattr(message, "openid")  # noqa: B009 - every activity event has one
        found.append((envelope.event_id, message))
    return found


async def test_a_credit_reports_the_scan_the_credit_and_each_tier_with_its_reward_once() -> None:
    uow, directory = await with_mom(), Directory()
    await credit_follow(*follow("o_f1", 1), uow, directory)
    assert activity(uow) == [
        (
            "poster_scanned:f-o_f1-1",
            CampaignPosterScanned(
                openid="o_f1", campaign_id="c1", inviter_openid="o_mom", new_follower=True, scanned_at=at(1)
            ),
        ),
        (
            "invite_credited:c1:o_f1",
            CampaignInviteCredited(openid="o_mom", campaign_id="c1", invitee_openid="o_f1", credited_at=at(1)),
        ),
    ]
    before = len(uow.emitted)
    await credit_follow(*follow("o_f1", 1), uow, directory)  # Kafka redelivers the follow
    assert len(uow.emitted) == before

    await credit_follow(*follow("o_f2", 2), uow, directory)  # the 2nd invite: the first tier (2 invites)
    assert [event_id for event_id, _ in activity(uow, before)] == [
        "poster_scanned:f-o_f2-2",
        "invite_credited:c1:o_f2",
        "tier_reached:c1:o_mom:1",
        "reward_granted:c1:o_mom:1",
    ]
    assert [message for _, message in activity(uow)[-2:]] == [
        CampaignTierReached(openid="o_mom", campaign_id="c1", tier=1, reached_at=at(2)),
        CampaignRewardGranted(openid="o_mom", campaign_id="c1", tier=1, basis="invites", granted_at=at(2)),
    ]
    before = len(uow.emitted)
    await revoke_on_unfollow(*unfollow("o_f2", 10), uow, directory)
    await credit_follow(*follow("o_f3", 20), uow, directory)  # back to 2 invites: tier 1 is not granted again
    await credit_follow(*follow("o_f4", 21), uow, directory)  # 3 invites: tier 2
    assert [event_id for event_id, _ in activity(uow, before)] == [
        "credit_revoked:c1:o_f2",
        "poster_scanned:f-o_f3-20",
        "invite_credited:c1:o_f3",
        "poster_scanned:f-o_f4-21",
        "invite_credited:c1:o_f4",
        "tier_reached:c1:o_mom:2",
        "reward_granted:c1:o_mom:2",
    ]
    assert activity(uow, before)[0][1] == CampaignCreditRevoked(
        openid="o_mom", campaign_id="c1", invitee_openid="o_f2", revoked_at=at(10)
    )


async def test_a_refused_follow_reports_the_scan_only_and_a_re_follow_is_no_new_follower() -> None:
    uow, directory = await with_mom(), Directory()
    plain = MemberFollowed(openid="o_old", followed_at=T0 - timedelta(days=9))
    await credit_follow(Envelope.wrap(plain, appid=APPID, key="o_old", event_id="old"), plain, uow, directory)
    assert uow.emitted == []  # not through a poster: nothing to report
    await credit_follow(*follow("o_old", 1), uow, directory)  # follows again, through mom's poster
    await credit_follow(*follow("o_mom", 2), uow, directory)  # a self-invite
    scans = activity(uow)
    assert [(event_id, getattr(message, "new_follower")) for event_id, message in scans] == [  # noqa: B009
        ("poster_scanned:f-o_old-1", False),
        ("poster_scanned:f-o_mom-2", True),
    ]


async def test_follows_through_unknown_codes_and_late_unfollows_report_nothing() -> None:
    uow, directory = await with_mom(), Directory()
    await credit_follow(*follow("o_f1", 1, scene=ReferralScene("c1", "nobody0001").encode()), uow, directory)
    await credit_follow(*follow("o_f2", 2, scene="j.c1"), uow, directory)  # the campaign's own code
    await credit_follow(*follow("o_f3", 3), uow, directory)
    before = len(uow.emitted)
    await revoke_on_unfollow(*unfollow("o_f3", 3 + 60 * 49), uow, directory)  # after the 48 h window
    await revoke_on_unfollow(*unfollow("o_f1", 5), uow, directory)  # never credited
    assert len(uow.emitted) == before == 2
