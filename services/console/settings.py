from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import ServiceSettings
from shared.wechat import APPID_PATTERN

_URL = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/.*)?$", max_length=500)]


class OfficialAccount(BaseModel):
    """An account the console offers in its switcher (no credentials: the console never calls WeChat)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The shape every service checks an account's appid against.
    appid: str = Field(min_length=1, max_length=64, pattern=f"^{APPID_PATTERN}$")
    name: str = Field(default="", max_length=64)


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    #: The operator APIs the console calls as the signed-in operator: identity-api, ...
    identity_api_url: _URL = "http://127.0.0.1:8005"
    #: ... campaigns-api, ...
    campaigns_api_url: _URL = "http://127.0.0.1:8002"
    #: ... members-api, ...
    members_api_url: _URL = "http://127.0.0.1:8001"
    #: ... profiles-api, ...
    profiles_api_url: _URL = "http://127.0.0.1:8003"
    #: ... segments-api, ...
    segments_api_url: _URL = "http://127.0.0.1:8004"
    #: ... analytics, ...
    analytics_api_url: _URL = "http://127.0.0.1:8007"
    #: ... and brands.
    brands_api_url: _URL = "http://127.0.0.1:8008"
    #: The local WeChat simulator, linked from pages in development (members' inboxes); empty: no links.
    wechat_sim_url: Annotated[str, Field(pattern=r"^(https?://\S+)?$", max_length=500)] = ""
    #: JSON list ``[{"appid": "wx...", "name": "贝贝母婴"}]``: the switcher's accounts for operators
    #: granted every account ("*"); an operator granted some accounts sees those, named from here.
    official_accounts: Annotated[list[OfficialAccount], NoDecode] = Field(default_factory=list)
    #: How long one operator-API call may take before the page says the service is unavailable.
    api_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: Uploads (poster templates, coupon CSVs) the console passes on; the APIs apply their own limits.
    max_body_bytes: int = Field(default=12 * 1024 * 1024, ge=1024)

    @field_validator("official_accounts", mode="before")
    @classmethod
    def _decode_accounts(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"OFFICIAL_ACCOUNTS is not valid JSON: {exc.msg}") from None
        return value
