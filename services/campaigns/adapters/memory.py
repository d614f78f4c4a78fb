"""The campaign stores in memory, for tests and for measuring the service's own work: the same ports
as the MongoDB adapters, with the same guarantees (checked by the contract suites in
``tests/integration/campaigns/``).

- campaigns keep their MongoDB documents (:func:`~services.campaigns.adapters.campaigns.to_document`),
  so a read returns a fresh object and ``save`` refuses a stale version;
- reward pools hold a code once per pool, give a grant key one code per pool, never more codes than
  there are;
- participants, invitations, rewards, notices and share-screenshot submissions live in
  :class:`CampaignRecords`, one mapping per MongoDB collection, keyed by the same unique keys; the
  unit of work stages its writes over them and applies them with its claims on commit, as the MongoDB
  transaction does;
- the campaign counters (``campaign_counters``) are one of those collections, by shard document, and
  change with the writes they count, as in MongoDB.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import uuid
from collections import ChainMap
from collections.abc import AsyncIterator, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from services.campaigns.adapters.campaigns import from_document, to_document
from services.campaigns.adapters.share_screenshots import latch_id
from services.campaigns.adapters.variants import variant_scope
from services.campaigns.domain.campaign import Campaign, CampaignStatus, VersionConflict
from services.campaigns.domain.counters import (
    GRANTED,
    Counts,
    account_scope,
    campaign_scope,
    confirmation_change,
    invitation_change,
    participant_change,
    recount,
    rejection,
    reward_change,
    screenshot_counts,
    stats_figures,
    submission_change,
)
from services.campaigns.domain.flag_reviews import FlagReview
from services.campaigns.domain.graph import Edge
from services.campaigns.domain.participants import Invitation, Notice, Participant, announcement, reward_id
from services.campaigns.domain.payouts import PayoutState, SharePayout
from services.campaigns.domain.referrals import seed_saw_this_follow
from services.campaigns.domain.results import (
    MAX_INVITEES_LISTED,
    CampaignStats,
    InviteeRow,
    LeaderboardRow,
    MemberCampaign,
    MemberReward,
    ParticipantRow,
    merge_invitees,
)
from services.campaigns.domain.rewards import PoolStock, generate_codes
from services.campaigns.domain.submissions import STATUS, AuditEntry, Claim, SubmissionRecord
from services.campaigns.domain.variants import VariantPlan, confirmed_change
from services.campaigns.service_layer.ports import (
    AddedCodes,
    CampaignRepository,
    CampaignResults,
    Freeze,
    ImageInfo,
    PosterVariants,
    ReferralGraph,
    ReferralStore,
    ReferralUnitOfWork,
    ReviewedSubmissions,
    RewardPools,
    SharePayoutStore,
    ShareScreenshotStore,
    TemplateImage,
    TemplateStore,
)
from services.screenshots import CANDIDATES, HOT_KEY, Decision, PriorShot, lookup_keys, nearest_first
from shared.storage import InMemoryUnitOfWork, StorageConflict, StorageError, counter_shard

__all__ = [
    "CampaignRecords",
    "InMemoryCampaignResults",
    "InMemoryCampaigns",
    "InMemoryCounterRebuild",
    "InMemoryHeldNotices",
    "InMemoryNotices",
    "InMemoryPosterVariants",
    "InMemoryReferralGraph",
    "InMemoryReferralUnitOfWork",
    "InMemoryReferrals",
    "InMemoryReviewedSubmissions",
    "InMemoryRewardPools",
    "InMemorySharePayouts",
    "InMemoryShareScreenshots",
    "InMemoryTemplates",
]

_GENERATE_ROUNDS = 5


# -- campaign definitions ------------------------------------------------------------------------------


class InMemoryCampaigns(CampaignRepository):
    """Campaign documents by id; ``save`` succeeds only on the version it read (optimistic concurrency)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    async def add(self, campaign: Campaign) -> None:
        if campaign.id in self.documents:
            raise VersionConflict(f"campaign {campaign.id!r} already exists")
        self.documents[campaign.id] = to_document(campaign) | {"version": 1}
        campaign.version = 1

    async def delete_draft(self, appid: str, campaign_id: str, version: int) -> bool:
        found = self.documents.get(campaign_id)
        if found is None or found["appid"] != appid or found["status"] != "draft" or found["version"] != version:
            return False
        del self.documents[campaign_id]
        return True

    async def get(self, appid: str, campaign_id: str) -> Campaign | None:
        found = self.documents.get(campaign_id)
        return None if found is None or found["appid"] != appid else from_document(copy.deepcopy(found))

    async def save(self, campaign: Campaign) -> None:
        stored = self.documents.get(campaign.id)
        if stored is None or stored["appid"] != campaign.appid or stored["version"] != campaign.version:
            raise VersionConflict(
                f"campaign {campaign.id!r} changed since version {campaign.version} was read; reload and retry"
            )
        self.documents[campaign.id] = to_document(campaign) | {"version": campaign.version + 1}
        campaign.version += 1

    async def list(
        self,
        appid: str,
        *,
        status: CampaignStatus | None = None,
        limit: int = 50,
        offset: int = 0,
        archived: bool | None = None,
    ) -> list[Campaign]:
        found = sorted(
            (
                d
                for d in self.documents.values()
                if d["appid"] == appid
                and (status is None or d["status"] == status.value)
                and (archived is None or (d.get("archived_at") is not None) == archived)
            ),
            key=lambda d: d["_id"],
        )
        found.sort(key=lambda d: d["created_at"], reverse=True)  # stable: ties stay in id order
        return [from_document(copy.deepcopy(d)) for d in found[offset : offset + limit]]


class InMemoryTemplates(TemplateStore):
    """Poster background images, one per upload, by id."""

    def __init__(self) -> None:
        self.images: dict[str, tuple[TemplateImage, bytes]] = {}

    async def put(self, appid: str, campaign_id: str, data: bytes, info: ImageInfo) -> TemplateImage:
        image = TemplateImage(
            id=uuid.uuid4().hex,
            appid=appid,
            campaign_id=campaign_id,
            info=info,
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_at=datetime.now(UTC).replace(microsecond=0),
        )
        self.images[image.id] = (image, bytes(data))
        return image

    async def get(self, campaign_id: str, image_id: str) -> TemplateImage | None:
        found = self.images.get(image_id)
        return found[0] if found is not None and found[0].campaign_id == campaign_id else None

    async def read(self, image_id: str) -> bytes | None:
        found = self.images.get(image_id)
        return None if found is None else found[1]

    async def delete(self, image_id: str) -> None:
        self.images.pop(image_id, None)


