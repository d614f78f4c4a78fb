from __future__ import annotations

import abc
import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from shared.observability import get_logger
from shared.storage import IndexSpec, StorageError, StorageUnavailable
from shared.wechat_client._clock import Clock
from shared.wechat_client._config import WeChatApiConfig
from shared.wechat_client._errors import TokenUnavailable

__all__ = [
    "ACCESS_TOKENS",
    "ACCESS_TOKEN_INDEXES",
    "AccessToken",
    "MemoryTokenStore",
    "MongoTokenStore",
    "TokenKeeper",
    "TokenStore",
    "new_holder_id",
]

log = get_logger(__name__)

#: One document per account: ``{_id: appid, token, expires_at, lease_holder, lease_expires_at,
#: refreshed_by}``.
ACCESS_TOKENS = "wechat_access_tokens"

#: Every read and write goes by ``_id`` (the appid), unique by construction. ``expires_at`` serves the
#: operator's question "whose token is about to lapse?" (a stuck refresher shows up there first).
ACCESS_TOKEN_INDEXES = (IndexSpec(ACCESS_TOKENS, (("expires_at", 1),), name="expires_at"),)


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it stops working. The value never appears in a repr."""

    value: str = field(repr=False)
    expires_at: datetime

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()


def new_holder_id() -> str:
    """A lease holder name unique to one client object, readable in the database (host, pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TokenStore(abc.ABC):
    """Where the access token of each account lives, once for every process.

    The platform keeps one valid token per account (a refresh invalidates the previous one), so the
    processes of a deployment share it, and at most one of them refreshes it at a time: the one holding
    the account's *refresh lease*. The lease carries its own expiry, so a holder that dies mid-refresh
    blocks the others for one lease at most.

    Time is always the caller's (``now``), never the store's: the adapters stay deterministic under test,
    and every process compares expiries on the same scale as it wrote them.
    """

    @abc.abstractmethod
    async def load(self, appid: str) -> AccessToken | None:
        """The stored token, or None if the account never had one."""

    @abc.abstractmethod
    async def acquire_lease(self, appid: str, holder: str, *, expected: str | None, now: datetime, ttl: float) -> bool:
        """Take the refresh lease for ``ttl`` seconds, atomically, if and only if

        - nobody holds a live lease (absent, or expired at ``now``: a crashed holder is taken over), and
        - the stored token value is still ``expected`` (None: no token stored yet).

        The second condition is the compare-and-swap that makes one refresh out of many processes
        seeing the same stale token: once one of them has stored a new token, the others' ``expected``
        no longer matches, and they use the new token instead of refreshing again.
        """

    @abc.abstractmethod
    async def store(self, appid: str, holder: str, token: AccessToken) -> bool:
        """Save a refreshed token and drop the lease, if ``holder`` still holds it.

        False when another process took the lease over meanwhile (ours had expired); the token is then
        not stored, and the other process's refresh wins.
        """

    @abc.abstractmethod
    async def release_lease(self, appid: str, holder: str) -> None:
        """Drop the lease without a new token (the refresh failed), so others need not wait it out."""


@dataclass
class _Entry:
    token: AccessToken | None = None
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None


class MemoryTokenStore(TokenStore):
    """:class:`TokenStore` in a dict, with the same semantics: for unit tests and single-process use.

    Each method runs without awaiting, so it is atomic within one event loop.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    async def load(self, appid: str) -> AccessToken | None:
        entry = self._entries.get(appid)
        return entry.token if entry else None

    async def acquire_lease(self, appid: str, holder: str, *, expected: str | None, now: datetime, ttl: float) -> bool:
        entry = self._entries.get(appid)
        if entry is None:
            if expected is not None:
                return False
            entry = self._entries[appid] = _Entry()
        current = entry.token.value if entry.token else None
        lease_live = entry.lease_expires_at is not None and entry.lease_expires_at > now
        if lease_live or current != expected:
            return False
        entry.lease_holder = holder
        entry.lease_expires_at = now + timedelta(seconds=ttl)
        return True

    async def store(self, appid: str, holder: str, token: AccessToken) -> bool:
        entry = self._entries.get(appid)
        if entry is None or entry.lease_holder != holder:
            return False
        entry.token = token
        entry.lease_holder = entry.lease_expires_at = None
        return True

    async def release_lease(self, appid: str, holder: str) -> None:
        entry = self._entries.get(appid)
        if entry is not None and entry.lease_holder == holder:
            entry.lease_holder = entry.lease_expires_at = None


class MongoTokenStore(TokenStore):
    """:class:`TokenStore` in the ``wechat_access_tokens`` collection, one document per appid.

    The lease is taken with one ``find_one_and_update`` whose filter states both conditions (lease free,
    token as expected); for an account without a document it upserts, and of two racing upserts the
    loser gets a duplicate ``_id`` and reports the lease as taken. Create
    :data:`ACCESS_TOKEN_INDEXES` at start-up with :func:`shared.storage.ensure_indexes`.

    The token is stored as is: it is a bearer credential good for two hours, so the database holding it
    deserves the same protection as the services' other secrets.
    """

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._collection: AsyncCollection[Any] = database[ACCESS_TOKENS]

    async def load(self, appid: str) -> AccessToken | None:
        try:
            doc = await self._collection.find_one({"_id": appid}, {"token": 1, "expires_at": 1})
        except PyMongoError as exc:
            raise _translate(exc) from exc
        if doc is None or not doc.get("token"):
            return None
        return AccessToken(doc["token"], _aware(doc["expires_at"]))

    async def acquire_lease(self, appid: str, holder: str, *, expected: str | None, now: datetime, ttl: float) -> bool:
        lease_free = {"$or": [{"lease_expires_at": None}, {"lease_expires_at": {"$lte": now}}]}
        try:
            doc = await self._collection.find_one_and_update(
                {"_id": appid, "token": expected, **lease_free},
                {"$set": {"lease_holder": holder, "lease_expires_at": now + timedelta(seconds=ttl)}},
                projection={"_id": 1},
                # Only a first refresh may create the document; with an ``expected`` token, a missing
                # document means somebody deleted it, and the lease is refused like any mismatch.
                upsert=expected is None,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # another process created the document first, and holds the lease
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return doc is not None

    async def store(self, appid: str, holder: str, token: AccessToken) -> bool:
        try:
            result = await self._collection.update_one(
                {"_id": appid, "lease_holder": holder},
                {
                    "$set": {
                        "token": token.value,
                        "expires_at": token.expires_at,
                        "refreshed_by": holder,
                        "lease_holder": None,
                        "lease_expires_at": None,
                    }
                },
            )
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return result.matched_count == 1

    async def release_lease(self, appid: str, holder: str) -> None:
        try:
            await self._collection.update_one(
                {"_id": appid, "lease_holder": holder},
                {"$set": {"lease_holder": None, "lease_expires_at": None}},
            )
        except PyMongoError as exc:
            raise _translate(exc) from exc


def _aware(value: datetime) -> datetime:
    # A client built without tz_aware returns naive datetimes; MongoDB stores UTC either way.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _translate(exc: PyMongoError) -> StorageError:
    if isinstance(exc, ConnectionFailure):
        return StorageUnavailable(f"MongoDB unreachable: {type(exc).__name__}")
    return StorageError(f"{type(exc).__name__} on {ACCESS_TOKENS}")


class TokenKeeper:
    """The access token of one account, as one client object sees it.

    In the process, one ``asyncio.Lock`` makes concurrent callers wait for a single refresh; across
    processes, the store's lease does the same. ``fetch(force_refresh)`` calls ``stable_token``.
    """

    def __init__(
        self,
        appid: str,
        store: TokenStore,
        fetch: Callable[[bool], Awaitable[AccessToken]],
        *,
        config: WeChatApiConfig,
        clock: Clock,
        holder: str | None = None,
    ) -> None:
        self._appid = appid
        self._store = store
        self._fetch = fetch
        self._config = config
        self._clock = clock
        self._holder = holder or new_holder_id()
        self._lock = asyncio.Lock()
        self._cached: AccessToken | None = None

    async def token(self) -> str:
        """A token with more than the refresh margin left, refreshing first if needed."""
        cached = self._cached
        if cached is not None and self._fresh(cached):
            return cached.value
        return await self._obtain(stale=None)

    async def replace(self, stale: str) -> str:
        """A token other than ``stale``, which the platform just rejected (40001/40014/42001).

        Forces a refresh only if ``stale`` is still the stored token; if another coroutine or process
        already replaced it, their token is used.
        """
        return await self._obtain(stale=stale)

    def _fresh(self, token: AccessToken) -> bool:
        return token.seconds_left(self._clock.now()) > self._config.token_refresh_margin

    def _usable(self, token: AccessToken | None, stale: str | None) -> bool:
        return token is not None and token.value != stale and self._fresh(token)

    async def _obtain(self, *, stale: str | None) -> str:
        async with self._lock:
            if self._usable(self._cached, stale):
                assert self._cached is not None
                return self._cached.value
            deadline = self._clock.monotonic() + self._config.token_lease + self._config.token_poll_interval
            while True:
                current = await self._store.load(self._appid)
                if self._usable(current, stale):
                    assert current is not None
                    self._cached = current
                    return current.value
                expected = current.value if current else None
                if await self._store.acquire_lease(
                    self._appid, self._holder, expected=expected, now=self._clock.now(), ttl=self._config.token_lease
                ):
                    return await self._refresh(stale=stale if expected in (stale, None) else None)
                # Someone else is refreshing. A proactive refresh need not wait for it while the
                # current token still works; a rejected token must wait for its replacement.
                if stale is None and current is not None and current.seconds_left(self._clock.now()) > 0:
                    self._cached = current
                    return current.value
                if self._clock.monotonic() >= deadline:
                    raise TokenUnavailable(f"no fresh access token for {self._appid}: another process holds the lease")
                await self._clock.sleep(self._config.token_poll_interval)

    async def _refresh(self, *, stale: str | None) -> str:
        """Fetch a token in normal mode; force a new one only if the platform still hands out ``stale``.

        Normal mode first because forced refreshes are scarce (20 a day, 30 s apart) and another
        deployment sharing the account may already have replaced the rejected token: then normal mode
        returns its replacement, while a second forced refresh would be refused (45011).
        """
        force = False
        try:
            fresh = await self._fetch(False)
            if stale is not None and fresh.value == stale:
                force = True
                fresh = await self._fetch(True)
        except BaseException:
            try:
                await self._store.release_lease(self._appid, self._holder)
            except StorageError:  # the lease then simply expires; the fetch error is the one to see
                log.warning("could not release the token lease", appid=self._appid)
            raise
        if not await self._store.store(self._appid, self._holder, fresh):
            log.warning("access token refreshed after our lease was taken over", appid=self._appid)
        log.info(
            "access token refreshed",
            appid=self._appid,
            forced=force,
            valid_seconds=round(fresh.seconds_left(self._clock.now())),
        )
        self._cached = fresh
        return fresh.value
