from __future__ import annotations

import json
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from shared.settings import ServiceSettings


class WeChatAccount(BaseModel):
    """One Official Account the platform serves. Field names match ``WECHAT_ACCOUNTS`` entries, which
    every service that talks to the platform reads (gateway, simulator, campaigns...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    appid: str = Field(min_length=1, max_length=64)
    token: SecretStr
    encoding_aes_key: SecretStr
    secret: SecretStr
    previous_encoding_aes_key: SecretStr | None = None


def decode_accounts(value: object) -> Any:
    """``WECHAT_ACCOUNTS`` as given in the environment (a JSON string) or already parsed."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"WECHAT_ACCOUNTS is not valid JSON: {exc.msg}") from None
    return value


def account_secrets(accounts: list[WeChatAccount]) -> list[tuple[str, str]]:
    """Every secret of ``accounts`` as ``(name, value)``, for the settings' placeholder check."""
    values = []
    for account in accounts:
        for field in ("token", "encoding_aes_key", "secret"):
            secret: SecretStr = getattr(account, field)
            values.append((f"wechat_accounts[{account.appid}].{field}", secret.get_secret_value()))
    return values


class AccountsSettings(ServiceSettings):
    """Settings of a service that holds the accounts' credentials (``WECHAT_ACCOUNTS``, a JSON list of
    :class:`WeChatAccount` objects); their secrets join the placeholder check and log redaction."""

    #: JSON list: ``[{"appid": ..., "token": ..., "encoding_aes_key": ..., "secret": ...}, ...]``
    wechat_accounts: Annotated[list[WeChatAccount], NoDecode] = Field(default_factory=list)

    @field_validator("wechat_accounts", mode="before")
    @classmethod
    def _decode_accounts(cls, value: object) -> object:
        return decode_accounts(value)

    @model_validator(mode="after")
    def _unique_appids(self) -> Self:
        appids = [account.appid for account in self.wechat_accounts]
        if len(appids) != len(set(appids)):
            raise ValueError("WECHAT_ACCOUNTS lists an appid twice")
        return self

    def secret_values(self) -> list[tuple[str, str]]:
        return super().secret_values() + account_secrets(self.wechat_accounts)
