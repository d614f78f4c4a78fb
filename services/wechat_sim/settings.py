from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from services.wechat_sim.domain.limits import DEFAULT_DAILY_QUOTAS, DEFAULT_MINUTE_LIMITS
from shared.wechat import AccountsSettings, InvalidAesKey, MessageCrypto, Mode


class SimAccountOptions(BaseModel):
    """Sim-only settings of one account (``WECHAT_SIM_OPTIONS``, keyed by appid)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Where pushes go; ``{appid}`` is filled in. Default: the settings' ``default_gateway_url``.
    gateway_url: str | None = None
    mode: Mode = Mode.PLAINTEXT
    #: The account's original id (``gh_…``), the ToUserName of every push. Default: derived from appid.
    original_id: str | None = Field(default=None, pattern=r"^gh_[0-9A-Za-z_]{1,40}$")


def _decode_json(value: object, name: str) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not valid JSON: {exc.msg}") from None
    return value


class WeChatSimSettings(AccountsSettings):
    """The simulator's settings. Environment variables are the field names in upper case; the hosted
    accounts are ``WECHAT_ACCOUNTS``, the same JSON the services read."""

    service_name: str = "wechat-sim"
    #: ``{"<appid>": {"gateway_url": ..., "mode": "plaintext|compatible|safe", "original_id": "gh_..."}}``
    wechat_sim_options: Annotated[dict[str, SimAccountOptions], NoDecode] = Field(default_factory=dict)
    #: Where an account's pushes go unless its options say otherwise (``{appid}`` is filled in).
    default_gateway_url: str = "http://127.0.0.1:8000/wechat/{appid}"
    #: How members reach the simulator (PicUrl of member images, QR image links).
    public_url: str = "http://127.0.0.1:8200"
    #: What QR codes encode, followed by a per-ticket code.
    qr_url_base: str = "http://weixin.qq.com/q/"

    #: How long an access token lives ...
    token_ttl_seconds: int = Field(default=7200, ge=60)
    #: ... and how long the previous one keeps working after a new one is issued.
    token_grace_seconds: int = Field(default=300, ge=0)
    #: ``stable_token`` with ``force_refresh``: at most this many a day ...
    stable_token_force_refresh_daily: int = Field(default=20, ge=1)
    #: ... and this many seconds apart.
    stable_token_force_refresh_interval_seconds: int = Field(default=30, ge=0)
    #: Calls per platform day, by API path under /cgi-bin; merged over the defaults (reference §6).
    daily_quotas: Annotated[dict[str, int], NoDecode] = Field(default_factory=lambda: dict(DEFAULT_DAILY_QUOTAS))
    #: Calls per clock minute, by API path; merged over the defaults.
    minute_limits: Annotated[dict[str, int], NoDecode] = Field(default_factory=lambda: dict(DEFAULT_MINUTE_LIMITS))
    #: Calls per clock second, by API path (JSON; none by default): an account's pace to measure
    #: senders against (45011 past it; ``GET /sim/accounts/{appid}/calls`` reports each second).
    second_limits: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)

    #: Customer-service messages allowed after a member's message, and for how long.
    cs_message_window_count: int = Field(default=5, ge=0)
    #: ... (the window after a member's message).
    cs_message_window_seconds: int = Field(default=48 * 3600, ge=1)
    #: ... after a follow, QR scan or menu click.
    cs_event_window_count: int = Field(default=3, ge=0)
    #: ... (the window after such an event).
    cs_event_window_seconds: int = Field(default=60, ge=1)
    #: Mass sends a member may receive per month.
    mass_monthly_limit: int = Field(default=4, ge=0)

    #: User tags an account may create ...
    tags_per_account: int = Field(default=100, ge=1)
    #: ... a member may carry ...
    tags_per_member: int = Field(default=20, ge=1)
    #: ... members tagged per call ...
    tags_per_batch: int = Field(default=50, ge=1)
    #: ... and characters in a tag's name.
    tag_name_max_chars: int = Field(default=30, ge=1)

    #: Largest upload per media type: image, ...
    media_image_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    #: ... voice, ...
    media_voice_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1)
    #: ... video ...
    media_video_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    #: ... and thumbnail.
    media_thumb_max_bytes: int = Field(default=64 * 1024, ge=1)
    #: How long temporary media stay.
    media_ttl_seconds: int = Field(default=3 * 86_400, ge=1)

    #: A temporary QR code's lifetime when the request names none.
    qr_default_expire_seconds: int = Field(default=60, ge=1, le=2_592_000)
    #: Openids per page of ``user/get``.
    user_get_page_size: int = Field(default=10_000, ge=1, le=10_000)

    #: The platform waits this long for the account's server to answer a push ...
    push_timeout_seconds: float = Field(default=5.0, gt=0)
    #: ... and tries this many times in all (timeouts, connection errors and 5xx are retried).
    push_attempts: int = Field(default=3, ge=1, le=10)
    #: Job-finish pushes (template, mass) follow the API call after this delay.
    job_push_delay_seconds: float = Field(default=1.0, ge=0)

    @field_validator("wechat_sim_options", mode="before")
    @classmethod
    def _decode_options(cls, value: object) -> object:
        return _decode_json(value, "WECHAT_SIM_OPTIONS") or {}

    @field_validator("daily_quotas", mode="before")
    @classmethod
    def _merge_daily(cls, value: object) -> object:
        return _merge(DEFAULT_DAILY_QUOTAS, _decode_json(value, "DAILY_QUOTAS"))

    @field_validator("minute_limits", mode="before")
    @classmethod
    def _merge_minute(cls, value: object) -> object:
        return _merge(DEFAULT_MINUTE_LIMITS, _decode_json(value, "MINUTE_LIMITS"))

    @field_validator("second_limits", mode="before")
    @classmethod
    def _decode_second(cls, value: object) -> object:
        return _decode_json(value, "SECOND_LIMITS") or {}

    @field_validator("default_gateway_url", "public_url", "qr_url_base")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _check_sim_options(self) -> WeChatSimSettings:
        appids = [account.appid for account in self.wechat_accounts]  # unique: AccountsSettings checked
        unknown = sorted(set(self.wechat_sim_options) - set(appids))
        if unknown:
            raise ValueError(f"WECHAT_SIM_OPTIONS names accounts not in WECHAT_ACCOUNTS: {', '.join(unknown)}")
        for account in self.wechat_accounts:
            if self.options(account.appid).mode is not Mode.PLAINTEXT:
                try:
                    MessageCrypto(account.appid, account.encoding_aes_key.get_secret_value())
                except InvalidAesKey as exc:
                    raise ValueError(f"account {account.appid}: {exc}") from None
        return self

    def options(self, appid: str) -> SimAccountOptions:
        return self.wechat_sim_options.get(appid) or SimAccountOptions()

    def gateway_url(self, appid: str) -> str:
        return (self.options(appid).gateway_url or self.default_gateway_url).replace("{appid}", appid)

    def original_id(self, appid: str) -> str:
        configured = self.options(appid).original_id
        return configured or "gh_" + hashlib.sha256(appid.encode()).hexdigest()[:12]


def _merge(defaults: Any, value: object) -> object:
    if value is None:
        return dict(defaults)
    if isinstance(value, dict):
        return dict(defaults) | value
    return value
