from __future__ import annotations

import json
import re
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from shared.settings import Environment, ServiceSettings, secret_problem
from shared.wechat._push import Mode


class WeChatAccount(BaseModel):
    """One Official Account the platform serves. Field names match ``WECHAT_ACCOUNTS`` entries, which
    every service that talks to the platform reads (gateway, simulator, campaigns...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    appid: str = Field(min_length=1, max_length=64)
    token: SecretStr
    encoding_aes_key: SecretStr
    secret: SecretStr
    previous_encoding_aes_key: SecretStr | None = None
    #: The mode set in the platform's console. ``safe`` makes the gateway refuse plaintext pushes (whose
    #: body no signature covers); ``plaintext`` and ``compatible`` accept both, as before this field.
    mode: Mode = Mode.COMPATIBLE
    #: Hosts this account's pushed links may lead to (a host allows its subdomains). Empty: the
    #: service-wide list (segments' CLICK_LINK_DOMAINS).
    link_domains: tuple[str, ...] = ()


def decode_accounts(value: object) -> Any:
    """``WECHAT_ACCOUNTS`` as given in the environment (a JSON string) or already parsed."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"WECHAT_ACCOUNTS is not valid JSON: {exc.msg}") from None
    return value


_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")  # the platform's console accepts nothing else
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")
#: What an appid may look like: the platform's are ``wx`` and 16 hex digits; the shorter ones are the
#: simulator's and the tests'. The gateway's ``APPID_PATTERN`` (which appids it looks up) defaults to it.
APPID_PATTERN = r"wx[0-9A-Za-z_]{1,32}"


def account_problems(account: WeChatAccount, environment: Environment) -> list[str]:
    """Why ``account`` may not be served in ``environment`` (empty when it may), values never quoted.

    The one check of an account, for ``WECHAT_ACCOUNTS`` in every process that reads it (gateway,
    simulator, campaigns, profiles, segments, analytics) and for accounts stored in MongoDB. In every
    environment: the appid's shape (:data:`APPID_PATTERN`) and an EncodingAESKey (and a previous one
    during a rotation) of 43 letters or digits, unless the account is in ``plaintext`` mode, so a key
    the simulator could not encrypt with is refused by every service alike. Outside development also
    no placeholders and an AppSecret of at least 16 characters; in production the token must have the
    platform's format.
    """
    name = f"wechat_accounts[{account.appid}]"
    token = account.token.get_secret_value()
    aes_key = account.encoding_aes_key.get_secret_value()
    problems = []
    if not re.fullmatch(APPID_PATTERN, account.appid):
        problems.append(f"{name}.appid: expected 'wx' and 1-32 letters, digits or '_'")
    if account.mode is not Mode.PLAINTEXT:
        keys = [("encoding_aes_key", aes_key)]
        if account.previous_encoding_aes_key is not None:
            keys.append(("previous_encoding_aes_key", account.previous_encoding_aes_key.get_secret_value()))
        problems += [
            f"{name}.{field}: 43 letters or digits (an EncodingAESKey is 43 characters)"
            for field, key in keys
            if not _AES_KEY.fullmatch(key)
        ]
    problems += [
        problem
        for field, value, min_length in (("token", token, 3), ("secret", account.secret.get_secret_value(), 16))
        if (problem := secret_problem(f"{name}.{field}", value, environment, min_length=min_length))
    ]
    if environment is Environment.PRODUCTION and not _TOKEN.fullmatch(token):
        problems.append(f"{name}.token: 3-32 letters or digits")
    return problems


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

    @model_validator(mode="after")
    def _check_accounts(self) -> Self:
        for account in self.wechat_accounts:
            problems = account_problems(account, self.environment)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    def secret_values(self) -> list[tuple[str, str]]:
        return super().secret_values() + account_secrets(self.wechat_accounts)

    def min_secret_length(self, name: str) -> int:
        # The token's and key's formats are the platform's, checked by account_problems.
        if name.startswith("wechat_accounts[") and not name.endswith(".secret"):
            return 0
        return super().min_secret_length(name)