# -- reward pools --------------------------------------------------------------------------------------


class InMemoryRewardPools(RewardPools):
    """Codes by (campaign, pool), each with the grant key holding it (None while free), in upload order.

    Nothing awaits between looking for a free code and taking it, so concurrent calls cannot take the
    same code: the guarantee MongoDB's single ``find_one_and_update`` gives.
    """

    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], dict[str, str | None]] = {}

    async def add_codes(self, campaign_id: str, pool: str, codes: Iterable[str]) -> AddedCodes:
        given = list(dict.fromkeys(codes))
        added = self._insert(campaign_id, pool, given)
        return AddedCodes(added, len(given) - added)

    async def generate(self, campaign_id: str, pool: str, count: int) -> int:
        added = 0
        for _ in range(_GENERATE_ROUNDS):  # a collision with an existing code is retried with fresh codes
            added += self._insert(campaign_id, pool, generate_codes(count - added))
            if added == count:
                return added
        raise StorageError(f"generated codes kept colliding; {added} of {count} added")

    async def allocate(self, campaign_id: str, pool: str, grant_key: str) -> str | None:
        held = self.codes.get((campaign_id, pool), {})
        for code, owner in held.items():
            if owner == grant_key:
                return code
        for code, owner in held.items():
            if owner is None:
                held[code] = grant_key
                return code
        return None

    async def stock(self, campaign_id: str) -> list[PoolStock]:
        return [
            PoolStock(pool, len(held), sum(1 for owner in held.values() if owner is not None))
            for (campaign, pool), held in sorted(self.codes.items())
            if campaign == campaign_id and held
        ]

    def _insert(self, campaign_id: str, pool: str, codes: list[str]) -> int:
        held = self.codes.setdefault((campaign_id, pool), {})
        new = [code for code in codes if code not in held]
        held.update(dict.fromkeys(new))
        return len(new)


# -- participants, referrals, notices and share screenshots --------------------------------------------


def _collection() -> MutableMapping[Any, Any]:
    return {}


@dataclass
class CampaignRecords:
    """What the referral flow and the share-screenshot task keep: one mapping per MongoDB collection,
    keyed as its documents' ``_id`` (rejections and audit entries, which have no natural key, by
    insertion number). Values are never changed in place, only replaced, so a transaction's view can
    lay its own writes over the committed ones."""

    #: "<campaign>:<openid>" -> participant
    participants: MutableMapping[str, Participant] = field(default_factory=_collection)
    #: "<campaign>:<invitee>" -> invitation
    invitations: MutableMapping[str, Invitation] = field(default_factory=_collection)
    #: "<appid>:<openid>" -> first follow
    followers: MutableMapping[str, datetime] = field(default_factory=_collection)
    #: "<appid>:<openid>" -> when a seed saw them following (until the worker sees that follow)
    seeded_followers: MutableMapping[str, datetime | None] = field(default_factory=_collection)
    rejections: MutableMapping[int, dict[str, Any]] = field(default_factory=_collection)
    #: reward id -> the grant's document (code and status added at delivery)
    rewards: MutableMapping[str, dict[str, Any]] = field(default_factory=_collection)
    #: notice id -> the notice's document (with the delivery's status times and text)
    notices: MutableMapping[str, dict[str, Any]] = field(default_factory=_collection)
    submissions: MutableMapping[str, SubmissionRecord] = field(default_factory=_collection)
    images: MutableMapping[str, tuple[bytes, str]] = field(default_factory=_collection)
    audit: MutableMapping[int, AuditEntry] = field(default_factory=_collection)
    #: latch id -> writes (``share_reuse_latches``): approvals of alike pictures conflict on them
    reuse_latches: MutableMapping[str, int] = field(default_factory=_collection)
    #: "<scope>|<shard>" -> counts (``campaign_counters``)
    counters: MutableMapping[str, dict[str, int]] = field(default_factory=_collection)
    #: "<campaign>:<invitee>" -> edge (``referral_edges``)
    edges: MutableMapping[str, Edge] = field(default_factory=_collection)
    #: "<appid>:<openid>" -> freeze (``referral_freezes``)
    freezes: MutableMapping[str, Freeze] = field(default_factory=_collection)
    #: "<appid>:<kind>:<inviter>" -> flag kept for review (``referral_flags``)
    flag_reviews: MutableMapping[str, FlagReview] = field(default_factory=_collection)
    #: "<campaign>:<openid>" -> delayed share-reward payout (``share_payouts``)
    payouts: MutableMapping[str, SharePayout] = field(default_factory=_collection)
    #: "consumer:event_id" of every committed claim (``processed_events``), shared by the units of work.
    processed: set[str] = field(default_factory=set)
    #: Commits so far, and the commit that last wrote each (collection, key): how a transaction finds
    #: that another one committed a write to the same record after it began (a write conflict).
    serial: int = 0
    written: dict[tuple[str, Any], int] = field(default_factory=dict)

    def over(self, writes: CampaignRecords) -> CampaignRecords:
        """A view reading ``writes`` first, then these records; every write goes to ``writes``."""
        view = CampaignRecords(processed=self.processed, serial=self.serial, written=self.written)
        for name in _collections():
            setattr(view, name, ChainMap(getattr(writes, name), getattr(self, name)))
        return view

    def update(self, writes: CampaignRecords) -> None:
        for name in _collections():
            getattr(self, name).update(getattr(writes, name))


def _collections() -> list[str]:
    return [f.name for f in fields(CampaignRecords) if f.name not in _BOOKKEEPING]


_BOOKKEEPING = frozenset({"processed", "serial", "written"})
#: Keys of records without a natural one (rejections, audit entries): unique across transactions.
_insertions = itertools.count(1)


def _notice(doc: dict[str, Any]) -> Notice:
    return Notice(**{name: doc[name] for name in Notice.__dataclass_fields__})


