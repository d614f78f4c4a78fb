"""Where the gateway finds an account: settings (``WECHAT_ACCOUNTS``) first, then MongoDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.adapters.cache import RefreshingCache
from services.gateway.domain.inbound import AccountKeys
from services.gateway.service_layer.ports import AccountDirectory
from shared.observability import get_logger
from shared.settings import Environment
from shared.storage import IndexSpec
from shared.wechat import Mode, WeChatAccount, account_problems

log = get_logger(__name__)

ACCOUNTS = "wechat_accounts"
INDEXES = (IndexSpec(ACCOUNTS, (("appid", 1),), name="appid", unique=True),)


def keys_of(account: WeChatAccount) -> AccountKeys:
    previous = account.previous_encoding_aes_key
    return AccountKeys.build(
        account.appid,
        account.token.get_secret_value(),
        account.encoding_aes_key.get_secret_value(),
        previous.get_secret_value() if previous else None,
        accepts_plaintext=account.mode is not Mode.SAFE,
    )


class StaticAccountDirectory:
    """Accounts from settings; their ciphers are built once, not per request."""

    def __init__(self, accounts: list[WeChatAccount]) -> None:
        self._keys = {account.appid: keys_of(account) for account in accounts}

    async def find(self, appid: str) -> AccountKeys | None:
        return self._keys.get(appid)


class MongoAccountDirectory:
    """Accounts stored in MongoDB (same fields as ``WECHAT_ACCOUNTS``), cached briefly.

    Misses are cached too (shorter), so a flood of pushes for an unknown appid costs no queries; the
    cache holds at most ``max_entries`` accounts, least recently used forgotten first. A stored account
    must pass the checks a configured one passes (``account_problems``); one that does not is skipped
    with a logged reason, as if it were not there.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any],
        *,
        ttl_seconds: float = 30.0,
        miss_ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
        environment: Environment = Environment.DEVELOPMENT,
    ) -> None:
        self._collection = database[ACCOUNTS]
        self._environment = environment
        self._cache: RefreshingCache[AccountKeys | None] = RefreshingCache(
            self._load,
            ttl=lambda keys: ttl_seconds if keys else miss_ttl_seconds,
            name="accounts",
            stale_ok=lambda keys: keys is not None,  # an appid unknown a moment ago may be known now
            max_entries=max_entries,
            clock=clock,
        )

    async def find(self, appid: str) -> AccountKeys | None:
        return await self._cache.get(appid)

    async def _load(self, appid: str) -> AccountKeys | None:
        document = await self._collection.find_one({"appid": appid}, {"_id": 0})
        return self._usable(appid, document) if document else None

    def _usable(self, appid: str, document: dict[str, Any]) -> AccountKeys | None:
        try:
            account = WeChatAccount.model_validate(document)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors(include_input=False)})
            log.warning("stored account skipped: invalid fields", appid=appid, fields=fields)
            return None
        problems = account_problems(account, self._environment)
        if problems:
            log.warning("stored account skipped", appid=appid, problems=problems)
            return None
        return keys_of(account)


class ChainedAccountDirectory:
    def __init__(self, *directories: AccountDirectory) -> None:
        self._directories = directories

    async def find(self, appid: str) -> AccountKeys | None:
        for directory in self._directories:
            keys = await directory.find(appid)
            if keys is not None:
                return keys
        return None
