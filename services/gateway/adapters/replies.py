"""Passive reply rules, stored in MongoDB per account and cached in the gateway."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.adapters.cache import RefreshingCache
from services.gateway.domain.replies import ImageReply, Reply, ReplyRule, TextReply, Trigger
from shared.storage import IndexSpec

RULES = "passive_reply_rules"
INDEXES = (IndexSpec(RULES, (("appid", 1), ("trigger", 1), ("match", 1)), name="appid_trigger_match", unique=True),)


class NoReplyRules:
    async def for_account(self, appid: str) -> list[ReplyRule]:
        return []


def rule_from_document(document: dict[str, Any]) -> ReplyRule:
    reply: Reply
    if document.get("reply_type") == "image":
        reply = ImageReply(media_id=str(document["media_id"]))
    else:
        reply = TextReply(content=str(document["content"]))
    return ReplyRule(trigger=Trigger(document["trigger"]), match=str(document.get("match", "")), reply=reply)


class MongoReplyRules:
    """All of an account's rules are loaded together and kept ``ttl_seconds``: no query per push, and
    one refresh at a time per account while pushes go on with the rules they had (see cache.py)."""

    def __init__(
        self, database: AsyncDatabase[Any], *, ttl_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._collection = database[RULES]
        self._cache = RefreshingCache(self._load, ttl=lambda _: ttl_seconds, name="reply rules", clock=clock)

    async def for_account(self, appid: str) -> list[ReplyRule]:
        return await self._cache.get(appid)

    async def _load(self, appid: str) -> list[ReplyRule]:
        return [rule_from_document(doc) async for doc in self._collection.find({"appid": appid})]
