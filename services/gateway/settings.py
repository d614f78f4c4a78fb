from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from shared.settings import ServiceSettings
from shared.wechat import WeChatAccount, account_secrets, decode_accounts


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    #: JSON list: ``[{"appid": ..., "token": ..., "encoding_aes_key": ..., "secret": ...}, ...]``
    wechat_accounts: Annotated[list[WeChatAccount], NoDecode] = Field(default_factory=list)
    #: Larger bodies are refused before parsing; real pushes are a few KB.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Pushes whose signed timestamp is further than this from now are refused as replays.
    replay_window_seconds: int = Field(default=300, ge=10, le=3600)
    #: Where retries are recognised: ``memory`` is exact for one gateway process; run several replicas
    #: with ``mongodb`` so a retry that reaches another replica is recognised too.
    push_ledger: Literal["memory", "mongodb"] = "memory"
    #: Also look accounts up in MongoDB (collection ``wechat_accounts``) when not in WECHAT_ACCOUNTS.
    accounts_from_mongodb: bool = True

    @field_validator("wechat_accounts", mode="before")
    @classmethod
    def _decode_accounts(cls, value: object) -> object:
        return decode_accounts(value)

    @model_validator(mode="after")
    def _unique_appids(self) -> GatewaySettings:
        appids = [account.appid for account in self.wechat_accounts]
        if len(appids) != len(set(appids)):
            raise ValueError("WECHAT_ACCOUNTS lists an appid twice")
        return self

    def secret_values(self) -> list[tuple[str, str]]:
        return super().secret_values() + account_secrets(self.wechat_accounts)
