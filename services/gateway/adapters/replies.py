"""Passive reply rules, stored in MongoDB per account and cached in the gateway."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

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
    """All of an account's rules are loaded together and kept ``ttl_seconds``: no query per push."""

    def __init__(
        self, database: AsyncDatabase[Any], *, ttl_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._collection = database[RULES]
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, list[ReplyRule]]] = {}

    async def for_account(self, appid: str) -> list[ReplyRule]:
        now = self._clock()
        cached = self._cache.get(appid)
        if cached is not None and cached[0] > now:
            return cached[1]
        rules = [rule_from_document(doc) async for doc in self._collection.find({"appid": appid})]
        self._cache[appid] = (now + self._ttl, rules)
        return rules
