"""Reward pools in MongoDB: one document per coupon code, handed out atomically and never twice.

Two unique indexes carry the guarantees, so they hold across processes and concurrent calls:

- ``(campaign_id, pool, code)``: a code is in a pool once, however often it is uploaded;
- ``(campaign_id, pool, allocated_to)``, partial on allocated codes: one grant key holds at most one code
  of a pool, so a retried grant (a redelivered event) can never take a second code.

An allocation is a single ``find_one_and_update`` that flips one unallocated code to allocated: the
server applies the filter and the update together, so two callers can never take the same code, and
when the pool is empty the filter matches nothing (no overselling).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from services.campaigns.domain.rewards import PoolStock, generate_codes
from services.campaigns.service_layer.ports import AddedCodes, RewardPools
from shared.storage import IndexSpec, StorageError

REWARD_CODES = "reward_codes"

INDEXES = (
    IndexSpec(REWARD_CODES, (("campaign_id", 1), ("pool", 1), ("code", 1)), name="campaign_pool_code", unique=True),
    IndexSpec(
        REWARD_CODES,
        (("campaign_id", 1), ("pool", 1), ("allocated_to", 1)),
        name="campaign_pool_grant",
        unique=True,
        partial_filter={"allocated_to": {"$exists": True}},
    ),
    IndexSpec(REWARD_CODES, (("campaign_id", 1), ("pool", 1), ("allocated", 1)), name="campaign_pool_free"),
)

_DUPLICATE_KEY = 11000
_GENERATE_ROUNDS = 5


class MongoRewardPools(RewardPools):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._codes = database[REWARD_CODES]

    async def add_codes(self, campaign_id: str, pool: str, codes: Iterable[str]) -> AddedCodes:
        documents = [self._document(campaign_id, pool, code) for code in dict.fromkeys(codes)]
        if not documents:
            return AddedCodes(0, 0)
        added = await self._insert(documents)
        return AddedCodes(added, len(documents) - added)

    async def generate(self, campaign_id: str, pool: str, count: int) -> int:
        added = 0
        for _ in range(_GENERATE_ROUNDS):  # a collision with an existing code is retried with fresh codes
            added += await self._insert([self._document(campaign_id, pool, c) for c in generate_codes(count - added)])
            if added == count:
                return added
        raise StorageError(f"generated codes kept colliding; {added} of {count} added")

    async def allocate(self, campaign_id: str, pool: str, grant_key: str) -> str | None:
        key = {"campaign_id": campaign_id, "pool": pool}
        try:
            held = await self._codes.find_one(key | {"allocated_to": grant_key})
            if held is not None:
                return str(held["code"])
            try:
                taken = await self._codes.find_one_and_update(
                    key | {"allocated": False},
                    {"$set": {"allocated": True, "allocated_to": grant_key, "allocated_at": datetime.now(UTC)}},
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # A concurrent call with the same grant key won; the code we aimed at stays free.
                held = await self._codes.find_one(key | {"allocated_to": grant_key})
                return None if held is None else str(held["code"])
        except PyMongoError as exc:
            raise StorageError(f"allocation failed: {type(exc).__name__}") from exc
        return None if taken is None else str(taken["code"])

    async def stock(self, campaign_id: str) -> list[PoolStock]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"campaign_id": campaign_id}},
            {
                "$group": {
                    "_id": "$pool",
                    "total": {"$sum": 1},
                    "allocated": {"$sum": {"$cond": ["$allocated", 1, 0]}},
                }
            },
        ]
        cursor = await self._codes.aggregate(pipeline)
        rows = [row async for row in cursor]
        return sorted((PoolStock(row["_id"], row["total"], row["allocated"]) for row in rows), key=lambda s: s.pool)

    @staticmethod
    def _document(campaign_id: str, pool: str, code: str) -> dict[str, Any]:
        return {
            "campaign_id": campaign_id,
            "pool": pool,
            "code": code,
            "allocated": False,
            "added_at": datetime.now(UTC),
        }

    async def _insert(self, documents: list[dict[str, Any]]) -> int:
        """Insert what is new; codes already in the pool are skipped. Returns how many were inserted."""
        try:
            result = await self._codes.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != _DUPLICATE_KEY for error in errors):
                raise StorageError(f"codes not stored: {errors[0].get('errmsg', 'write error')}") from exc
            return int(exc.details.get("nInserted", len(documents) - len(errors)))
        except PyMongoError as exc:
            raise StorageError(f"codes not stored: {type(exc).__name__}") from exc
        return len(result.inserted_ids)