def _count(records: CampaignRecords, scope: str, member: str, counts: Counts) -> None:
    """Add ``counts`` to the scope's shard document (replaced, never changed in place)."""
    if not counts:
        return
    key = f"{scope}|{counter_shard(member)}"
    current = dict(records.counters.get(key, {}))
    for name, n in counts.items():
        current[name] = current.get(name, 0) + n
    records.counters[key] = current


def _counts(records: CampaignRecords, scope: str) -> Counts:
    total: Counts = {}
    for key, counts in records.counters.items():
        if key.rpartition("|")[0] == scope:
            for name, n in counts.items():
                total[name] = total.get(name, 0) + n
    return {name: n for name, n in total.items() if n}


def _joined(participant: Participant) -> tuple[str, bool]:
    return participant.joined_via, participant.poster_sent_at is not None


class InMemoryReferrals(ReferralStore):
    """The referral store over :class:`CampaignRecords` (a unit of work's view inside a transaction)."""

    def __init__(self, records: CampaignRecords | None = None) -> None:
        self.records = CampaignRecords() if records is None else records

    async def participant(self, campaign_id: str, openid: str) -> Participant | None:
        return copy.deepcopy(self.records.participants.get(f"{campaign_id}:{openid}"))

    async def participant_by_code(self, campaign_id: str, code: str) -> Participant | None:
        found = (p for p in self.records.participants.values() if p.campaign_id == campaign_id and p.code == code)
        return copy.deepcopy(next(found, None))

    async def participant_by_qr_url(self, appid: str, qr_url: str) -> Participant | None:
        found = (p for p in self.records.participants.values() if p.appid == appid and p.qr_url == qr_url)
        return copy.deepcopy(next(found, None))

    async def add_participant(self, participant: Participant) -> Participant:
        key = f"{participant.campaign_id}:{participant.openid}"
        existing = self.records.participants.get(key)
        if existing is None:
            if await self.participant_by_code(participant.campaign_id, participant.code) is not None:
                # MongoDB's unique (campaign_id, code) index refuses it too.
                raise StorageConflict(f"participant code {participant.code!r} is taken in {participant.campaign_id!r}")
            existing = self.records.participants[key] = copy.deepcopy(participant)
            self._count(participant.campaign_id, participant.openid, participant_change(None, _joined(existing)))
        return copy.deepcopy(existing)

    async def save_participant(self, participant: Participant) -> None:
        key = f"{participant.campaign_id}:{participant.openid}"
        before = self.records.participants.get(key)
        if before is not None:  # an update, never an insert
            self.records.participants[key] = copy.deepcopy(participant)
            counts = participant_change(_joined(before), _joined(participant))
            self._count(participant.campaign_id, participant.openid, counts)

    def _count(self, campaign_id: str, member: str, counts: Counts) -> None:
        _count(self.records, campaign_scope(campaign_id), member, counts)

    def _count_variant(self, campaign_id: str, member: str, counts: Counts) -> None:
        _count(self.records, variant_scope(campaign_id), member, counts)

    async def remember_follower(self, appid: str, openid: str, followed_at: datetime) -> bool:
        key = f"{appid}:{openid}"
        seen = self.records.seeded_followers.get(key)
        if key in self.records.followers:
            if seen is None or not seed_saw_this_follow(seen, followed_at):
                return False
            self.records.seeded_followers[key] = None  # the follow the seed recorded, read late: once
            return True
        self.records.followers[key] = followed_at
        return True

    async def invitation(self, campaign_id: str, invitee: str) -> Invitation | None:
        return self.records.invitations.get(f"{campaign_id}:{invitee}")

    async def credited_invitations_of(self, invitee: str) -> list[Invitation]:
        return [i for i in self.records.invitations.values() if i.invitee == invitee and i.status == "credited"]

    async def add_invitation(self, invitation: Invitation) -> bool:
        key = f"{invitation.campaign_id}:{invitation.invitee}"
        if key in self.records.invitations:
            return False
        self.records.invitations[key] = invitation
        counts = invitation_change(None, invitation.status)
        confirmed = invitation.status == "credited" and invitation.confirms_at is None
        if confirmed:
            counts |= confirmation_change(False, True)
        self._count(invitation.campaign_id, invitation.invitee, counts)
        self._count_variant(
            invitation.campaign_id, invitation.invitee, confirmed_change(invitation.variant, False, confirmed)
        )
        return True

    async def revoke_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool:
        key = f"{campaign_id}:{invitee}"
        found = self.records.invitations.get(key)
        if found is None or found.status != "credited":
            return False
        self.records.invitations[key] = replace(found, status="revoked", revoked_at=at)
        counts = invitation_change("credited", "revoked") | confirmation_change(found.confirms_at is None, False)
        self._count(campaign_id, invitee, counts)
        self._count_variant(campaign_id, invitee, confirmed_change(found.variant, found.confirms_at is None, False))
        return True

    async def due_confirmations(self, now: datetime, limit: int) -> list[Invitation]:
        due = [
            i
            for i in self.records.invitations.values()
            if i.status == "credited" and i.confirms_at is not None and i.confirms_at <= now
        ]
        return sorted(due, key=lambda i: i.confirms_at or now)[:limit]

    async def confirm_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool:
        key = f"{campaign_id}:{invitee}"
        found = self.records.invitations.get(key)
        if found is None or found.status != "credited" or found.confirms_at is None:
            return False
        variant = found.variant
        if variant is None:  # credited before invitations kept their variant: the graph's edge knows it
            edge = self.records.edges.get(key)
            variant = None if edge is None else edge.variant
        self.records.invitations[key] = replace(found, confirms_at=None, confirmed_at=at, variant=variant)
        self._count(campaign_id, invitee, confirmation_change(False, True))
        self._count_variant(campaign_id, invitee, confirmed_change(variant, False, True))
        return True

    async def credits_since(self, campaign_id: str, inviter: str, since: datetime) -> int:
        return sum(
            1
            for i in self.records.invitations.values()
            if i.campaign_id == campaign_id and i.inviter == inviter and i.credited_at >= since
        )

    async def record_rejection(self, campaign_id: str, inviter: str, invitee: str, reason: str, at: datetime) -> None:
        refused = {"campaign_id": campaign_id, "inviter": inviter, "invitee": invitee, "reason": reason, "at": at}
        self.records.rejections[next(_insertions)] = refused
        self._count(campaign_id, invitee, rejection(reason))

    async def grant_reward(self, campaign_id: str, inviter: str, tier: int, pool: str, at: datetime) -> bool:
        key = reward_id(campaign_id, inviter, tier)
        if key in self.records.rewards:
            return False
        first_tier = tier > 0 and not any(
            (r["campaign_id"], r["inviter"]) == (campaign_id, inviter) and r["tier"] > 0
            for r in self.records.rewards.values()
        )
        counts = reward_change(tier, None, GRANTED) | ({"members_reached_tier": 1} if first_tier else {})
        self._count(campaign_id, inviter, counts)
        self.records.rewards[key] = {
            "_id": key,
            "campaign_id": campaign_id,
            "inviter": inviter,
            "tier": tier,
            "pool": pool,
            "granted_at": at,
        }
        return True

    async def add_notice(self, notice: Notice) -> None:
        if notice.id not in self.records.notices:
            self.records.notices[notice.id] = dict(notice.__dict__)

    async def inviter_frozen(self, appid: str, openid: str) -> bool:
        found = self.records.freezes.get(f"{appid}:{openid}")
        return found is not None and found.status == "frozen"


