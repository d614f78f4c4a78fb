"""Crediting referrals, on the in-memory records and on a real MongoDB-protocol server: once per event,
by the rules; each committed credit or revocation announced with the inviter's new standing."""

from __future__ import annotations

import abc
from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.domain.participants import Participant
from services.campaigns.domain.referrals import CampaignView, ReferralRules, ReferralScene, Rejection, Tier
from services.campaigns.service_layer.referrals import credit_follow, revoke_on_unfollow
from shared.contracts import MemberFollowed, MemberUnfollowed
from shared.events import Envelope
from tests.fakes.announcer import FakeAnnouncer
from tests.integration.campaigns.conftest import Records

APPID = "wxcampaign000001"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CAMPAIGN = CampaignView(
    campaign_id="c1",
    appid=APPID,
    rules=ReferralRules(
        starts_at=T0, ends_at=T0 + timedelta(days=30), running=True, tiers=(Tier(2, "A"), Tier(3, "B")),
        per_inviter_daily_cap=10, blacklist=frozenset({"o_cheater"}),
    ),
)  # fmt: skip


class Directory:
    async def find(self, appid: str, campaign_id: str) -> CampaignView | None:
        return CAMPAIGN if (appid, campaign_id) == (CAMPAIGN.appid, CAMPAIGN.campaign_id) else None


def follow(
    invitee: str, minutes: int, code: str = "mom0000001", event_id: str | None = None
) -> tuple[Envelope, MemberFollowed]:
    event = MemberFollowed(
        openid=invitee, followed_at=T0 + timedelta(minutes=minutes), scene=ReferralScene("c1", code).encode()
    )
    return Envelope.wrap(event, appid=APPID, key=invitee, event_id=event_id or f"f-{invitee}-{minutes}"), event


def unfollow(invitee: str, minutes: int) -> tuple[Envelope, MemberUnfollowed]:
    event = MemberUnfollowed(openid=invitee, unfollowed_at=T0 + timedelta(minutes=minutes))
    return Envelope.wrap(event, appid=APPID, key=invitee, event_id=f"u-{invitee}-{minutes}"), event


def standings(announcer: FakeAnnouncer) -> list[tuple[str, str, int, int]]:
    return [(c.campaign_id, c.openid, c.credited, c.revision) for c in announcer.announced]


async def notice_kinds(records: Records, openid: str, *event_ids: str) -> list[str]:
    """The kinds of the notices the events queued for the member (none is delivered here)."""
    kinds = []
    for event_id in event_ids:
        kinds += [n.kind for n in await records.notices.queued_by(event_id) if n.openid == openid]
    return sorted(kinds)


