"""The :class:`TokenStore` contract, run against every adapter.

:class:`TokenStoreContract` holds the behaviours; each adapter's class only says how to build a
store. The memory store needs nothing running; the MongoDB store runs against the session's
SecantusDB, in a database of its own per test.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.storage import ensure_indexes
from shared.wechat_client import (
    ACCESS_TOKEN_INDEXES,
    ACCESS_TOKENS,
    AccessToken,
    MemoryTokenStore,
    MongoTokenStore,
    TokenStore,
    WeChatApiConfig,
    WeChatClient,
)

APPID = "wx0000000000000001"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # whole seconds: MongoDB keeps milliseconds
LEASE = 30.0


@dataclass
class _Platform:
    current: str = "T0"
    issued: int = 0
    forced: int = 0


def _token(value: str, *, hours: float = 2) -> AccessToken:
    return AccessToken(value, NOW + timedelta(hours=hours))


class TokenStoreContract:
    """What every :class:`TokenStore` does. Subclasses provide the ``store`` fixture."""

    async def _stored(self, store: TokenStore, value: str) -> None:
        assert await store.acquire_lease(APPID, "setup", expected=None, now=NOW, ttl=LEASE)
        assert await store.store(APPID, "setup", _token(value))

    async def test_an_unknown_account_has_no_token(self, store: TokenStore) -> None:
        assert await store.load(APPID) is None

    async def test_the_lease_goes_to_one_holder_only(self, store: TokenStore) -> None:
        assert await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)
        assert not await store.acquire_lease(APPID, "b", expected=None, now=NOW, ttl=LEASE)
        assert not await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)  # not re-entrant

    async def test_racing_first_leases_have_one_winner(self, store: TokenStore) -> None:
        won = await asyncio.gather(
            *(store.acquire_lease(APPID, f"p{i}", expected=None, now=NOW, ttl=LEASE) for i in range(8))
        )
        assert won.count(True) == 1

    async def test_leases_are_per_account(self, store: TokenStore) -> None:
        assert await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)
        assert await store.acquire_lease("wx-other", "b", expected=None, now=NOW, ttl=LEASE)

    async def test_the_holder_stores_the_token_and_frees_the_lease(self, store: TokenStore) -> None:
        assert await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)
        assert await store.store(APPID, "a", _token("T1"))

        assert await store.load(APPID) == _token("T1")
        assert await store.acquire_lease(APPID, "b", expected="T1", now=NOW, ttl=LEASE)  # free again

    async def test_only_the_holder_may_store(self, store: TokenStore) -> None:
        assert not await store.store(APPID, "nobody", _token("T0"))
        assert await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)
        assert not await store.store(APPID, "b", _token("T1"))
        assert await store.load(APPID) is None

    async def test_a_live_lease_holds_and_an_expired_one_is_taken_over(self, store: TokenStore) -> None:
        assert await store.acquire_lease(APPID, "crashed", expected=None, now=NOW, ttl=LEASE)
        almost = NOW + timedelta(seconds=LEASE - 1)
        assert not await store.acquire_lease(APPID, "b", expected=None, now=almost, ttl=LEASE)

        later = NOW + timedelta(seconds=LEASE + 1)
        assert await store.acquire_lease(APPID, "b", expected=None, now=later, ttl=LEASE)
        assert not await store.store(APPID, "crashed", _token("late"))  # the old holder lost it
        assert await store.store(APPID, "b", _token("T1"))
        assert await store.load(APPID) == _token("T1")

    async def test_the_lease_requires_the_expected_token(self, store: TokenStore) -> None:
        await self._stored(store, "T1")
        assert not await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)
        assert not await store.acquire_lease(APPID, "a", expected="T0", now=NOW, ttl=LEASE)
        assert await store.acquire_lease(APPID, "a", expected="T1", now=NOW, ttl=LEASE)

    async def test_many_holders_seeing_one_stale_token_refresh_once(self, store: TokenStore) -> None:
        await self._stored(store, "STALE")
        holders = [f"p{i}" for i in range(5)]

        refreshed = []
        for holder in holders:  # each saw STALE rejected; the lease is free whenever they ask
            if await store.acquire_lease(APPID, holder, expected="STALE", now=NOW, ttl=LEASE):
                assert await store.store(APPID, holder, _token(f"NEW-{holder}"))
                refreshed.append(holder)

        assert refreshed == ["p0"]
        assert await store.load(APPID) == _token("NEW-p0")

    async def test_a_missing_account_does_not_match_an_expected_token(self, store: TokenStore) -> None:
        assert not await store.acquire_lease(APPID, "a", expected="T1", now=NOW, ttl=LEASE)
        assert await store.load(APPID) is None
        assert await store.acquire_lease(APPID, "a", expected=None, now=NOW, ttl=LEASE)

    async def test_release_frees_the_lease_for_its_holder_only(self, store: TokenStore) -> None:
        await self._stored(store, "T1")
        assert await store.acquire_lease(APPID, "a", expected="T1", now=NOW, ttl=LEASE)
        await store.release_lease(APPID, "b")
        assert not await store.acquire_lease(APPID, "c", expected="T1", now=NOW, ttl=LEASE)

        await store.release_lease(APPID, "a")
        assert await store.load(APPID) == _token("T1")  # the token stays
        assert await store.acquire_lease(APPID, "c", expected="T1", now=NOW, ttl=LEASE)

    @pytest.mark.parametrize("replaced_elsewhere", [True, False])
    async def test_clients_sharing_the_store_refresh_a_rejected_token_once(
        self, store: TokenStore, replaced_elsewhere: bool
    ) -> None:
        """Five processes' clients, all holding a token the platform has since revoked: either another
        deployment already has its replacement (normal mode returns it) or the platform still hands
        the revoked one out (one forced refresh)."""
        platform = _Platform()
        revoked: set[str] = set()

        async def handle(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.001)
            if request.url.path == "/cgi-bin/stable_token":
                platform.issued += 1
                if json.loads(request.content)["force_refresh"]:
                    platform.forced += 1
                    platform.current = f"T{platform.issued}"
                return httpx.Response(200, json={"access_token": platform.current, "expires_in": 7200})
            token = request.url.params["access_token"]
            if token != platform.current or token in revoked:
                return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
            return httpx.Response(200, json={"subscribe": 1, "openid": "o1"})

        config = WeChatApiConfig(token_poll_interval=0.01)
        clients = [
            WeChatClient(APPID, "secret", token_store=store, config=config, transport=httpx.MockTransport(handle))
            for _ in range(5)
        ]
        try:
            for client in clients:
                await client.user_info("o1")
            if replaced_elsewhere:
                platform.current = "REPLACED-ELSEWHERE"
            else:
                revoked.add(platform.current)

            infos = await asyncio.gather(*(client.user_info("o1") for client in clients for _ in range(3)))
        finally:
            for client in clients:
                await client.aclose()

        assert {info.openid for info in infos} == {"o1"}
        # One refresh for all fifteen calls: a normal fetch, plus a forced one only when it returned
        # the revoked token again.
        assert platform.forced == (0 if replaced_elsewhere else 1)
        assert platform.issued == (2 if replaced_elsewhere else 3)


class TestMemoryTokenStore(TokenStoreContract):
    @pytest.fixture
    def store(self) -> TokenStore:
        return MemoryTokenStore()


@pytest.mark.integration
class TestMongoTokenStore(TokenStoreContract):
    @pytest.fixture
    async def store(self, database: Any) -> TokenStore:
        await ensure_indexes(database, ACCESS_TOKEN_INDEXES)
        return MongoTokenStore(database)

    async def test_one_document_per_account_with_its_index(self, store: TokenStore, database: Any) -> None:
        await self._stored(store, "T1")
        assert await store.acquire_lease(APPID, "a", expected="T1", now=NOW, ttl=LEASE)

        doc = await database[ACCESS_TOKENS].find_one({"_id": APPID})
        assert doc["token"] == "T1"
        assert doc["expires_at"] == NOW + timedelta(hours=2)
        assert doc["lease_holder"] == "a"
        assert doc["lease_expires_at"] == NOW + timedelta(seconds=LEASE)
        assert await database[ACCESS_TOKENS].count_documents({}) == 1
        names = [index["name"] async for index in await database[ACCESS_TOKENS].list_indexes()]
        assert "expires_at" in names
        await ensure_indexes(database, ACCESS_TOKEN_INDEXES)  # idempotent at the next start-up
