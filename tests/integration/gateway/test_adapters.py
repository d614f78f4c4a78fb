"""The gateway's storage adapters: one ledger contract for memory and MongoDB; accounts and reply
rules from MongoDB."""

from __future__ import annotations

import abc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gateway.adapters import accounts, ledger, replies, seen
from services.gateway.adapters.accounts import ChainedAccountDirectory, MongoAccountDirectory, StaticAccountDirectory
from services.gateway.adapters.ledger import MemoryPushLedger, MongoPushLedger
from services.gateway.adapters.replies import MongoReplyRules
from services.gateway.adapters.seen import MongoSeenRequests
from services.gateway.domain.replies import ImageReply, TextReply, Trigger
from services.gateway.service_layer.ports import Claim, PushLedger
from shared.settings import Environment
from shared.storage import ensure_indexes
from shared.wechat import WeChatAccount


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


class LedgerContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def make(self) -> Any: ...

    async def test_first_claim_is_new_then_retries_see_in_flight(self, make: Any) -> None:
        store: PushLedger = make(Clock())
        assert (await store.claim("k1")).claim is Claim.NEW
        assert (await store.claim("k1")).claim is Claim.IN_FLIGHT
        assert (await store.claim("k2")).claim is Claim.NEW

    async def test_completed_claims_replay_the_answer(self, make: Any) -> None:
        store: PushLedger = make(Clock())
        await store.claim("k1")
        await store.complete("k1", b"<xml>reply</xml>")
        result = await store.claim("k1")
        assert (result.claim, result.reply) == (Claim.DONE, b"<xml>reply</xml>")

    async def test_released_claims_can_be_taken_again(self, make: Any) -> None:
        store: PushLedger = make(Clock())
        await store.claim("k1")
        await store.release("k1")
        assert (await store.claim("k1")).claim is Claim.NEW

    async def test_a_stale_in_flight_claim_is_taken_over(self, make: Any) -> None:
        clock = Clock()
        store: PushLedger = make(clock)
        await store.claim("k1")
        clock.now += timedelta(seconds=31)  # the gateway that claimed it crashed
        assert (await store.claim("k1")).claim is Claim.NEW


class TestMemoryLedger(LedgerContract):
    @pytest.fixture
    async def make(self) -> Any:
        return lambda clock: MemoryPushLedger(clock=clock.seconds, stale_after=30)


@pytest.mark.integration
class TestMongoLedger(LedgerContract):
    @pytest.fixture
    async def make(self, database: Any) -> Any:
        await ensure_indexes(database, ledger.INDEXES)
        return lambda clock: MongoPushLedger(database, clock=clock, stale_after=30)


async def test_memory_ledger_is_bounded() -> None:
    store = MemoryPushLedger(max_entries=3)
    for key in ("a", "b", "c", "d"):
        await store.claim(key)
    assert (await store.claim("a")).claim is Claim.NEW  # the oldest was evicted


@pytest.mark.integration
async def test_accounts_from_mongodb_complement_the_environment(database: Any) -> None:
    await ensure_indexes(database, accounts.INDEXES)
    await database[accounts.ACCOUNTS].insert_one(
        {"appid": "wxfrommongo", "token": "t2", "encoding_aes_key": "k" * 43, "secret": "s2"}
    )
    env_account = WeChatAccount(appid="wxfromenv", token="t1", encoding_aes_key="k" * 43, secret="s1-0123456789abcdef")
    directory = ChainedAccountDirectory(StaticAccountDirectory([env_account]), MongoAccountDirectory(database))
    from_env, from_mongo = await directory.find("wxfromenv"), await directory.find("wxfrommongo")
    assert from_env is not None and from_env.token == "t1"
    assert from_mongo is not None and from_mongo.token == "t2" and len(from_mongo.ciphers) == 1
    assert await directory.find("wxnobody") is None


@pytest.mark.integration
async def test_unknown_appids_are_cached_briefly(database: Any) -> None:
    now = [0.0]
    directory = MongoAccountDirectory(database, miss_ttl_seconds=5, clock=lambda: now[0])
    assert await directory.find("wxlate") is None
    await database[accounts.ACCOUNTS].insert_one(
        {"appid": "wxlate", "token": "t", "encoding_aes_key": "k" * 43, "secret": "s"}
    )
    assert await directory.find("wxlate") is None  # still the cached miss
    now[0] = 6.0
    assert await directory.find("wxlate") is not None


@pytest.mark.integration
async def test_reply_rules_from_mongodb(database: Any) -> None:
    await ensure_indexes(database, replies.INDEXES)
    await database[replies.RULES].insert_many(
        [
            {"appid": "wx1", "trigger": "keyword", "match": "海报", "reply_type": "text", "content": "马上发你"},
            {"appid": "wx1", "trigger": "click", "match": "POSTER", "reply_type": "image", "media_id": "m1"},
            {"appid": "wx2", "trigger": "follow", "match": "", "reply_type": "text", "content": "欢迎"},
        ]
    )
    rules = await MongoReplyRules(database).for_account("wx1")
    assert {(rule.trigger, rule.match, rule.reply) for rule in rules} == {
        (Trigger.KEYWORD, "海报", TextReply("马上发你")),
        (Trigger.CLICK, "POSTER", ImageReply("m1")),
    }


@pytest.mark.integration
async def test_stored_accounts_pass_the_checks_configured_ones_pass(database: Any) -> None:
    await ensure_indexes(database, accounts.INDEXES)
    good = {"appid": "wxgood", "token": "tokenGood1", "encoding_aes_key": "k" * 43, "secret": "s" * 32}
    await database[accounts.ACCOUNTS].insert_many(
        [
            good,
            good | {"appid": "wxplaceholder", "secret": "changethis"},
            good | {"appid": "wxshortsecret", "secret": "short"},
            good | {"appid": "wxbadtoken", "token": "no spaces allowed"},
            {"appid": "wxbroken", "token": "t"},  # fields missing: a ValidationError, not a 500
        ]
    )
    production = MongoAccountDirectory(database, environment=Environment.PRODUCTION)
    assert await production.find("wxgood") is not None
    for appid in ("wxplaceholder", "wxshortsecret", "wxbadtoken", "wxbroken"):
        assert await production.find(appid) is None, appid
    test = MongoAccountDirectory(database, environment=Environment.TEST)
    assert await test.find("wxbadtoken") is not None  # production alone asks for the platform's formats
    assert await test.find("wxshortsecret") is None  # length counts outside development
    assert await test.find("wxplaceholder") is None


@pytest.mark.integration
async def test_the_account_cache_is_bounded(database: Any) -> None:
    await database[accounts.ACCOUNTS].insert_many(
        [{"appid": f"wxc{i}", "token": "t0k", "encoding_aes_key": "k" * 43, "secret": "s" * 16} for i in range(3)]
    )
    directory = MongoAccountDirectory(database, max_entries=2)
    for i in range(3):
        await directory.find(f"wxc{i}")
    await database[accounts.ACCOUNTS].delete_many({})
    assert await directory.find("wxc0") is None  # evicted, so read again (and gone)
    assert await directory.find("wxc2") is not None  # still cached


@pytest.mark.integration
async def test_mongo_seen_requests_refuse_a_known_signature_with_another_body(database: Any) -> None:
    await ensure_indexes(database, seen.indexes(300))
    store = MongoSeenRequests(database)
    assert await store.first_use("wx1:sig:1:n", "body-a")
    assert await store.first_use("wx1:sig:1:n", "body-a")  # a retry
    assert not await store.first_use("wx1:sig:1:n", "body-b")
    assert await store.first_use("wx1:sig:2:n", "body-b")
