"""MongoDB storage of a campaign's participants, invitations, rewards granted and pending notices.

Every write that must happen once has a unique key, so a redelivered event finds its effect done:
one participant per (campaign, member), one invitation per (campaign, invitee), one reward per
(campaign, inviter, tier), one notice per deterministic id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.counters import campaign_counters
from services.campaigns.adapters.graph import EDGES, FREEZES
from services.campaigns.adapters.share_payouts import MongoSharePayouts
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.variants import variant_scope
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.counters import (
    GRANTED,
    Counts,
    campaign_scope,
    confirmation_change,
    invitation_change,
    participant_change,
    rejection,
    reward_change,
)
from services.campaigns.domain.participants import Invitation, Notice, Participant, announcement, reward_id
from services.campaigns.domain.referrals import seed_saw_this_follow
from services.campaigns.domain.variants import confirmed_change
from services.campaigns.service_layer.ports import ReferralStore, ReferralUnitOfWork
from shared.storage import IndexSpec, MongoCounters, MongoUnitOfWork

T = TypeVar("T")

PARTICIPANTS = "campaign_participants"
INVITATIONS = "campaign_invitations"
REJECTIONS = "campaign_rejections"
FOLLOWERS = "campaign_known_followers"
REWARDS = "campaign_rewards"
NOTICES = "campaign_notices"

INDEXES = (
    IndexSpec(PARTICIPANTS, (("campaign_id", 1), ("code", 1)), name="campaign_code", unique=True),
    IndexSpec(PARTICIPANTS, (("campaign_id", 1), ("credited", -1), ("joined_at", 1)), name="leaderboard"),
    # Whose QR code a share screenshot shows (the review queue's evidence).
    IndexSpec(PARTICIPANTS, (("appid", 1), ("qr_url", 1)), name="account_qr_url"),
    IndexSpec(INVITATIONS, (("campaign_id", 1), ("inviter", 1), ("credited_at", 1)), name="inviter_day"),
    IndexSpec(INVITATIONS, (("campaign_id", 1), ("status", 1)), name="campaign_status"),
    IndexSpec(INVITATIONS, (("invitee", 1), ("status", 1)), name="invitee_status"),
    # Pending credits whose window has passed (only pending ones carry ``confirms_at``).
    IndexSpec(INVITATIONS, (("status", 1), ("confirms_at", 1)), name="due_confirmation"),
    IndexSpec(REJECTIONS, (("campaign_id", 1), ("reason", 1)), name="campaign_reason"),
    IndexSpec(NOTICES, (("status", 1), ("created_at", 1)), name="pending"),
    IndexSpec(NOTICES, (("event_id", 1),), name="event"),
    IndexSpec(NOTICES, (("appid", 1), ("openid", 1), ("status", 1)), name="member_status"),
    IndexSpec(REWARDS, (("campaign_id", 1), ("tier", 1)), name="campaign_tier"),
    # A member's campaigns (the console's member page): their participations, refusals and rewards.
    IndexSpec(PARTICIPANTS, (("appid", 1), ("openid", 1), ("joined_at", -1)), name="member"),
    IndexSpec(PARTICIPANTS, (("campaign_id", 1), ("joined_at", 1)), name="campaign_joined"),
    IndexSpec(REJECTIONS, (("campaign_id", 1), ("inviter", 1), ("at", 1)), name="campaign_inviter"),
    IndexSpec(REWARDS, (("campaign_id", 1), ("inviter", 1)), name="campaign_inviter"),
)


class MongoReferralStore(ReferralStore):
    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None) -> None:
        self._db = database
        self._session = session
        self._counters = campaign_counters(database)

    async def _counted(self, write: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run a counted write in the unit of work's transaction, or in one of its own."""
        if self._session is not None:
            return await write(self._session)
        return await self._counters.transaction(write)

    async def _count(self, campaign_id: str, member: str, counts: Counts, session: AsyncClientSession) -> None:
        await self._counters.add(campaign_scope(campaign_id), member, counts, session=session)

    async def _count_variant(self, campaign_id: str, member: str, counts: Counts, session: AsyncClientSession) -> None:
        """The poster variants' counters (``variants:<campaign>``), in the same transaction."""
        if counts:
            await self._counters.add(variant_scope(campaign_id), member, counts, session=session)

    async def participant(self, campaign_id: str, openid: str) -> Participant | None:
        doc = await self._db[PARTICIPANTS].find_one({"_id": f"{campaign_id}:{openid}"}, session=self._session)
        return _participant(doc)

    async def participant_by_code(self, campaign_id: str, code: str) -> Participant | None:
        doc = await self._db[PARTICIPANTS].find_one({"campaign_id": campaign_id, "code": code}, session=self._session)
        return _participant(doc)

    async def participant_by_qr_url(self, appid: str, qr_url: str) -> Participant | None:
        doc = await self._db[PARTICIPANTS].find_one({"appid": appid, "qr_url": qr_url}, session=self._session)
        return _participant(doc)

    async def add_participant(self, participant: Participant) -> Participant:
        doc = {"_id": f"{participant.campaign_id}:{participant.openid}", **_fields(participant)}

        async def write(session: AsyncClientSession) -> dict[str, Any]:
            before = await self._db[PARTICIPANTS].find_one_and_update(
                {"_id": doc["_id"]},
                {"$setOnInsert": doc},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            if before is not None:  # a redelivered join: the first one stays, and was counted
                return dict(before)
            counts = participant_change(None, _joined(doc))
            await self._count(participant.campaign_id, participant.openid, counts, session)
            return doc

        found = _participant(await self._counted(write))
        assert found is not None
        return found

    async def save_participant(self, participant: Participant) -> None:
        async def write(session: AsyncClientSession) -> None:
            before = await self._db[PARTICIPANTS].find_one_and_update(
                {"_id": f"{participant.campaign_id}:{participant.openid}"},
                {"$set": _fields(participant)},
                projection={"joined_via": 1, "poster_sent_at": 1},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            if before is not None:  # a renewed QR code unsends the poster; sending it counts it again
                counts = participant_change(_joined(before), _joined(_fields(participant)))
                await self._count(participant.campaign_id, participant.openid, counts, session)

        await self._counted(write)

    # Inside a transaction a duplicate-key error aborts the whole transaction, so "insert if absent"
    # is an upsert with $setOnInsert that reports whether it inserted.
    async def _insert_if_absent(self, collection: str, document: dict[str, Any]) -> bool:
        result = await self._db[collection].update_one(
            {"_id": document["_id"]}, {"$setOnInsert": document}, upsert=True, session=self._session
        )
        return result.upserted_id is not None

    async def remember_follower(self, appid: str, openid: str, followed_at: datetime) -> bool:
        key = f"{appid}:{openid}"
        before = await self._db[FOLLOWERS].find_one_and_update(
            {"_id": key},
            {"$setOnInsert": {"first_followed_at": followed_at}},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
            session=self._session,
        )
        if before is None:
            return True
        seen = before.get("seen_following_at")
        if seen is None or not seed_saw_this_follow(_aware(seen), followed_at):
            return False
        # The follow a seed recorded, read late: judged as the worker's own first sighting, once.
        await self._db[FOLLOWERS].update_one(
            {"_id": key, "seen_following_at": seen},
            {"$set": {"first_followed_at": followed_at}, "$unset": {"seen_following_at": ""}},
            session=self._session,
        )
        return True

    async def invitation(self, campaign_id: str, invitee: str) -> Invitation | None:
        doc = await self._db[INVITATIONS].find_one({"_id": f"{campaign_id}:{invitee}"}, session=self._session)
        if doc is None:
            return None
        return _invitation(doc)

    async def credited_invitations_of(self, invitee: str) -> list[Invitation]:
        cursor = self._db[INVITATIONS].find({"invitee": invitee, "status": "credited"}, session=self._session)
        return [_invitation(doc) async for doc in cursor]

    async def add_invitation(self, invitation: Invitation) -> bool:
        document = {"_id": f"{invitation.campaign_id}:{invitation.invitee}", **invitation.__dict__}

        async def write(session: AsyncClientSession) -> bool:
            result = await self._db[INVITATIONS].update_one(
                {"_id": document["_id"]}, {"$setOnInsert": document}, upsert=True, session=session
            )
            if result.upserted_id is None:
                return False
            counts = invitation_change(None, invitation.status)
            confirmed = invitation.status == "credited" and invitation.confirms_at is None
            if confirmed:
                counts |= confirmation_change(False, True)
            await self._count(invitation.campaign_id, invitation.invitee, counts, session)
            variant_counts = confirmed_change(invitation.variant, False, confirmed)
            await self._count_variant(invitation.campaign_id, invitation.invitee, variant_counts, session)
            return True

        return await self._counted(write)

    async def revoke_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool:
        async def write(session: AsyncClientSession) -> bool:
            before = await self._db[INVITATIONS].find_one_and_update(
                {"_id": f"{campaign_id}:{invitee}", "status": "credited"},
                {"$set": {"status": "revoked", "revoked_at": at}},
                projection={"confirms_at": 1, "variant": 1},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            if before is None:
                return False
            was_confirmed = before.get("confirms_at") is None
            counts = invitation_change("credited", "revoked") | confirmation_change(was_confirmed, False)
            await self._count(campaign_id, invitee, counts, session)
            await self._count_variant(
                campaign_id, invitee, confirmed_change(before.get("variant"), was_confirmed, False), session
            )
            return True

        return await self._counted(write)

    async def due_confirmations(self, now: datetime, limit: int) -> list[Invitation]:
        cursor = (
            self._db[INVITATIONS]
            .find({"status": "credited", "confirms_at": {"$lte": now}}, session=self._session)
            .sort([("confirms_at", 1)])
            .limit(limit)
        )
        return [_invitation(doc) async for doc in cursor]

    async def confirm_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool:
        key = f"{campaign_id}:{invitee}"

        async def write(session: AsyncClientSession) -> bool:
            before = await self._db[INVITATIONS].find_one_and_update(
                {"_id": key, "status": "credited", "confirms_at": {"$ne": None}},
                {"$set": {"confirmed_at": at}, "$unset": {"confirms_at": ""}},
                projection={"variant": 1},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            if before is None:
                return False
            await self._count(campaign_id, invitee, confirmation_change(False, True), session)
            variant = before.get("variant")
            if variant is None:  # credited before invitations kept their variant: the graph's edge knows it
                edge = await self._db[EDGES].find_one({"_id": key}, {"variant": 1}, session=session)
                variant = None if edge is None else edge.get("variant")
                if variant is not None:  # kept, so a later revocation takes back what this counts
                    kept = {"$set": {"variant": variant}}
                    await self._db[INVITATIONS].update_one({"_id": key}, kept, session=session)
            await self._count_variant(campaign_id, invitee, confirmed_change(variant, False, True), session)
            return True

        return await self._counted(write)

    async def credits_since(self, campaign_id: str, inviter: str, since: datetime) -> int:
        return await self._db[INVITATIONS].count_documents(
            {"campaign_id": campaign_id, "inviter": inviter, "credited_at": {"$gte": since}}, session=self._session
        )

    async def record_rejection(self, campaign_id: str, inviter: str, invitee: str, reason: str, at: datetime) -> None:
        async def write(session: AsyncClientSession) -> None:
            await self._db[REJECTIONS].insert_one(
                {"campaign_id": campaign_id, "inviter": inviter, "invitee": invitee, "reason": reason, "at": at},
                session=session,
            )
            await self._count(campaign_id, invitee, rejection(reason), session)

        await self._counted(write)

    async def grant_reward(self, campaign_id: str, inviter: str, tier: int, pool: str, at: datetime) -> bool:
        key = reward_id(campaign_id, inviter, tier)

        async def write(session: AsyncClientSession) -> bool:
            # Whether this is the member's first tier grant, asked before it is written (an indexed look).
            first_tier = tier > 0 and not await self._db[REWARDS].find_one(
                {"campaign_id": campaign_id, "inviter": inviter, "tier": {"$gt": 0}}, {"_id": 1}, session=session
            )
            document = {
                "_id": key,
                "campaign_id": campaign_id,
                "inviter": inviter,
                "tier": tier,
                "pool": pool,
                "granted_at": at,
            }
            result = await self._db[REWARDS].update_one(
                {"_id": key}, {"$setOnInsert": document}, upsert=True, session=session
            )
            if result.upserted_id is None:
                return False
            counts = reward_change(tier, None, GRANTED) | ({"members_reached_tier": 1} if first_tier else {})
            await self._count(campaign_id, inviter, counts, session)
            return True

        return await self._counted(write)

    async def add_notice(self, notice: Notice) -> None:
        fields = dict(notice.__dict__)
        await self._db[NOTICES].update_one(
            {"_id": fields.pop("id")}, {"$setOnInsert": fields}, upsert=True, session=self._session
        )

    async def inviter_frozen(self, appid: str, openid: str) -> bool:
        found = await self._db[FREEZES].find_one(
            {"_id": f"{appid}:{openid}", "status": "frozen"}, {"_id": 1}, session=self._session
        )
        return found is not None


def _fields(participant: Participant) -> dict[str, Any]:
    return dict(participant.__dict__)


def _joined(doc: dict[str, Any]) -> tuple[str, bool]:
    """What the counters see of a participant: how they joined, whether they have their poster."""
    return doc["joined_via"], doc.get("poster_sent_at") is not None


def _participant(doc: dict[str, Any] | None) -> Participant | None:
    if doc is None:
        return None
    doc = dict(doc)
    doc.pop("_id", None)
    # Participants from before credits waited for their window: every standing credit counted at once.
    doc.setdefault("confirmed", doc.get("credited", 0))
    return Participant(**doc)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _invitation(doc: dict[str, Any]) -> Invitation:
    return Invitation(**{name: doc[name] for name in Invitation.__dataclass_fields__ if name in doc})


class MongoReferralUnitOfWork(MongoUnitOfWork, ReferralUnitOfWork):  # type: ignore[misc]
    def _bind(self, session: AsyncClientSession) -> None:
        self.store = MongoReferralStore(self.database, session)
        self.screenshots = MongoShareScreenshots(self.database, session)
        self.payouts = MongoSharePayouts(self.database, session)


class MongoAnnouncements:
    """Queues a notice for every participant of a campaign (``Announcements``), in bulk batches."""

    def __init__(self, database: AsyncDatabase[Any], batch: int = 1000) -> None:
        self._participants = database[PARTICIPANTS]
        self._notices = database[NOTICES]
        self._batch = batch

    async def to_participants(
        self, campaign: Campaign, kind: str, text_for: Callable[[Participant], str], at: datetime
    ) -> int:
        count = 0
        writes: list[UpdateOne] = []
        async for doc in self._participants.find({"campaign_id": campaign.id}):
            participant = _participant(doc)
            assert participant is not None
            notice = announcement(campaign, participant, kind, text_for(participant), at)
            fields = dict(notice.__dict__)
            writes.append(UpdateOne({"_id": fields.pop("id")}, {"$setOnInsert": fields}, upsert=True))
            count += 1
            if len(writes) >= self._batch:
                await self._notices.bulk_write(writes, ordered=False)
                writes = []
        if writes:
            await self._notices.bulk_write(writes, ordered=False)
        return count


class MongoKnownFollowers:
    """Seeds ``campaign_known_followers`` with followers the account already had (``KnownFollowers``)."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._followers = database[FOLLOWERS]

    async def seed(self, appid: str, followers: Sequence[tuple[str, datetime]]) -> int:
        if not followers:
            return 0
        writes = [
            UpdateOne(
                {"_id": f"{appid}:{openid}"},
                {"$setOnInsert": {"first_followed_at": at, "seen_following_at": at}},
                upsert=True,
            )
            for openid, at in followers
        ]
        result = await self._followers.bulk_write(writes, ordered=False)
        return result.upserted_count


class MongoNoticeStore:
    """Notices and reward codes outside the crediting transaction: delivery happens after the effect
    committed. Recording a code changes the grant's counted status, so it is a transaction of its own."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._database = database
        self._notices = database[NOTICES]
        self._rewards = database[REWARDS]
        self._counters: MongoCounters = campaign_counters(database)

    async def queued_by(self, event_id: str) -> list[Notice]:
        return [_notice(doc) async for doc in self._notices.find({"event_id": event_id, "status": "pending"})]

    async def held_for(self, appid: str, openid: str) -> list[Notice]:
        query = {"appid": appid, "openid": openid, "status": "held"}
        return [_notice(doc) async for doc in self._notices.find(query)]

    async def to_participants(
        self, campaign: Campaign, kind: str, text_for: Callable[[Participant], str], at: datetime
    ) -> int:
        """``Announcements``: the API queues them through its notice store."""
        return await MongoAnnouncements(self._database).to_participants(campaign, kind, text_for, at)

    async def pending_of_kind(self, kind: str, limit: int) -> list[Notice]:
        cursor = self._notices.find({"status": "pending", "kind": kind}).sort([("created_at", 1)]).limit(limit)
        return [_notice(doc) async for doc in cursor]

    async def mark(self, notice: Notice, status: str, at: datetime, *, text: str | None = None) -> None:
        update: dict[str, Any] = {"status": status, f"{status}_at": at}
        if text is not None:
            update["delivered_text"] = text
        await self._notices.update_one({"_id": notice.id}, {"$set": update})

    async def record_code(self, reward_id: str, code: str | None, at: datetime) -> None:
        status = "issued" if code is not None else "awaiting_stock"

        async def write(session: AsyncClientSession) -> None:
            before = await self._rewards.find_one_and_update(
                {"_id": reward_id},
                {"$set": {"code": code, "status": status, "issued_at": at}},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            if before is None:
                return
            was = before.get("status") or GRANTED
            campaign_id, inviter, tier = before["campaign_id"], before["inviter"], int(before["tier"])
            counts = reward_change(tier, was, status)
            if tier > 0 and (was == "issued") != (status == "issued"):
                # A member is rewarded while at least one of their tier grants is issued.
                others = await self._rewards.find_one(
                    {
                        "campaign_id": campaign_id,
                        "inviter": inviter,
                        "tier": {"$gt": 0},
                        "status": "issued",
                        "_id": {"$ne": reward_id},
                    },
                    {"_id": 1},
                    session=session,
                )
                if others is None:
                    counts["members_rewarded"] = 1 if status == "issued" else -1
            await self._counters.add(campaign_scope(campaign_id), inviter, counts, session=session)

        await self._counters.transaction(write)


def _notice(doc: dict[str, Any]) -> Notice:
    fields = {name: doc[name] for name in Notice.__dataclass_fields__ if name in doc and name != "id"}
    return Notice(id=doc["_id"], **fields)
