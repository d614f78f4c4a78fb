"""Where the gateway finds an account's webhook token."""

from __future__ import annotations

from typing import Protocol

from services.gateway.settings import WeChatAccount


class AccountDirectory(Protocol):
    async def find(self, appid: str) -> WeChatAccount | None: ...


class StaticAccountDirectory:
    """Accounts from settings (``WECHAT_ACCOUNTS``)."""

    def __init__(self, accounts: list[WeChatAccount]) -> None:
        self._accounts = {account.appid: account for account in accounts}

    async def find(self, appid: str) -> WeChatAccount | None:
        return self._accounts.get(appid)
