from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


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