def _prior_shot(record: SubmissionRecord) -> PriorShot:
    own = record.evidence.get("qr") == "own"
    return PriorShot(record.id, record.openid, Decision(record.decision), record.fingerprint, own)


class InMemoryKnownFollowers:
    """Seeds the followers of :class:`CampaignRecords` (as ``MongoKnownFollowers`` does)."""

    def __init__(self, records: CampaignRecords) -> None:
        self.records = records

    async def seed(self, appid: str, followers: Sequence[tuple[str, datetime]]) -> int:
        added = 0
        for openid, at in followers:
            key = f"{appid}:{openid}"
            if key not in self.records.followers:
                self.records.followers[key] = at
                self.records.seeded_followers[key] = at
                added += 1
        return added


class InMemoryShareScreenshots(ShareScreenshotStore):
    """Share-screenshot submissions over :class:`CampaignRecords`."""

    def __init__(self, records: CampaignRecords | None = None) -> None:
        self.records = CampaignRecords() if records is None else records

    async def add(self, record: SubmissionRecord) -> bool:
        if record.id in self.records.submissions:
            return False
        self.records.submissions[record.id] = copy.deepcopy(record)
        self._count(record, None)
        return True

    def _count(self, record: SubmissionRecord, before: str | None) -> None:
        for scope in (campaign_scope(record.campaign_id), account_scope(record.appid)):
            _count(self.records, scope, record.openid, submission_change(before, record.status))

    async def keep_image(self, submission: str, content: bytes, content_type: str) -> None:
        if submission not in self.records.images:
            self.records.images[submission] = (bytes(content), content_type)

    async def audit(self, entry: AuditEntry) -> None:
        self.records.audit[next(_insertions)] = copy.deepcopy(entry)

    async def settle_review(
        self,
        submission: str,
        decision: Decision,
        reviewer: str,
        note: str | None,
        at: datetime,
        *,
        reviewer_id: str | None = None,
        reason: str | None = None,
    ) -> SubmissionRecord | None:
        record = self.records.submissions.get(submission)
        if record is None or record.status != "review" or record.claimed_by_other(reviewer_id, at) is not None:
            return None
        settled = replace(
            record,
            status=STATUS[decision],
            decision=decision.value,
            decided_by=reviewer,
            decided_at=at,
            note=note,
            review_reason=reason,
            claim=None,
        )
        self.records.submissions[submission] = settled
        self._count(settled, record.status)
        return copy.deepcopy(settled)

    # Nothing awaits between checking a submission and claiming it: as atomic as MongoDB's
    # find-and-modify, so concurrent reviewers never get the same one.
    async def claim(self, submission: str, claim: Claim, now: datetime) -> SubmissionRecord | None:
        record = self.records.submissions.get(submission)
        if record is None or record.status != "review" or record.claimed_by_other(claim.holder_id, now) is not None:
            return None
        claimed = self.records.submissions[submission] = replace(record, claim=claim)
        return copy.deepcopy(claimed)

    async def claim_next(
        self, appid: str, campaign_id: str | None, claim: Claim, now: datetime
    ) -> SubmissionRecord | None:
        waiting = sorted(
            (
                r
                for r in self.records.submissions.values()
                if r.appid == appid
                and r.status == "review"
                and (campaign_id is None or r.campaign_id == campaign_id)
                and r.claimed_by_other(claim.holder_id, now) is None
            ),
            key=lambda r: (r.received_at, r.id),
        )
        if not waiting:
            return None
        return await self.claim(waiting[0].id, claim, now)

    async def release(self, submission: str, holder_id: str, now: datetime) -> bool:
        record = self.records.submissions.get(submission)
        if record is None or record.claim is None:
            return True
        if record.claimed_by_other(holder_id, now) is not None:
            return False
        self.records.submissions[submission] = replace(record, claim=None)
        return True

    async def get(self, submission: str) -> SubmissionRecord | None:
        return copy.deepcopy(self.records.submissions.get(submission))

    async def approved(self, campaign_id: str, openid: str) -> bool:
        return any(
            r.campaign_id == campaign_id and r.openid == openid and r.status == "approved"
            for r in self.records.submissions.values()
        )

    async def earlier(self, campaign_id: str) -> list[PriorShot]:
        return [
            _prior_shot(r)
            for r in self.records.submissions.values()
            if r.campaign_id == campaign_id and r.fingerprint.context is not None
        ]

    def _key_counts(self, campaign_id: str, keys: Sequence[str]) -> dict[str, int]:
        return {key: self.records.reuse_latches.get(latch_id(campaign_id, key), 0) for key in keys}

    async def candidates(self, campaign_id: str, keys: Sequence[str]) -> list[PriorShot]:
        # The same lookup as MongoDB's index: only what shares a key that is not hot, rarest first.
        counts = self._key_counts(campaign_id, keys)
        asked = {key for key in keys if counts[key] < HOT_KEY}
        found = [
            (r.id, lookup_keys(r.fingerprint))
            for r in self.records.submissions.values()
            if r.campaign_id == campaign_id and asked.intersection(lookup_keys(r.fingerprint))
        ]
        nearest = nearest_first([key for key in keys if key in asked], found, CANDIDATES, counts)
        return [_prior_shot(self.records.submissions[submission_id]) for submission_id in nearest]

    async def latch_reuse(self, campaign_id: str, keys: Sequence[str]) -> None:
        counts = self._key_counts(campaign_id, keys)
        for slot in sorted({latch_id(campaign_id, key) for key in keys if counts[key] < HOT_KEY}):
            self.records.reuse_latches[slot] = self.records.reuse_latches.get(slot, 0) + 1

    async def listing(
        self,
        campaign_id: str,
        *,
        status: str | None,
        reason: str | None,
        received_before: datetime | None,
        limit: int,
        offset: int,
        openid: str | None = None,
    ) -> list[SubmissionRecord]:
        found = [
            r
            for r in sorted(self.records.submissions.values(), key=lambda r: r.received_at)
            if r.campaign_id == campaign_id
            and (status is None or r.status == status)
            and (reason is None or reason in r.reasons)
            and (openid is None or r.openid == openid)
            and (received_before is None or r.received_at < received_before)
        ]
        return copy.deepcopy(found[offset : offset + limit])

    async def account_listing(
        self,
        appid: str,
        *,
        campaign_id: str | None,
        status: str | None,
        reason: str | None,
        openid: str | None,
        limit: int,
        offset: int,
        newest_first: bool,
    ) -> list[SubmissionRecord]:
        found = sorted(
            (
                r
                for r in self.records.submissions.values()
                if r.appid == appid
                and (campaign_id is None or r.campaign_id == campaign_id)
                and (status is None or r.status == status)
                and (reason is None or reason in r.reasons)
                and (openid is None or r.openid == openid)
            ),
            key=lambda r: (r.received_at, r.id),
            reverse=newest_first,
        )
        return copy.deepcopy(found[offset : offset + limit])

    async def account_counts(self, appid: str, campaign_id: str | None) -> dict[str, int]:
        scope = account_scope(appid) if campaign_id is None else campaign_scope(campaign_id)
        return screenshot_counts(_counts(self.records, scope))

    async def of_member(self, campaign_id: str, openid: str) -> list[SubmissionRecord]:
        found = (r for r in self.records.submissions.values() if r.campaign_id == campaign_id and r.openid == openid)
        return copy.deepcopy(sorted(found, key=lambda r: r.received_at))

    async def counts(self, campaign_id: str) -> dict[str, int]:
        return screenshot_counts(_counts(self.records, campaign_scope(campaign_id)))

    async def image(self, submission: str) -> tuple[bytes, str] | None:
        return self.records.images.get(submission)

    async def trail(self, submission: str) -> list[AuditEntry]:
        found = [e for e in self.records.audit.values() if e.submission_id == submission]
        return copy.deepcopy(sorted(found, key=lambda e: e.at))


