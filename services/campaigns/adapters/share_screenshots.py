"""Share-screenshot submissions, their images awaiting review, and the audit trail, in MongoDB.

A submission's ``_id`` is its id (``<appid>:<msg_id>``, see :mod:`services.campaigns.domain.submissions`),
so a retried push or a redelivered message finds the first insert. The submission document also carries
the fingerprints later submissions of the campaign are compared with, so recording the decision and
remembering the screenshot are one write.

A reviewer's claim is a ``claim`` field on the submission (``{"by": {"id", "name"}, "until"}``), set and
cleared by conditional find-and-modify, so two reviewers never hold (or decide) the same submission.

Re-use is looked up, not scanned: each submission document carries ``reuse_keys`` (the file's hash and
the bands of its context descriptor's signature, :func:`services.screenshots.lookup_keys`) under a
``(campaign_id, reuse_keys)`` index, so a new screenshot reads only the earlier ones that share a key.
Each recorded submission also counts its keys in the campaign's latch documents (``share_reuse_latches``,
a fixed number per campaign, keyed by a hash of the key) in its transaction. The counts tell which keys
the crowd shares (a key of :data:`~services.screenshots.HOT_KEY` submissions is neither looked up nor
counted any more) and weigh the rest; and two alike pictures decided at the same moment write the
same latch, so one of them conflicts and, retried, finds the other.

Submissions by status are counted (the campaign's and the account's counters, see
:mod:`services.campaigns.domain.counters`) in the transaction that records or settles them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.campaigns.adapters.counters import campaign_counters
from services.campaigns.domain.counters import account_scope, campaign_scope, screenshot_counts, submission_change
from services.campaigns.domain.submissions import STATUS, AuditEntry, Claim, SubmissionRecord
from services.campaigns.service_layer.ports import ShareScreenshotStore
from services.screenshots import CANDIDATES, HOT_KEY, Decision, Fingerprint, PriorShot, lookup_keys, nearest_first
from shared.storage import IndexSpec

__all__ = ["AUDIT", "IMAGES", "INDEXES", "LATCHES", "SUBMISSIONS", "MongoShareScreenshots", "latch_id"]

T = TypeVar("T")

SUBMISSIONS = "share_submissions"
IMAGES = "share_submission_images"
AUDIT = "share_submission_audit"
LATCHES = "share_reuse_latches"
#: Latch documents per campaign: a bound on their number. Two unrelated approvals at the same moment
#: share one with probability ~ keys^2 / _LATCH_SLOTS (0.9 % for 25 keys): a spurious conflict, retried.
_LATCH_SLOTS = 1 << 16
#: Keys read to rank the candidates, at most (their ids and keys only; the fingerprints of the best
#: ``CANDIDATES`` are read after).
_KEY_SCAN = 5_000

INDEXES = (
    IndexSpec(SUBMISSIONS, (("campaign_id", 1), ("status", 1), ("received_at", 1)), name="campaign_status"),
    IndexSpec(SUBMISSIONS, (("campaign_id", 1), ("openid", 1)), name="campaign_member"),
    # The account-wide review queue (and claim-next), and one member's submissions across campaigns.
    IndexSpec(SUBMISSIONS, (("appid", 1), ("status", 1), ("received_at", 1)), name="account_status"),
    IndexSpec(SUBMISSIONS, (("appid", 1), ("openid", 1), ("received_at", 1)), name="account_member"),
    IndexSpec(AUDIT, (("submission_id", 1), ("at", 1)), name="submission_at"),
    # A decided picture expires after the review-image retention (a TTL index: connect() adds it).
    IndexSpec(IMAGES, (("decided_at", 1),), name="retention"),
    # Re-use lookup: the earlier submissions sharing a key (multikey over reuse_keys).
    IndexSpec(SUBMISSIONS, (("campaign_id", 1), ("reuse_keys", 1)), name="campaign_reuse_keys"),
)


def latch_id(campaign_id: str, key: str) -> str:
    slot = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % _LATCH_SLOTS
    return f"{campaign_id}:{slot}"


def _claim_document(claim: Claim) -> dict[str, Any]:
    return {"by": {"id": claim.holder_id, "name": claim.holder_name}, "until": claim.until}


def _free_for(holder_id: str | None, now: datetime) -> dict[str, Any]:
    """Matches a submission nobody but ``holder_id`` holds a live claim on."""
    free: list[dict[str, Any]] = [{"claim": None}, {"claim.until": {"$lte": now}}]
    if holder_id is not None:
        free.append({"claim.by.id": holder_id})
    return {"$or": free}


def _document(record: SubmissionRecord, reuse_keys: list[str] | None = None) -> dict[str, Any]:
    doc = dict(record.__dict__)
    doc["_id"] = doc.pop("id")
    doc["claim"] = None if record.claim is None else _claim_document(record.claim)
    doc["fingerprint"] = {
        "sha256": record.fingerprint.sha256,
        "context": record.fingerprint.context,
        "text": record.fingerprint.text,
    }
    doc["reuse_keys"] = lookup_keys(record.fingerprint) if reuse_keys is None else reuse_keys
    return doc


def _fingerprint(doc: dict[str, Any]) -> Fingerprint:
    return Fingerprint(doc["sha256"], doc["context"], doc.get("text", ""))


def _prior(doc: dict[str, Any]) -> PriorShot:
    own = doc.get("evidence", {}).get("qr") == "own"
    return PriorShot(doc["_id"], doc["openid"], Decision(doc["decision"]), _fingerprint(doc["fingerprint"]), own)


def _record(doc: dict[str, Any]) -> SubmissionRecord:
    values = {name: doc[name] for name in SubmissionRecord.__dataclass_fields__ if name in doc and name != "id"}
    values["fingerprint"] = _fingerprint(doc["fingerprint"])
    claim = doc.get("claim")
    values["claim"] = None if claim is None else Claim(claim["by"]["id"], claim["by"]["name"], claim["until"])
    return SubmissionRecord(id=doc["_id"], **values)


class MongoShareScreenshots(ShareScreenshotStore):
    """Writes take the unit of work's session (one transaction with the reward and the notice)."""

    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._db = database
        self._session = session
        self._counters = campaign_counters(database)

    async def _counted(self, write: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run a counted write in the unit of work's transaction, or in one of its own."""
        if self._session is not None:
            return await write(self._session)
        return await self._counters.transaction(write)

    async def _count(self, record: SubmissionRecord, before: str | None, session: AsyncClientSession) -> None:
        counts = submission_change(before, record.status)
        for scope in (campaign_scope(record.campaign_id), account_scope(record.appid)):
            await self._counters.add(scope, record.openid, counts, session=session)

    # -- writes ---------------------------------------------------------------------------------------

    async def add(self, record: SubmissionRecord) -> bool:
        async def write(session: AsyncClientSession) -> None:
            keys = lookup_keys(record.fingerprint)
            counts = await self._key_counts(record.campaign_id, keys, session)
            # A hot key is never asked for again: keeping it would only grow the index.
            personal = [key for key in keys if counts[key] < HOT_KEY]
            await self._db[SUBMISSIONS].insert_one(_document(record, personal), session=session)
            await self._count(record, None, session)

        try:
            await self._counted(write)
        except DuplicateKeyError:
            return False
        return True

    async def keep_image(self, submission: str, content: bytes, content_type: str) -> None:
        """The picture, for a reviewer: kept only for submissions that wait for a person."""
        await self._db[IMAGES].update_one(
            {"_id": submission},
            {"$setOnInsert": {"content": content, "content_type": content_type}},
            upsert=True,
            session=self._session,
        )

    async def _key_counts(
        self, campaign_id: str, keys: Sequence[str], session: AsyncClientSession | None = None
    ) -> dict[str, int]:
        """How many submissions of the campaign have each key (counted until it is hot; by slot)."""
        slots = {key: latch_id(campaign_id, key) for key in keys}
        cursor = self._db[LATCHES].find({"_id": {"$in": sorted(set(slots.values()))}}, session=session or self._session)
        counted = {doc["_id"]: int(doc.get("n", 0)) async for doc in cursor}
        return {key: counted.get(slot, 0) for key, slot in slots.items()}

    async def latch_reuse(self, campaign_id: str, keys: Sequence[str]) -> None:
        counts = await self._key_counts(campaign_id, keys)
        # A hot key is no longer written: every submission of a crowd has it, it would be a hot spot.
        slots = sorted({latch_id(campaign_id, key) for key in keys if counts[key] < HOT_KEY})
        if slots:
            writes = [UpdateOne({"_id": slot}, {"$inc": {"n": 1}}, upsert=True) for slot in slots]
            await self._db[LATCHES].bulk_write(writes, ordered=True, session=self._session)

    async def backfill_reuse_keys(self, *, batch: int = 500) -> int:
        """Give ``reuse_keys`` (and their latch counts) to submissions recorded before the re-use index
        existed, so the lookup finds them too; how many were filled. Idempotent: each submission is
        filled once, in a transaction with its counts, only while it has no keys; run at start."""
        filled = 0
        while True:
            cursor = self._db[SUBMISSIONS].find(
                {"reuse_keys": {"$exists": False}}, {"campaign_id": 1, "fingerprint": 1}, limit=batch
            )
            todo = [doc async for doc in cursor]
            for doc in todo:

                async def write(session: AsyncClientSession, doc: dict[str, Any] = doc) -> bool:
                    keys = lookup_keys(_fingerprint(doc["fingerprint"]))
                    counts = await self._key_counts(doc["campaign_id"], keys, session)
                    personal = [key for key in keys if counts[key] < HOT_KEY]
                    done = await self._db[SUBMISSIONS].update_one(
                        {"_id": doc["_id"], "reuse_keys": {"$exists": False}},
                        {"$set": {"reuse_keys": personal}},
                        session=session,
                    )
                    slots = sorted({latch_id(doc["campaign_id"], key) for key in personal})
                    if done.modified_count and slots:
                        writes = [UpdateOne({"_id": slot}, {"$inc": {"n": 1}}, upsert=True) for slot in slots]
                        await self._db[LATCHES].bulk_write(writes, ordered=True, session=session)
                    return bool(done.modified_count)

                filled += await self._counters.transaction(write)
            if len(todo) < batch:
                return filled

    async def audit(self, entry: AuditEntry) -> None:
        await self._db[AUDIT].insert_one(dict(entry.__dict__), session=self._session)

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
        """Move a submission out of review and drop its claim; None if it is not in review (any more)
        or someone other than ``reviewer_id`` holds a live claim on it: decided once, by its claimant."""

        async def write(session: AsyncClientSession) -> SubmissionRecord | None:
            doc = await self._db[SUBMISSIONS].find_one_and_update(
                {"_id": submission, "status": "review", **_free_for(reviewer_id, at)},
                {
                    "$set": {
                        "status": STATUS[decision],
                        "decision": decision.value,
                        "decided_by": reviewer,
                        "decided_at": at,
                        "note": note,
                        "review_reason": reason,
                        "claim": None,
                    }
                },
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if doc is None:
                return None
            settled = _record(doc)
            await self._count(settled, "review", session)
            # From now on the picture counts down to its deletion (review-image retention).
            await self._db[IMAGES].update_one({"_id": submission}, {"$set": {"decided_at": at}}, session=session)
            return settled

        return await self._counted(write)

    async def claim(self, submission: str, claim: Claim, now: datetime) -> SubmissionRecord | None:
        doc = await self._db[SUBMISSIONS].find_one_and_update(
            {"_id": submission, "status": "review", **_free_for(claim.holder_id, now)},
            {"$set": {"claim": _claim_document(claim)}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        return None if doc is None else _record(doc)

    async def claim_next(
        self, appid: str, campaign_id: str | None, claim: Claim, now: datetime
    ) -> SubmissionRecord | None:
        # One find-and-modify: the oldest matching document is claimed in the same step it is chosen,
        # so two reviewers asking at once get two different submissions.
        query: dict[str, Any] = {"appid": appid, "status": "review", **_free_for(claim.holder_id, now)}
        if campaign_id is not None:
            query["campaign_id"] = campaign_id
        doc = await self._db[SUBMISSIONS].find_one_and_update(
            query,
            {"$set": {"claim": _claim_document(claim)}},
            sort=[("received_at", 1), ("_id", 1)],
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        return None if doc is None else _record(doc)

    async def release(self, submission: str, holder_id: str, now: datetime) -> bool:
        released = await self._db[SUBMISSIONS].update_one(
            {"_id": submission, "claim": {"$ne": None}, **_free_for(holder_id, now)},
            {"$set": {"claim": None}},
            session=self._session,
        )
        if released.matched_count:
            return True
        doc = await self._db[SUBMISSIONS].find_one({"_id": submission}, {"claim": 1}, session=self._session)
        return doc is None or doc.get("claim") is None  # nothing to release; otherwise another's live claim

    # -- reads ----------------------------------------------------------------------------------------

    async def get(self, submission: str) -> SubmissionRecord | None:
        doc = await self._db[SUBMISSIONS].find_one({"_id": submission}, session=self._session)
        return None if doc is None else _record(doc)

    async def approved(self, campaign_id: str, openid: str) -> bool:
        query = {"campaign_id": campaign_id, "openid": openid, "status": "approved"}
        return await self._db[SUBMISSIONS].find_one(query, {"_id": 1}, session=self._session) is not None

    async def earlier(self, campaign_id: str) -> list[PriorShot]:
        """Every earlier submission of the campaign with the fingerprints re-use is judged by."""
        cursor = self._db[SUBMISSIONS].find(
            {"campaign_id": campaign_id, "fingerprint.context": {"$ne": None}},
            {"openid": 1, "decision": 1, "fingerprint": 1, "evidence.qr": 1},
            session=self._session,
        )
        return [_prior(doc) async for doc in cursor]

    async def candidates(self, campaign_id: str, keys: Sequence[str]) -> list[PriorShot]:
        counts = await self._key_counts(campaign_id, keys)
        asked = [key for key in keys if counts[key] < HOT_KEY]
        if not asked:
            return []
        found = (
            self._db[SUBMISSIONS]
            .find(
                {"campaign_id": campaign_id, "reuse_keys": {"$in": asked}},
                {"reuse_keys": 1},
                session=self._session,
            )
            .limit(_KEY_SCAN)
        )
        rows = [(doc["_id"], doc.get("reuse_keys", [])) async for doc in found]
        nearest = nearest_first(asked, rows, CANDIDATES, counts)
        if not nearest:
            return []
        cursor = self._db[SUBMISSIONS].find(
            {"_id": {"$in": nearest}},
            {"openid": 1, "decision": 1, "fingerprint": 1, "evidence.qr": 1},
            session=self._session,
        )
        shots = {doc["_id"]: _prior(doc) async for doc in cursor}
        return [shots[submission_id] for submission_id in nearest if submission_id in shots]

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
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if status is not None:
            query["status"] = status
        if reason is not None:
            query["reasons"] = reason
        if openid is not None:
            query["openid"] = openid
        if received_before is not None:
            query["received_at"] = {"$lt": received_before}
        cursor = self._db[SUBMISSIONS].find(query).sort("received_at", 1).skip(offset).limit(limit)
        return [_record(doc) async for doc in cursor]

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
        query: dict[str, Any] = {"appid": appid}
        for name, value in (("campaign_id", campaign_id), ("status", status), ("reasons", reason), ("openid", openid)):
            if value is not None:
                query[name] = value
        order = -1 if newest_first else 1
        cursor = (
            self._db[SUBMISSIONS].find(query).sort([("received_at", order), ("_id", order)]).skip(offset).limit(limit)
        )
        return [_record(doc) async for doc in cursor]

    async def account_counts(self, appid: str, campaign_id: str | None) -> dict[str, int]:
        scope = account_scope(appid) if campaign_id is None else campaign_scope(campaign_id)
        return screenshot_counts(await self._counters.read(scope, session=self._session))

    async def of_member(self, campaign_id: str, openid: str) -> list[SubmissionRecord]:
        cursor = self._db[SUBMISSIONS].find({"campaign_id": campaign_id, "openid": openid}).sort("received_at", 1)
        return [_record(doc) async for doc in cursor]

    async def counts(self, campaign_id: str) -> dict[str, int]:
        return screenshot_counts(await self._counters.read(campaign_scope(campaign_id), session=self._session))

    async def image(self, submission: str) -> tuple[bytes, str] | None:
        doc = await self._db[IMAGES].find_one({"_id": submission})
        return None if doc is None else (bytes(doc["content"]), doc["content_type"])

    async def trail(self, submission: str) -> list[AuditEntry]:
        cursor = self._db[AUDIT].find({"submission_id": submission}, {"_id": 0}).sort("at", 1)
        return [AuditEntry(**doc) async for doc in cursor]
