"""One contract for what the referral flow and the share-screenshot task keep, run against the in-memory
adapters and MongoDB's: the referral store (``ReferralStore``), share-screenshot submissions
(``ShareScreenshotStore``), the unit of work over both (``ReferralUnitOfWork``), queued notices and
reward codes (``NoticeStore``, ``RewardLedger``) and the statistics read from them (``CampaignResults``)."""

from __future__ import annotations

import abc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.campaigns.domain.participants import Invitation, Notice, Participant, reward_id
from services.campaigns.domain.results import MAX_INVITEES_LISTED
from services.campaigns.domain.submissions import AuditEntry, SubmissionRecord
from services.screenshots import HOT_KEY, Decision, Fingerprint, lookup_keys
from services.screenshots.domain.similarity import DESCRIPTOR_BYTES, DESCRIPTOR_SIDE
from shared.storage import StorageConflict
from tests.integration.campaigns.conftest import Records

APPID = "wx1"
# Whole milliseconds: what MongoDB keeps of a time.
T0 = datetime(2026, 11, 23, 8, 0, 0, 123_000, tzinfo=UTC)


def member(openid: str, *, campaign_id: str = "c1", minutes: int = 0, code: str | None = None) -> Participant:
    return Participant(campaign_id, APPID, openid, code or f"code-{openid}", T0 + timedelta(minutes=minutes), "qr")


def invitation(invitee: str, *, inviter: str = "o_mom", campaign_id: str = "c1", minutes: int = 0) -> Invitation:
    at = T0 + timedelta(minutes=minutes)
    return Invitation(campaign_id, inviter, invitee, "credited", at, at)


def notice(notice_id: str, *, event_id: str = "e1", openid: str = "o_mom", text: str = "1/3") -> Notice:
    return Notice(notice_id, "c1", APPID, openid, "progress", text, T0, event_id=event_id)


def submission(
    name: str, *, status: str = "review", minutes: int = 0, reasons: tuple[str, ...] = (), context: bytes | None = b"d"
) -> SubmissionRecord:
    decision = {"review": "review", "approved": "approve", "rejected": "reject"}[status]
    return SubmissionRecord(
        id=f"{APPID}:{name}",
        campaign_id="c1",
        appid=APPID,
        openid=f"o_{name}",
        received_at=T0 + timedelta(minutes=minutes),
        status=status,
        decision=decision,
        reasons=list(reasons),
        evidence={"qr": "own"},
        fingerprint=Fingerprint(f"sha-{name}", context, "text"),
        decided_by="auto",
        decided_at=T0 + timedelta(minutes=minutes),
    )


def audit(name: str, actor: str, minutes: int) -> AuditEntry:
    return AuditEntry(f"{APPID}:{name}", "c1", actor, "review", ["possibly_reused"], T0 + timedelta(minutes=minutes))


class ReferralRecordsContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def records(self) -> Records: ...

    # -- the referral store ---------------------------------------------------------------------------

    async def test_a_participant_is_added_once_and_found_by_member_and_code(self, records: Records) -> None:
        store = records.store
        first = await store.add_participant(member("o_mom"))
        assert first == member("o_mom")
        again = await store.add_participant(replace(member("o_mom"), joined_via="keyword"))  # a redelivered join
        assert again.joined_via == "qr"
        assert await store.participant("c1", "o_mom") == first
        assert await store.participant_by_code("c1", "code-o_mom") == first
        assert await store.participant("c2", "o_mom") is None
        assert await store.participant_by_code("c2", "code-o_mom") is None

    async def test_a_participant_code_is_unique_in_its_campaign(self, records: Records) -> None:
        await records.store.add_participant(member("o_mom", code="same"))
        await records.store.add_participant(member("o_mom", campaign_id="c2", code="same"))  # another campaign
        with pytest.raises((StorageConflict, DuplicateKeyError)):
            await records.store.add_participant(member("o_dad", code="same"))

    async def test_a_saved_participant_is_updated_never_inserted(self, records: Records) -> None:
        store = records.store
        mom = await store.add_participant(member("o_mom"))
        mom.credited, mom.tiers_granted = 3, [3]
        await store.save_participant(mom)
        await store.save_participant(member("o_stranger"))
        assert await store.participant("c1", "o_mom") == mom
        assert await store.participant("c1", "o_stranger") is None

    async def test_what_a_reader_changes_stays_with_the_reader(self, records: Records) -> None:
        added = await records.store.add_participant(member("o_mom"))
        added.tiers_granted.append(3)
        found = await records.store.participant("c1", "o_mom")
        assert found is not None and found.tiers_granted == []
        found.credited = 9
        again = await records.store.participant("c1", "o_mom")
        assert again is not None and again.credited == 0

    async def test_a_follower_is_new_only_the_first_time(self, records: Records) -> None:
        assert await records.store.remember_follower(APPID, "o_f1", T0)
        assert not await records.store.remember_follower(APPID, "o_f1", T0 + timedelta(days=1))
        assert await records.store.remember_follower("wx2", "o_f1", T0)

    async def test_a_seeded_follower_is_not_new_on_a_later_follow(self, records: Records) -> None:
        known = records.known_followers
        seen = T0 + timedelta(days=1)
        assert await known.seed(APPID, [("o_old", seen), ("o_late", seen), ("o_mine", seen)]) == 3
        assert await known.seed(APPID, [("o_old", seen + timedelta(days=9))]) == 0  # known already
        assert await records.store.remember_follower(APPID, "o_mine", T0)
        assert not await records.store.remember_follower(APPID, "o_old", seen + timedelta(hours=1))  # a re-follow
        # The follow the seed saw, read late: judged as the worker's own first sighting, once.
        assert await records.store.remember_follower(APPID, "o_late", seen)
        assert not await records.store.remember_follower(APPID, "o_late", seen)
        assert await known.seed("wx2", [("o_old", seen)]) == 1  # per account

    async def test_an_invitee_has_one_invitation_per_campaign_revoked_once(self, records: Records) -> None:
        store = records.store
        assert await store.add_invitation(invitation("o_f1"))
        assert not await store.add_invitation(invitation("o_f1", inviter="o_aunt"))
        assert await store.add_invitation(invitation("o_f1", campaign_id="c2"))
        assert await store.invitation("c1", "o_f1") == invitation("o_f1")
        assert await store.invitation("c1", "o_nobody") is None
        assert {i.campaign_id for i in await store.credited_invitations_of("o_f1")} == {"c1", "c2"}

        assert await store.revoke_invitation("c1", "o_f1", T0 + timedelta(hours=1))
        assert not await store.revoke_invitation("c1", "o_f1", T0 + timedelta(hours=2))
        assert not await store.revoke_invitation("c1", "o_nobody", T0)
        revoked = await store.invitation("c1", "o_f1")
        assert revoked is not None and (revoked.status, revoked.revoked_at) == ("revoked", T0 + timedelta(hours=1))
        assert [i.campaign_id for i in await store.credited_invitations_of("o_f1")] == ["c2"]

    async def test_a_pending_credit_is_due_after_its_window_and_confirmed_once(self, records: Records) -> None:
        store = records.store
        for n, invitee in enumerate(["o_f1", "o_f2", "o_f3"]):
            pending = replace(invitation(invitee, minutes=n), confirms_at=T0 + timedelta(hours=48, minutes=n))
            await store.add_invitation(pending)
        await store.add_invitation(invitation("o_now", minutes=5))  # confirmed at credit: never due
        await store.revoke_invitation("c1", "o_f3", T0 + timedelta(hours=1))
        assert await store.due_confirmations(T0 + timedelta(hours=47), 10) == []
        due = await store.due_confirmations(T0 + timedelta(hours=49), 10)
        assert [i.invitee for i in due] == ["o_f1", "o_f2"]  # oldest first; the revoked one left out
        assert [i.invitee for i in await store.due_confirmations(T0 + timedelta(hours=49), 1)] == ["o_f1"]
        assert (await records.results.of("c1")).invites_confirmed == 1

        at = T0 + timedelta(hours=49)
        assert await store.confirm_invitation("c1", "o_f1", at)
        assert not await store.confirm_invitation("c1", "o_f1", at)  # a second sweep
        assert not await store.confirm_invitation("c1", "o_f3", at)  # revoked
        assert not await store.confirm_invitation("c1", "o_now", at)  # never pending
        confirmed = await store.invitation("c1", "o_f1")
        assert confirmed is not None and (confirmed.confirms_at, confirmed.confirmed_at) == (None, at)
        assert [i.invitee for i in await store.due_confirmations(at, 10)] == ["o_f2"]
        stats = await records.results.of("c1")
        assert (stats.invites_credited, stats.invites_confirmed, stats.invites_pending) == (3, 2, 1)
        await store.revoke_invitation("c1", "o_f1", at)  # a late unfollow takes a confirmed credit back
        stats = await records.results.of("c1")
        assert (stats.invites_credited, stats.invites_confirmed, stats.invites_pending) == (2, 1, 1)

    async def test_credits_are_counted_per_inviter_since_a_time_revoked_or_not(self, records: Records) -> None:
        store = records.store
        for n, invitee in enumerate(["o_f1", "o_f2", "o_f3"]):
            await store.add_invitation(invitation(invitee, minutes=10 * n))
        await store.add_invitation(invitation("o_f4", inviter="o_aunt", minutes=20))
        await store.revoke_invitation("c1", "o_f3", T0 + timedelta(hours=1))
        assert await store.credits_since("c1", "o_mom", T0 + timedelta(minutes=10)) == 2
        assert await store.credits_since("c1", "o_mom", T0) == 3
        assert await store.credits_since("c2", "o_mom", T0) == 0

    async def test_a_tiers_reward_is_granted_once(self, records: Records) -> None:
        store = records.store
        assert await store.grant_reward("c1", "o_mom", 3, "A", T0)
        assert not await store.grant_reward("c1", "o_mom", 3, "B", T0 + timedelta(minutes=1))
        assert await store.grant_reward("c1", "o_mom", 10, "B", T0 + timedelta(minutes=2))
        rewards = await records.results.rewards("c1", limit=10, offset=0)
        assert [(r["_id"], r["tier"], r["pool"]) for r in rewards] == [
            (reward_id("c1", "o_mom", 3), 3, "A"),
            (reward_id("c1", "o_mom", 10), 10, "B"),
        ]

    # -- notices and reward codes ---------------------------------------------------------------------

    async def test_a_notice_is_queued_once_and_found_by_its_event_while_pending(self, records: Records) -> None:
        await records.store.add_notice(notice("n1"))
        await records.store.add_notice(notice("n1", text="a redelivery's text"))
        await records.store.add_notice(notice("n2", event_id="e2"))
        assert await records.notices.queued_by("e1") == [notice("n1")]
        assert await records.notices.queued_by("e9") == []

        await records.notices.mark(notice("n1"), "sent", T0, text="1/3 delivered")
        assert await records.notices.queued_by("e1") == []

    async def test_a_held_notice_waits_for_its_member(self, records: Records) -> None:
        await records.store.add_notice(notice("n1"))
        await records.store.add_notice(notice("n2", openid="o_dad"))
        await records.notices.mark(notice("n1"), "held", T0)
        assert await records.notices.held_for(APPID, "o_mom") == [replace(notice("n1"), status="held")]
        assert await records.notices.held_for(APPID, "o_dad") == []
        assert await records.notices.queued_by("e1") == [notice("n2", openid="o_dad")]
        await records.notices.mark(notice("n1"), "sent", T0 + timedelta(hours=1))
        assert await records.notices.held_for(APPID, "o_mom") == []

    async def test_a_grant_records_its_code_or_that_it_waits_for_stock(self, records: Records) -> None:
        await records.store.grant_reward("c1", "o_mom", 3, "A", T0)
        await records.store.grant_reward("c1", "o_dad", 3, "A", T0 + timedelta(minutes=1))
        await records.notices.record_code(reward_id("c1", "o_mom", 3), "CODE1", T0 + timedelta(minutes=2))
        await records.notices.record_code(reward_id("c1", "o_dad", 3), None, T0 + timedelta(minutes=2))
        rewards = await records.results.rewards("c1", limit=10, offset=0)
        assert [(r["inviter"], r["code"], r["status"]) for r in rewards] == [
            ("o_mom", "CODE1", "issued"),
            ("o_dad", None, "awaiting_stock"),
        ]
        assert (await records.results.of("c1")).rewards_awaiting_stock == 1

    # -- share-screenshot submissions -----------------------------------------------------------------

    async def test_a_submission_is_recorded_once_and_its_picture_kept_once(self, records: Records) -> None:
        screenshots = records.screenshots
        assert await screenshots.add(submission("mom"))
        assert not await screenshots.add(submission("mom", status="approved"))  # a redelivery
        assert await screenshots.get(f"{APPID}:mom") == submission("mom")
        assert await screenshots.get(f"{APPID}:nope") is None
        await screenshots.keep_image(f"{APPID}:mom", b"\xff\xd8first", "image/jpeg")
        await screenshots.keep_image(f"{APPID}:mom", b"\x89PNGsecond", "image/png")
        assert await screenshots.image(f"{APPID}:mom") == (b"\xff\xd8first", "image/jpeg")
        assert await screenshots.image(f"{APPID}:dad") is None

    async def test_a_review_is_settled_once(self, records: Records) -> None:
        screenshots = records.screenshots
        await screenshots.add(submission("mom"))
        await screenshots.add(submission("dad", status="rejected"))
        settled = await screenshots.settle_review(f"{APPID}:mom", Decision.APPROVE, "ops-li", "clear", T0)
        assert settled is not None
        assert (settled.status, settled.decision, settled.decided_by, settled.note) == (
            "approved",
            "approve",
            "ops-li",
            "clear",
        )
        assert await screenshots.get(settled.id) == settled
        assert await screenshots.settle_review(f"{APPID}:mom", Decision.REJECT, "ops-wang", None, T0) is None
        assert await screenshots.settle_review(f"{APPID}:dad", Decision.APPROVE, "ops-li", None, T0) is None
        assert await screenshots.settle_review(f"{APPID}:nope", Decision.APPROVE, "ops-li", None, T0) is None
        assert await screenshots.approved("c1", "o_mom")
        assert not await screenshots.approved("c1", "o_dad") and not await screenshots.approved("c2", "o_mom")

    async def test_earlier_shots_are_those_with_a_context_to_compare(self, records: Records) -> None:
        await records.screenshots.add(submission("mom", status="approved"))
        await records.screenshots.add(submission("dad", status="rejected", context=None))
        [shot] = await records.screenshots.earlier("c1")
        assert (shot.submission_id, shot.user, shot.decision) == (f"{APPID}:mom", "o_mom", Decision.APPROVE)
        assert shot.fingerprint == Fingerprint("sha-mom", b"d", "text") and shot.own_qr
        assert await records.screenshots.earlier("c2") == []

    async def test_candidates_are_looked_up_by_shared_keys_nearest_first(self, records: Records) -> None:
        screenshots = records.screenshots
        base = np.random.default_rng(3).integers(0, 255, DESCRIPTOR_SIDE * DESCRIPTOR_SIDE, dtype=np.uint8)
        everywhere = b"\xff" * (DESCRIPTOR_BYTES - base.size)

        def described(name: str, noise: int, *, campaign: str = "c1", sha: str | None = None) -> SubmissionRecord:
            cells = base.astype(np.int16) + np.random.default_rng(noise).integers(-noise, noise + 1, base.size)
            context = np.clip(cells, 0, 255).astype(np.uint8).tobytes() + everywhere
            record = replace(submission(name, status="approved"), campaign_id=campaign)
            return replace(record, fingerprint=Fingerprint(sha or f"sha-{name}", context, ""))

        unrelated = np.random.default_rng(9).integers(0, 255, base.size, dtype=np.uint8).tobytes() + everywhere
        await screenshots.add(described("near", 8))
        await screenshots.add(described("nearer", 2))
        await screenshots.add(replace(submission("other"), fingerprint=Fingerprint("sha-other", unrelated, "")))
        await screenshots.add(described("elsewhere", 2, campaign="c2"))
        await screenshots.add(
            replace(submission("no-context", context=None), fingerprint=Fingerprint("sha-file", None))
        )

        mine = described("mine", 1).fingerprint
        found = await screenshots.candidates("c1", lookup_keys(mine))
        assert [shot.submission_id for shot in found] == [f"{APPID}:nearer", f"{APPID}:near"]
        assert found[0].fingerprint == (await screenshots.get(f"{APPID}:nearer")).fingerprint  # type: ignore[union-attr]
        # The same file is found by its hash alone, before any alike context.
        same_file = await screenshots.candidates("c1", lookup_keys(replace(mine, sha256="sha-file")))
        assert same_file[0].submission_id == f"{APPID}:no-context"
        assert await screenshots.candidates("c1", []) == []
        assert await screenshots.candidates("c3", lookup_keys(mine)) == []

    async def test_a_key_the_crowd_shares_is_no_longer_looked_up(self, records: Records) -> None:
        await records.screenshots.add(replace(submission("mom"), fingerprint=Fingerprint("sha-mom", None, "")))
        mom = lookup_keys(Fingerprint("sha-mom", None))
        assert [s.submission_id for s in await records.screenshots.candidates("c1", mom)] == [f"{APPID}:mom"]
        for _ in range(HOT_KEY):  # as many submissions had this key: it is the crowd's, not anyone's
            async with records.uow() as uow:
                await uow.screenshots.latch_reuse("c1", mom)
                await uow.commit()
        assert await records.screenshots.candidates("c1", mom) == []
        async with records.uow() as uow:  # and it is not counted any more (no hot spot)
            await uow.screenshots.latch_reuse("c1", mom)
            await uow.commit()

    async def test_two_transactions_latching_a_shared_key_conflict(self, records: Records) -> None:
        # Two approvals of alike pictures at once: the one that commits second must not commit.
        first, second = records.uow(), records.uow()
        async with first, second:
            assert await second.screenshots.candidates("c1", ["b0:00ff"]) == []  # what it reads: nothing yet
            await first.screenshots.latch_reuse("c1", ["f:sha", "b0:00ff"])
            await first.commit()
            with pytest.raises((StorageConflict, PyMongoError)):
                await second.screenshots.latch_reuse("c1", ["b1:1234", "b0:00ff"])
                await second.commit()
        # Other keys, or the same key in another campaign, do not conflict; no keys, no write.
        first, second = records.uow(), records.uow()
        async with first, second:
            await first.screenshots.latch_reuse("c1", ["f:sha"])
            await first.commit()
            await second.screenshots.latch_reuse("c2", ["f:sha"])
            await second.screenshots.latch_reuse("c1", [])
            await second.commit()

    async def test_the_listing_is_oldest_first_filtered_and_paged_with_counts(self, records: Records) -> None:
        screenshots = records.screenshots
        await screenshots.add(submission("late", minutes=30, reasons=("possibly_reused",)))
        await screenshots.add(submission("early", minutes=5, reasons=("possibly_reused", "foreign_qr")))
        await screenshots.add(submission("middle", minutes=10))
        await screenshots.add(submission("done", status="approved", minutes=1))

        async def ids(**query: Any) -> list[str]:
            filters: dict[str, Any] = {
                "status": None,
                "reason": None,
                "received_before": None,
                "limit": 10,
                "offset": 0,
            }
            found = await screenshots.listing("c1", **(filters | query))
            return [r.id.split(":")[1] for r in found]

        assert await ids() == ["done", "early", "middle", "late"]
        assert await ids(status="review") == ["early", "middle", "late"]
        assert await ids(reason="possibly_reused") == ["early", "late"]
        assert await ids(received_before=T0 + timedelta(minutes=10)) == ["done", "early"]
        assert await ids(limit=2, offset=1) == ["early", "middle"]
        assert await screenshots.counts("c1") == {"review": 3, "approved": 1}
        assert await screenshots.counts("c2") == {}

    async def test_the_audit_trail_is_in_time_order(self, records: Records) -> None:
        await records.screenshots.audit(audit("mom", "ops-li", 20))
        await records.screenshots.audit(audit("mom", "auto", 1))
        await records.screenshots.audit(audit("dad", "auto", 2))
        assert [e.actor for e in await records.screenshots.trail(f"{APPID}:mom")] == ["auto", "ops-li"]
        assert await records.screenshots.trail(f"{APPID}:nope") == []

    # -- the unit of work -----------------------------------------------------------------------------

    async def test_committed_effects_and_claims_stay(self, records: Records) -> None:
        async with records.uow() as uow:
            assert await uow.claim("campaigns", "e1")
            await uow.store.add_participant(member("o_mom"))
            await uow.screenshots.add(submission("mom"))
            await uow.commit()
        assert await records.store.participant("c1", "o_mom") is not None
        assert await records.screenshots.get(f"{APPID}:mom") is not None
        async with records.uow() as uow:
            assert not await uow.claim("campaigns", "e1")  # a redelivery
            assert await uow.claim("another-consumer", "e1")
            assert await uow.claim("campaigns", "e2")
            await uow.commit()
        async with records.uow() as uow:
            assert not await uow.claim("campaigns", "e2")

    async def test_a_transaction_sees_its_own_writes_and_without_commit_they_vanish(self, records: Records) -> None:
        await records.store.add_participant(member("o_mom"))
        async with records.uow() as uow:
            assert await uow.claim("campaigns", "e1")
            mom = await uow.store.participant("c1", "o_mom")
            assert mom is not None
            mom.credited = 1
            await uow.store.save_participant(mom)
            await uow.store.add_participant(member("o_f1"))
            await uow.store.remember_follower(APPID, "o_f1", T0)
            await uow.store.add_invitation(invitation("o_f1"))
            await uow.store.record_rejection("c1", "o_mom", "o_f2", "self_invite", T0)
            await uow.store.grant_reward("c1", "o_mom", 1, "A", T0)
            await uow.store.add_notice(notice("n1"))
            await uow.screenshots.add(submission("mom"))
            await uow.screenshots.keep_image(f"{APPID}:mom", b"picture", "image/jpeg")
            await uow.screenshots.audit(audit("mom", "auto", 1))
            seen = await uow.store.participant("c1", "o_mom")
            assert seen is not None and seen.credited == 1
            assert await uow.store.invitation("c1", "o_f1") is not None
            assert await uow.screenshots.get(f"{APPID}:mom") is not None
            # no commit: the handler failed
        stored = await records.store.participant("c1", "o_mom")
        assert stored is not None and stored.credited == 0
        assert await records.store.participant("c1", "o_f1") is None
        assert await records.store.invitation("c1", "o_f1") is None
        assert await records.notices.queued_by("e1") == []
        assert await records.screenshots.get(f"{APPID}:mom") is None
        assert await records.screenshots.image(f"{APPID}:mom") is None
        assert await records.screenshots.trail(f"{APPID}:mom") == []
        stats = await records.results.of("c1")
        assert (stats.participants, stats.rejections, stats.rewards_granted) == (1, {}, {})
        async with records.uow() as uow:
            assert await uow.claim("campaigns", "e1")  # the claim went with the effects
            assert await uow.store.remember_follower(APPID, "o_f1", T0)

    async def test_of_two_transactions_writing_one_record_only_the_first_to_commit_counts(
        self, records: Records
    ) -> None:
        await records.store.add_participant(member("o_mom"))
        first, second = records.uow(), records.uow()
        async with first, second:
            mine, theirs = await first.store.participant("c1", "o_mom"), await second.store.participant("c1", "o_mom")
            assert mine is not None and theirs is not None
            mine.credited, theirs.credited = 1, 5
            await first.store.save_participant(mine)
            await first.commit()
            # MongoDB refuses the write itself, the in-memory unit of work the commit: nothing of it stays.
            with pytest.raises((StorageConflict, PyMongoError)):
                await second.store.save_participant(theirs)
                await second.store.add_participant(member("o_f1"))
                await second.commit()
        stored = await records.store.participant("c1", "o_mom")
        assert stored is not None and stored.credited == 1
        assert await records.store.participant("c1", "o_f1") is None

    async def test_an_event_claimed_by_two_transactions_at_once_is_processed_once(self, records: Records) -> None:
        first, second = records.uow(), records.uow()
        async with first, second:
            assert await first.claim("campaigns", "e1")
            await first.store.add_invitation(invitation("o_f1"))
            try:
                both = await second.claim("campaigns", "e1")
            except StorageConflict:  # MongoDB: the other transaction's claim is in the way
                both = False
            await first.commit()
            if both:  # in memory: the claim is checked when the second one commits
                await second.store.add_invitation(invitation("o_f2"))
                with pytest.raises(StorageConflict):
                    await second.commit()
        assert await records.store.invitation("c1", "o_f1") is not None
        assert await records.store.invitation("c1", "o_f2") is None
        async with records.uow() as uow:
            assert not await uow.claim("campaigns", "e1")

    # -- results --------------------------------------------------------------------------------------

    async def test_results_count_the_campaigns_own_records(self, records: Records) -> None:
        store = records.store
        for n, openid in enumerate(["o_mom", "o_dad", "o_f1"]):
            await store.add_participant(replace(member(openid, minutes=n), joined_via="keyword" if n else "qr"))
        await store.add_participant(member("o_elsewhere", campaign_id="c2"))
        dad = await store.participant("c1", "o_dad")
        assert dad is not None
        dad.poster_sent_at = T0
        await store.save_participant(dad)
        await store.add_invitation(invitation("o_f1"))
        await store.add_invitation(invitation("o_f2"))
        await store.revoke_invitation("c1", "o_f2", T0)
        await store.record_rejection("c1", "o_mom", "o_mom", "self_invite", T0)
        await store.record_rejection("c1", "o_mom", "o_x", "self_invite", T0)
        await store.record_rejection("c1", "o_dad", "o_y", "daily_cap", T0)
        await store.record_rejection("c2", "o_dad", "o_y", "daily_cap", T0)
        await store.grant_reward("c1", "o_mom", 3, "A", T0)
        await store.grant_reward("c1", "o_dad", 3, "A", T0)
        await store.grant_reward("c1", "o_mom", 0, "S", T0)
        await records.screenshots.add(submission("mom", status="approved"))
        await records.screenshots.add(submission("dad"))

        stats = await records.results.of("c1")
        assert (stats.participants, stats.posters_sent, stats.joined_via) == (3, 1, {"qr": 1, "keyword": 2})
        assert (stats.invites_credited, stats.invites_revoked) == (1, 1)
        assert stats.rejections == {"self_invite": 2, "daily_cap": 1}
        assert (stats.rewards_granted, stats.share_rewards_granted, stats.rewards_awaiting_stock) == ({3: 2}, 1, 0)
        assert stats.screenshots == {"approved": 1, "review": 1}
        empty = await records.results.of("c9")
        assert (empty.participants, empty.joined_via, empty.leaderboard) == (0, {}, [])

    async def test_the_leaderboard_ranks_standing_credit_and_ties_go_to_the_first_to_join(
        self, records: Records
    ) -> None:
        for n, (openid, credited) in enumerate([("o_a", 2), ("o_b", 5), ("o_c", 2), ("o_d", 0)]):
            joined = await records.store.add_participant(member(openid, minutes=n))
            joined.credited, joined.revoked, joined.tiers_granted = credited, 1, [3] if credited > 2 else []
            await records.store.save_participant(joined)
        board = await records.results.leaderboard("c1")
        assert [(row.rank, row.openid, row.credited) for row in board] == [(1, "o_b", 5), (2, "o_a", 2), (3, "o_c", 2)]
        assert (board[0].revoked, board[0].tiers_granted, board[0].joined_at) == (1, [3], T0 + timedelta(minutes=1))
        assert [row.openid for row in await records.results.leaderboard("c1", limit=1)] == ["o_b"]
        assert [row.openid for row in (await records.results.of("c1", top=2)).leaderboard] == ["o_b", "o_a"]

    async def test_participants_and_rewards_are_listed_in_order(self, records: Records) -> None:
        for openid, minutes in [("o_late", 9), ("o_early", 1), ("o_middle", 5)]:
            await records.store.add_participant(member(openid, minutes=minutes))
            await records.store.grant_reward("c1", openid, 3, "A", T0 + timedelta(minutes=minutes))
        rows = [row async for row in records.results.participants("c1")]
        assert [(row["_id"], row["openid"], row["code"]) for row in rows] == [
            ("c1:o_early", "o_early", "code-o_early"),
            ("c1:o_middle", "o_middle", "code-o_middle"),
            ("c1:o_late", "o_late", "code-o_late"),
        ]
        assert [row async for row in records.results.participants("c2")] == []
        paged = await records.results.rewards("c1", limit=2, offset=1)
        assert [(r["inviter"], r["granted_at"]) for r in paged] == [
            ("o_middle", T0 + timedelta(minutes=5)),
            ("o_late", T0 + timedelta(minutes=9)),
        ]

    async def test_the_funnel_counts_come_from_the_credits_refusals_and_tier_rewards(self, records: Records) -> None:
        store = records.store
        for openid in ("o_mom", "o_dad", "o_kid"):
            joined = await store.add_participant(member(openid))
            joined.poster_sent_at = T0
            await store.save_participant(joined)
        for invitee in ("o_f1", "o_f2", "o_f3"):
            await store.add_invitation(invitation(invitee))
        await store.revoke_invitation("c1", "o_f3", T0)
        await store.record_rejection("c1", "o_mom", "o_old", "existing_follower_scan", T0)
        await store.record_rejection("c1", "o_mom", "o_back", "not_a_new_follower", T0)
        await store.record_rejection("c1", "o_dad", "o_cap", "daily_cap_reached", T0)
        for inviter, tier in (("o_mom", 3), ("o_mom", 10), ("o_dad", 3)):
            await store.grant_reward("c1", inviter, tier, "A", T0)
        await store.grant_reward("c1", "o_kid", 0, "S", T0)  # a share reward: not in the funnel
        await records.notices.record_code(reward_id("c1", "o_mom", 3), "CODE1", T0)
        await records.notices.record_code(reward_id("c1", "o_dad", 3), None, T0)

        stats = await records.results.of("c1")
        assert [(step.step, step.count) for step in stats.funnel] == [
            ("poster_sent", 3),
            ("scanned", 6),
            ("followed", 4),
            ("credited", 3),
            ("reached_tier", 2),
            ("rewarded", 1),
        ]
        assert stats.tier_rewards == {3: {"issued": 1, "awaiting_stock": 1}, 10: {"granted": 1}}
        empty = await records.results.of("c9")
        assert [step.count for step in empty.funnel] == [0] * 6 and empty.tier_rewards == {}

    async def test_participants_come_a_page_at_a_time_with_a_total_and_an_openid_prefix(self, records: Records) -> None:
        for n, openid in enumerate(["o_b1", "o_a1", "o_b2", "o_c.1"]):
            await records.store.add_participant(member(openid, minutes=n))
        await records.store.add_participant(member("o_b3", campaign_id="c2"))
        rows, total = await records.results.participant_page("c1", openid_prefix=None, limit=2, offset=1)
        assert ([r.openid for r in rows], total) == (["o_a1", "o_b2"], 4)
        rows, total = await records.results.participant_page("c1", openid_prefix="o_b", limit=10, offset=0)
        assert ([r.openid for r in rows], total) == (["o_b1", "o_b2"], 2)
        assert rows[0].joined_at == T0 and rows[0].poster_sent_at is None
        # The prefix is text, not a pattern.
        assert (await records.results.participant_page("c1", openid_prefix="o_c.", limit=10, offset=0))[1] == 1
        assert (await records.results.participant_page("c1", openid_prefix="o_.", limit=10, offset=0))[1] == 0

    async def test_a_members_campaigns_list_their_invitees_rewards_and_submissions(self, records: Records) -> None:
        store = records.store
        first = await store.add_participant(member("o_mom", minutes=0))
        first.credited, first.revoked, first.tiers_granted = 1, 1, [3]
        await store.save_participant(first)
        await store.add_participant(member("o_mom", campaign_id="c2", minutes=5))
        await store.add_participant(replace(member("o_mom", campaign_id="c3"), appid="wx_other"))
        await store.add_invitation(invitation("o_f1", minutes=1))
        await store.add_invitation(invitation("o_f2", minutes=2))
        await store.revoke_invitation("c1", "o_f2", T0 + timedelta(minutes=4))
        await store.record_rejection("c1", "o_mom", "o_old", "existing_follower_scan", T0 + timedelta(minutes=3))
        await store.add_invitation(invitation("o_other", inviter="o_dad"))
        await store.grant_reward("c1", "o_mom", 3, "A", T0)
        await records.notices.record_code(reward_id("c1", "o_mom", 3), "COUPON-1234", T0)
        await records.screenshots.add(replace(submission("mom"), openid="o_mom"))

        found = await records.results.member_campaigns(APPID, "o_mom", limit=10)
        assert [c.campaign_id for c in found] == ["c2", "c1"]
        c1 = found[1]
        assert (c1.credited, c1.revoked, c1.tiers_granted, c1.share_submissions) == (1, 1, [3], 1)
        assert [(i.openid, i.status, i.rule, i.at) for i in c1.invitees] == [
            ("o_f1", "credited", None, T0 + timedelta(minutes=1)),
            ("o_old", "refused", "existing_follower_scan", T0 + timedelta(minutes=3)),
            ("o_f2", "revoked", None, T0 + timedelta(minutes=4)),
        ]
        assert c1.invitees_more is False
        assert [(r.tier, r.pool, r.status, r.code) for r in c1.rewards] == [(3, "A", "issued", "COUPON-1234")]
        assert (found[0].invitees, found[0].rewards, found[0].share_submissions) == ([], [], 0)
        assert [c.campaign_id for c in await records.results.member_campaigns(APPID, "o_mom", limit=1)] == ["c2"]
        assert await records.results.member_campaigns(APPID, "o_nobody", limit=10) == []

    async def test_a_members_invitees_are_capped(self, records: Records) -> None:
        await records.store.add_participant(member("o_mom"))
        for n in range(MAX_INVITEES_LISTED + 1):
            await records.store.record_rejection("c1", "o_mom", f"o_{n:03}", "daily_cap_reached", T0)
        (found,) = await records.results.member_campaigns(APPID, "o_mom", limit=10)
        assert (len(found.invitees), found.invitees_more) == (MAX_INVITEES_LISTED, True)


class TestInMemoryReferralRecords(ReferralRecordsContract):
    @pytest.fixture
    async def records(self, in_memory_records: Records) -> Records:
        return in_memory_records


@pytest.mark.integration
class TestMongoReferralRecords(ReferralRecordsContract):
    @pytest.fixture
    async def records(self, mongo_records: Records) -> Records:
        return mongo_records