class InMemorySharePayouts(SharePayoutStore):
    """Payouts over :class:`CampaignRecords` (a transaction's view inside a unit of work)."""

    def __init__(self, records: CampaignRecords | None = None) -> None:
        self.records = CampaignRecords() if records is None else records

    async def open(self, payout: SharePayout) -> bool:
        if payout.id in self.records.payouts:
            return False
        self.records.payouts[payout.id] = payout
        return True

    async def get(self, campaign_id: str, openid: str) -> SharePayout | None:
        return self.records.payouts.get(f"{campaign_id}:{openid}")

    async def move(self, before: SharePayout, after: SharePayout) -> bool:
        current = self.records.payouts.get(before.id)
        if current is None or current.state is not before.state:
            return False
        self.records.payouts[before.id] = after
        return True

    async def due(self, now: datetime, limit: int) -> list[SharePayout]:
        due = [p for p in self.records.payouts.values() if p.due_at is not None and p.due_at <= now]
        return sorted(due, key=lambda p: (p.due_at or now, p.id))[:limit]

    async def awaiting_recheck(self, appid: str, openid: str) -> list[SharePayout]:
        return [
            p
            for p in self.records.payouts.values()
            if (p.appid, p.openid, p.state) == (appid, openid, PayoutState.RECHECK_REQUESTED)
        ]

    async def tally(self, campaign_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for payout in self.records.payouts.values():
            if payout.campaign_id != campaign_id:
                continue
            counts[payout.state.value] = counts.get(payout.state.value, 0) + 1
            if payout.recheck_requested_at is not None:
                counts["recheck_asked"] = counts.get("recheck_asked", 0) + 1
        return counts

    async def listing(self, campaign_id: str, *, state: str | None, limit: int, offset: int) -> list[SharePayout]:
        found = [
            p
            for p in self.records.payouts.values()
            if p.campaign_id == campaign_id and (state is None or p.state.value == state)
        ]
        return sorted(found, key=lambda p: (p.approved_at, p.id))[offset : offset + limit]


class InMemoryReferralUnitOfWork(InMemoryUnitOfWork, ReferralUnitOfWork):  # type: ignore[misc]
    """Referral and screenshot writes and event claims that commit together or not at all. Reusable:
    each ``async with`` is one transaction over the same :attr:`records`; outside one, ``store`` and
    ``screenshots`` read the committed records.

    Units of work over the same records behave like concurrent MongoDB transactions: a commit that
    would overwrite a record, or claim an event, that another transaction committed after this one
    began raises :class:`~shared.storage.StorageConflict` and applies nothing (writes made outside a
    transaction are not tracked).
    """

    def __init__(self, records: CampaignRecords | None = None) -> None:
        super().__init__()
        self.records = CampaignRecords() if records is None else records
        # Units of work over the same records see each other's claims, as over one database.
        self.processed = self.records.processed
        self._writes = CampaignRecords()
        self._began = self.records.serial
        self._end()

    def _begin(self) -> None:
        self._began = self.records.serial
        self._writes = CampaignRecords()
        view = self.records.over(self._writes)
        self.store, self.screenshots = InMemoryReferrals(view), InMemoryShareScreenshots(view)
        self.payouts = InMemorySharePayouts(view)

    def _apply(self) -> None:
        keys = [(name, key) for name in _collections() for key in getattr(self._writes, name)]
        keys += [("processed", claim) for claim in self._claims]
        if any(self.records.written.get(key, 0) > self._began for key in keys):
            raise StorageConflict("transaction conflict: another transaction committed the same records")
        self.records.serial += 1
        self.records.written.update(dict.fromkeys(keys, self.records.serial))
        self._began = self.records.serial
        self.records.update(self._writes)
        self._writes = CampaignRecords()
        # Keep working on the transaction's view, which now reads through to the committed records.
        view = self.records.over(self._writes)
        self.store, self.screenshots = InMemoryReferrals(view), InMemoryShareScreenshots(view)
        self.payouts = InMemorySharePayouts(view)

    def _end(self) -> None:
        self._writes = CampaignRecords()
        self.store, self.screenshots = InMemoryReferrals(self.records), InMemoryShareScreenshots(self.records)
        self.payouts = InMemorySharePayouts(self.records)


class InMemoryNotices:
    """Notices and reward codes outside any transaction (as ``MongoNoticeStore``): implements the
    :class:`~services.campaigns.service_layer.ports.NoticeStore` and ``RewardLedger`` ports."""

    def __init__(self, records: CampaignRecords) -> None:
        self.records = records

    async def queued_by(self, event_id: str) -> list[Notice]:
        notices = self.records.notices.values()
        return [_notice(doc) for doc in notices if doc["event_id"] == event_id and doc["status"] == "pending"]

    async def held_for(self, appid: str, openid: str) -> list[Notice]:
        return [
            _notice(doc)
            for doc in self.records.notices.values()
            if (doc["appid"], doc["openid"], doc["status"]) == (appid, openid, "held")
        ]

    async def pending_of_kind(self, kind: str, limit: int) -> list[Notice]:
        found = [doc for doc in self.records.notices.values() if (doc["status"], doc["kind"]) == ("pending", kind)]
        return [_notice(doc) for doc in sorted(found, key=lambda doc: doc["created_at"])[:limit]]

    async def to_participants(
        self, campaign: Campaign, kind: str, text_for: Callable[[Participant], str], at: datetime
    ) -> int:
        """``Announcements`` over the same records."""
        members = [p for p in self.records.participants.values() if p.campaign_id == campaign.id]
        for member in members:
            notice = announcement(campaign, member, kind, text_for(member), at)
            if notice.id not in self.records.notices:
                self.records.notices[notice.id] = dict(notice.__dict__)
        return len(members)

    async def mark(self, notice: Notice, status: str, at: datetime, *, text: str | None = None) -> None:
        doc = self.records.notices.get(notice.id)
        if doc is None:
            return
        update: dict[str, Any] = {"status": status, f"{status}_at": at}
        if text is not None:
            update["delivered_text"] = text
        self.records.notices[notice.id] = doc | update

    async def record_code(self, reward_id: str, code: str | None, at: datetime) -> None:
        doc = self.records.rewards.get(reward_id)
        if doc is None:
            return
        status = "issued" if code is not None else "awaiting_stock"
        self.records.rewards[reward_id] = doc | {"code": code, "status": status, "issued_at": at}
        was = doc.get("status") or GRANTED
        campaign_id, inviter, tier = doc["campaign_id"], doc["inviter"], doc["tier"]
        counts = reward_change(tier, was, status)
        if tier > 0 and (was == "issued") != (status == "issued"):
            others = any(
                (r["campaign_id"], r["inviter"]) == (campaign_id, inviter)
                and r["tier"] > 0
                and r.get("status") == "issued"
                and r["_id"] != reward_id
                for r in self.records.rewards.values()
            )
            if not others:
                counts["members_rewarded"] = 1 if status == "issued" else -1
        _count(self.records, campaign_scope(campaign_id), inviter, counts)


class InMemoryCampaignResults(CampaignResults):
    """Statistics read from :class:`CampaignRecords`, as ``MongoCampaignStats`` reads the collections."""

    def __init__(self, records: CampaignRecords) -> None:
        self.records = records

    async def of(self, campaign_id: str, *, top: int = 10) -> CampaignStats:
        figures = stats_figures(_counts(self.records, campaign_scope(campaign_id)))
        return CampaignStats(**vars(figures), leaderboard=await self.leaderboard(campaign_id, limit=top))

    async def leaderboard(self, campaign_id: str, *, limit: int = 10) -> list[LeaderboardRow]:
        ranked = sorted(
            (p for p in self.records.participants.values() if p.campaign_id == campaign_id and p.credited > 0),
            key=lambda p: (-p.credited, p.joined_at),
        )
        return [
            LeaderboardRow(rank, p.openid, p.credited, p.revoked, list(p.tiers_granted), p.joined_at)
            for rank, p in enumerate(ranked[:limit], start=1)
        ]

    async def rewards(self, campaign_id: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        found = sorted(
            (r for r in self.records.rewards.values() if r["campaign_id"] == campaign_id),
            key=lambda r: (r["granted_at"], r["_id"]),
        )
        return copy.deepcopy(found[offset : offset + limit])

    async def participants(self, campaign_id: str) -> AsyncIterator[dict[str, Any]]:
        found = sorted(
            ((key, p) for key, p in self.records.participants.items() if p.campaign_id == campaign_id),
            key=lambda item: (item[1].joined_at, item[0]),
        )
        for key, participant in found:
            yield {"_id": key, **copy.deepcopy(participant.__dict__)}

    async def participant_page(
        self, campaign_id: str, *, openid_prefix: str | None, limit: int, offset: int
    ) -> tuple[list[ParticipantRow], int]:
        found = sorted(
            (
                (key, p)
                for key, p in self.records.participants.items()
                if p.campaign_id == campaign_id and (not openid_prefix or p.openid.startswith(openid_prefix))
            ),
            key=lambda item: (item[1].joined_at, item[0]),
        )
        rows = [
            ParticipantRow(
                p.openid, p.joined_at, p.joined_via, p.credited, p.revoked, list(p.tiers_granted), p.poster_sent_at
            )
            for _, p in found[offset : offset + limit]
        ]
        if not openid_prefix:
            return rows, stats_figures(_counts(self.records, campaign_scope(campaign_id))).participants
        return rows, len(found)

    async def member_campaigns(self, appid: str, openid: str, *, limit: int) -> list[MemberCampaign]:
        joined = sorted(
            (p for p in self.records.participants.values() if (p.appid, p.openid) == (appid, openid)),
            key=lambda p: p.joined_at,
            reverse=True,
        )
        found = []
        for p in joined[:limit]:
            mine = [
                i for i in self.records.invitations.values() if (i.campaign_id, i.inviter) == (p.campaign_id, openid)
            ]
            refused = [
                r
                for r in self.records.rejections.values()
                if (r["campaign_id"], r["inviter"]) == (p.campaign_id, openid)
            ]
            credits = sorted(mine, key=lambda i: i.credited_at)[: MAX_INVITEES_LISTED + 1]
            refusals = sorted(refused, key=lambda r: r["at"])[: MAX_INVITEES_LISTED + 1]
            invitees, more = merge_invitees(
                [InviteeRow(i.invitee, i.status, None, i.revoked_at or i.credited_at) for i in credits],
                [InviteeRow(r["invitee"], "refused", r["reason"], r["at"]) for r in refusals],
            )
            rewards = sorted(
                (
                    r
                    for r in self.records.rewards.values()
                    if (r["campaign_id"], r["inviter"]) == (p.campaign_id, openid)
                ),
                key=lambda r: r["tier"],
            )
            found.append(
                MemberCampaign(
                    campaign_id=p.campaign_id,
                    joined_at=p.joined_at,
                    joined_via=p.joined_via,
                    credited=p.credited,
                    revoked=p.revoked,
                    tiers_granted=list(p.tiers_granted),
                    invitees=invitees,
                    invitees_more=more,
                    rewards=[
                        MemberReward(r["tier"], r["pool"], r["granted_at"], r.get("status", "granted"), r.get("code"))
                        for r in rewards
                    ],
                    share_submissions=sum(
                        1
                        for s in self.records.submissions.values()
                        if (s.campaign_id, s.openid) == (p.campaign_id, openid)
                    ),
                )
            )
        return found


class InMemoryCounterRebuild:
    """Recomputes the counters from :class:`CampaignRecords` (as ``MongoCounterRebuild`` does)."""

    def __init__(self, records: CampaignRecords, campaigns: InMemoryCampaigns) -> None:
        self.records = records
        self._campaigns = campaigns

    async def recount_campaign(self, campaign_id: str) -> Counts:
        r, cid = self.records, campaign_id
        return recount(
            participants=[_joined(p) for p in r.participants.values() if p.campaign_id == campaign_id],
            invitations=[i.status for i in r.invitations.values() if i.campaign_id == campaign_id],
            rejections=[x["reason"] for x in r.rejections.values() if x["campaign_id"] == campaign_id],
            rewards=[(g["inviter"], g["tier"], g.get("status")) for g in r.rewards.values() if g["campaign_id"] == cid],
            submissions=[s.status for s in r.submissions.values() if s.campaign_id == campaign_id],
            confirmed=sum(
                1
                for i in r.invitations.values()
                if i.campaign_id == campaign_id and i.status == "credited" and i.confirms_at is None
            ),
        )

    async def recount_account(self, appid: str) -> Counts:
        return recount([], [], [], [], [s.status for s in self.records.submissions.values() if s.appid == appid])

    async def campaigns(self, appid: str | None = None) -> list[tuple[str, str]]:
        docs = self._campaigns.documents.values()
        return [(d["appid"], d["_id"]) for d in docs if appid is None or d["appid"] == appid]

    async def rebuild_campaign(self, campaign_id: str) -> Counts:
        return self._replace(campaign_scope(campaign_id), await self.recount_campaign(campaign_id))

    async def rebuild_account(self, appid: str) -> Counts:
        return self._replace(account_scope(appid), await self.recount_account(appid))

    def _replace(self, scope: str, counts: Counts) -> Counts:
        for key in [key for key in self.records.counters if key.rpartition("|")[0] == scope]:
            del self.records.counters[key]
        if counts:
            self.records.counters[f"{scope}|0"] = dict(counts)
        return counts


# -- the labelled export -------------------------------------------------------------------------------


class InMemoryReviewedSubmissions(ReviewedSubmissions):
    """Reviewer decisions over :class:`CampaignRecords` (``decided_by`` other than ``"auto"``)."""

    def __init__(self, records: CampaignRecords | None = None) -> None:
        self.records = CampaignRecords() if records is None else records

    async def reviewed(
        self,
        appid: str,
        *,
        campaign_id: str | None,
        decided_after: datetime | None,
        decided_until: datetime | None,
        limit: int,
    ) -> list[SubmissionRecord]:
        found = sorted(
            (
                r
                for r in self.records.submissions.values()
                if r.appid == appid
                and r.decided_by != "auto"
                and r.status in ("approved", "rejected")
                and (campaign_id is None or r.campaign_id == campaign_id)
                and (decided_after is None or r.decided_at > decided_after)
                and (decided_until is None or r.decided_at <= decided_until)
            ),
            key=lambda r: (r.decided_at, r.id),
        )
        return copy.deepcopy(found[:limit])


class InMemoryReferralGraph(ReferralGraph):
    """The referral graph over :class:`CampaignRecords` (as ``MongoReferralGraph``, outside transactions)."""

    def __init__(self, records: CampaignRecords | None = None) -> None:
        self.records = CampaignRecords() if records is None else records

    async def record_edge(self, edge: Edge) -> bool:
        key = f"{edge.campaign_id}:{edge.invitee}"
        if key in self.records.edges:
            return False
        self.records.edges[key] = edge
        return True

    async def set_status(self, campaign_id: str, invitee: str, status: str) -> None:
        key = f"{campaign_id}:{invitee}"
        if key in self.records.edges:
            self.records.edges[key] = replace(self.records.edges[key], status=status)

    def _of(self, appid: str, invitee: str) -> list[tuple[str, Edge]]:
        return [(k, e) for k, e in self.records.edges.items() if e.appid == appid and e.invitee == invitee]

    async def note_unfollow(self, appid: str, invitee: str, at: datetime) -> list[Edge]:
        for key, edge in self._of(appid, invitee):
            if edge.unfollowed_at is None and edge.credited_at <= at:
                self.records.edges[key] = replace(edge, unfollowed_at=at)
        return [edge for _, edge in self._of(appid, invitee)]

    async def note_interaction(self, appid: str, invitee: str, at: datetime) -> None:
        for key, edge in self._of(appid, invitee):
            if edge.interacted_at is None and edge.credited_at < at:
                self.records.edges[key] = replace(edge, interacted_at=at)

    async def edges(self, appid: str, *, inviter: str | None = None, limit: int = 100_000) -> list[Edge]:
        found = [e for e in self.records.edges.values() if e.appid == appid and inviter in (None, e.inviter)]
        return sorted(found, key=lambda e: e.credited_at)[:limit]

    async def freeze(self, freeze: Freeze) -> Freeze | None:
        key = f"{freeze.appid}:{freeze.openid}"
        current = self.records.freezes.get(key)
        if current is not None and current.status == "frozen":
            return None
        self.records.freezes[key] = freeze
        return freeze

    async def release(self, appid: str, openid: str, by: str, at: datetime) -> Freeze | None:
        key = f"{appid}:{openid}"
        current = self.records.freezes.get(key)
        if current is None or current.status != "frozen":
            return None
        released = replace(current, status="released", released_by=by, released_at=at)
        self.records.freezes[key] = released
        return released

    async def freezes(self, appid: str, *, status: str | None = None) -> list[Freeze]:
        found = [f for f in self.records.freezes.values() if f.appid == appid and status in (None, f.status)]
        return sorted(found, key=lambda f: f.frozen_at, reverse=True)

    async def invitations(self, campaign_id: str) -> list[Invitation]:
        return [i for i in self.records.invitations.values() if i.campaign_id == campaign_id]

    async def flag_reviews(self, appid: str) -> list[FlagReview]:
        return [f for f in self.records.flag_reviews.values() if f.appid == appid]

    async def keep_flags(self, flags: Sequence[FlagReview]) -> None:
        for flag in flags:
            key = f"{flag.appid}:{flag.kind}:{flag.inviter}"
            before = self.records.flag_reviews.get(key)
            if before is None:
                self.records.flag_reviews[key] = flag
                continue
            # The pattern as computed; the review state only a review changes.
            self.records.flag_reviews[key] = replace(
                before,
                at=flag.at,
                edges=flag.edges,
                campaigns=flag.campaigns,
                detail=flag.detail,
                current=flag.current,
                last_seen_at=flag.last_seen_at,
            )

    async def review_flag(self, flag: FlagReview, expected_status: str) -> bool:
        key = f"{flag.appid}:{flag.kind}:{flag.inviter}"
        before = self.records.flag_reviews.get(key)
        if before is None or before.status != expected_status:
            return False
        self.records.flag_reviews[key] = replace(
            before, status=flag.status, reviewed_by=flag.reviewed_by, reviewed_at=flag.reviewed_at, note=flag.note
        )
        return True


class InMemoryPosterVariants(PosterVariants):
    """Variant plans, assignments and counts in memory (as ``MongoPosterVariants``). Given the referral
    records, its counts include what the referral store counts per variant there (confirmed credits),
    as both share ``campaign_counters`` in MongoDB."""

    def __init__(self, records: CampaignRecords | None = None) -> None:
        self.records = records
        self.plans: dict[str, VariantPlan] = {}
        self.assignments: dict[str, str] = {}
        self.scans: set[str] = set()
        self.counters: dict[str, dict[str, int]] = {}

    async def plan(self, campaign_id: str) -> VariantPlan | None:
        return self.plans.get(campaign_id)

    async def save_plan(self, appid: str, plan: VariantPlan) -> None:
        self.plans[plan.campaign_id] = plan

    async def assignment(self, campaign_id: str, openid: str) -> str | None:
        return self.assignments.get(f"{campaign_id}:{openid}")

    def _add(self, campaign_id: str, counts: dict[str, int]) -> None:
        current = self.counters.setdefault(campaign_id, {})
        for name, n in counts.items():
            current[name] = current.get(name, 0) + n

    async def assign(self, campaign_id: str, openid: str, variant: str) -> str:
        key = f"{campaign_id}:{openid}"
        if key not in self.assignments:
            self.assignments[key] = variant
            self._add(campaign_id, {f"members:{variant}": 1})
        return self.assignments[key]

    async def count_scan(self, campaign_id: str, event_id: str, variant: str, *, follow: bool, credited: bool) -> bool:
        if event_id in self.scans:
            return False
        self.scans.add(event_id)
        counts = {f"scans:{variant}": 1, f"follows:{variant}": int(follow), f"credited:{variant}": int(credited)}
        self._add(campaign_id, counts)
        return True

    async def counts(self, campaign_id: str) -> dict[str, int]:
        total = dict(self.counters.get(campaign_id, {}))
        if self.records is not None:
            for name, n in _counts(self.records, variant_scope(campaign_id)).items():
                total[name] = total.get(name, 0) + n
        return {name: n for name, n in total.items() if n}


class InMemoryHeldNotices:
    """Held notices of a :class:`CampaignRecords` (``adapters/held_notices.py``)."""

    def __init__(self, records: CampaignRecords) -> None:
        self.records = records

    async def held_before(self, appid: str, before: datetime, limit: int) -> list[Notice]:
        found = [
            doc
            for doc in self.records.notices.values()
            if doc["status"] == "held" and doc["appid"] == appid and doc["held_at"] <= before
        ]
        found.sort(key=lambda doc: doc["held_at"])
        return [replace(_notice(doc), text=doc.get("delivered_text") or doc["text"]) for doc in found[:limit]]

    async def claim(self, notice_id: str, at: datetime) -> bool:
        doc = self.records.notices.get(notice_id)
        if doc is None or doc["status"] != "held":
            return False
        self.records.notices[notice_id] = doc | {"status": "template_sending", "template_at": at}
        return True

    async def settle(self, notice_id: str, status: str, at: datetime, fields: dict[str, Any]) -> None:
        doc = self.records.notices.get(notice_id)
        if doc is not None and doc["status"] == "template_sending":
            self.records.notices[notice_id] = doc | {"status": status, f"{status}_at": at, **fields}
