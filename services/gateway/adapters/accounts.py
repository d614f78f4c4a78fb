"""Where the gateway finds an account: settings (``WECHAT_ACCOUNTS``) first, then MongoDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.domain.inbound import AccountKeys
from services.gateway.service_layer.ports import AccountDirectory
from shared.storage import IndexSpec
from shared.wechat import WeChatAccount

ACCOUNTS = "wechat_accounts"
INDEXES = (IndexSpec(ACCOUNTS, (("appid", 1),), name="appid", unique=True),)


def keys_of(account: WeChatAccount) -> AccountKeys:
    previous = account.previous_encoding_aes_key
    return AccountKeys.build(
        account.appid,
        account.token.get_secret_value(),
        account.encoding_aes_key.get_secret_value(),
        previous.get_secret_value() if previous else None,
    )


class StaticAccountDirectory:
    """Accounts from settings; their ciphers are built once, not per request."""

    def __init__(self, accounts: list[WeChatAccount]) -> None:
        self._keys = {account.appid: keys_of(account) for account in accounts}

    async def find(self, appid: str) -> AccountKeys | None:
        return self._keys.get(appid)


class MongoAccountDirectory:
    """Accounts stored in MongoDB (same fields as ``WECHAT_ACCOUNTS``), cached briefly.

    Misses are cached too (shorter), so a flood of pushes for an unknown appid costs no queries.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any],
        *,
        ttl_seconds: float = 30.0,
        miss_ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._collection = database[ACCOUNTS]
        self._ttl = ttl_seconds
        self._miss_ttl = miss_ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, AccountKeys | None]] = {}

    async def find(self, appid: str) -> AccountKeys | None:
        now = self._clock()
        cached = self._cache.get(appid)
        if cached is not None and cached[0] > now:
            return cached[1]
        document = await self._collection.find_one({"appid": appid}, {"_id": 0})
        keys = keys_of(WeChatAccount.model_validate(document)) if document else None
        self._cache[appid] = (now + (self._ttl if keys else self._miss_ttl), keys)
        return keys


class ChainedAccountDirectory:
    def __init__(self, *directories: AccountDirectory) -> None:
        self._directories = directories

    async def find(self, appid: str) -> AccountKeys | None:
        for directory in self._directories:
            keys = await directory.find(appid)
            if keys is not None:
                return keys
        return None