class CreditingFlow(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def stored(self) -> Records: ...

    @pytest.fixture
    async def records(self, stored: Records) -> Records:
        await stored.store.add_participant(Participant("c1", APPID, "o_mom", "mom0000001", T0, "campaign_qr"))
        await stored.store.add_participant(Participant("c1", APPID, "o_cheater", "cheat00001", T0, "campaign_qr"))
        return stored

    async def test_friends_are_credited_once_and_tiers_granted_once(self, records: Records) -> None:
        directory, announcer = Directory(), FakeAnnouncer()
        first = await credit_follow(*follow("o_f1", 1), records.uow(), directory, announcer)
        assert first is not None and first.credited
        assert await credit_follow(*follow("o_f1", 1), records.uow(), directory, announcer) is None  # Kafka redelivery
        second = await credit_follow(*follow("o_f2", 2), records.uow(), directory, announcer)
        third = await credit_follow(*follow("o_f3", 3), records.uow(), directory, announcer)
        assert second is not None and second.tiers_granted == (2,)
        assert third is not None and third.tiers_granted == (3,)
        mom = await records.store.participant("c1", "o_mom")
        assert mom is not None and (mom.credited, mom.tiers_granted) == (3, [2, 3])
        rewards = await records.results.rewards("c1", limit=10, offset=0)
        assert [(r["inviter"], r["tier"]) for r in rewards] == [("o_mom", 2), ("o_mom", 3)]
        kinds = await notice_kinds(records, "o_mom", "f-o_f1-1", "f-o_f2-2", "f-o_f3-3")
        # 1/2 after the first friend; tier 2 and 2/3 after the second; tier 3 and no more progress after the third
        assert kinds == ["progress", "progress", "tier-2", "tier-3"]
        assert standings(announcer) == [("c1", "o_mom", 1, 1), ("c1", "o_mom", 2, 2), ("c1", "o_mom", 3, 3)]
        assert [c.at for c in announcer.announced] == [T0 + timedelta(minutes=m) for m in (1, 2, 3)]

    @pytest.mark.parametrize(
        ("invitee", "code", "prepare", "reason"),
        [
            ("o_mom", "mom0000001", None, Rejection.SELF_INVITE),
            ("o_old_fan", "mom0000001", "followed before", Rejection.NOT_A_NEW_FOLLOWER),
            ("o_friend", "cheat00001", None, Rejection.INVITER_BLACKLISTED),
        ],
    )
    async def test_cheats_get_no_credit(
        self, records: Records, invitee: str, code: str, prepare: str | None, reason: Rejection
    ) -> None:
        if prepare:
            plain = MemberFollowed(openid=invitee, followed_at=T0 - timedelta(days=90))
            await credit_follow(
                Envelope.wrap(plain, appid=APPID, key=invitee, event_id="old"), plain, records.uow(), Directory()
            )
        announcer = FakeAnnouncer()
        outcome = await credit_follow(*follow(invitee, 5, code=code), records.uow(), Directory(), announcer)
        assert outcome is not None and outcome.reason is reason
        assert announcer.announced == []  # no credit, no change to announce
        assert (await records.results.of("c1")).rejections == {reason.value: 1}

    async def test_one_inviter_per_invitee(self, records: Records) -> None:
        await records.store.add_participant(Participant("c1", APPID, "o_aunt", "aunt000001", T0, "qr"))
        assert (await credit_follow(*follow("o_f1", 1), records.uow(), Directory())) is not None
        again = await credit_follow(*follow("o_f1", 50, code="aunt000001"), records.uow(), Directory())
        assert again is not None and again.reason in (Rejection.ALREADY_INVITED, Rejection.NOT_A_NEW_FOLLOWER)

    async def test_quick_unfollows_take_credit_back_and_late_ones_do_not(self, records: Records) -> None:
        announcer = FakeAnnouncer()
        await credit_follow(*follow("o_quick", 1), records.uow(), Directory(), announcer)
        await credit_follow(*follow("o_stays", 2), records.uow(), Directory(), announcer)
        assert await revoke_on_unfollow(*unfollow("o_quick", 60), records.uow(), Directory(), announcer) == ["c1"]
        assert (
            await revoke_on_unfollow(*unfollow("o_quick", 60), records.uow(), Directory(), announcer) == []
        )  # redelivered
        assert await revoke_on_unfollow(*unfollow("o_stays", 49 * 60), records.uow(), Directory(), announcer) == []
        mom = await records.store.participant("c1", "o_mom")
        assert mom is not None and (mom.credited, mom.revoked) == (1, 1)
        assert await notice_kinds(records, "o_mom", "u-o_quick-60") == ["revoked"]
        # The revocation is the third change to mom's credit: announced with revision 3, newer than both credits.
        assert standings(announcer) == [("c1", "o_mom", 1, 1), ("c1", "o_mom", 2, 2), ("c1", "o_mom", 1, 3)]
        assert announcer.announced[-1].at == T0 + timedelta(minutes=60)

    async def test_a_failed_announcement_leaves_the_credit_standing(self, records: Records) -> None:
        outcome = await credit_follow(*follow("o_f1", 1), records.uow(), Directory(), FakeAnnouncer(failures=1))
        assert outcome is not None and outcome.credited
        mom = await records.store.participant("c1", "o_mom")
        assert mom is not None and mom.credited == 1


class TestCreditingInMemory(CreditingFlow):
    @pytest.fixture
    async def stored(self, in_memory_records: Records) -> Records:
        return in_memory_records


@pytest.mark.integration
class TestCreditingInMongoDB(CreditingFlow):
    @pytest.fixture
    async def stored(self, mongo_records: Records) -> Records:
        return mongo_records
