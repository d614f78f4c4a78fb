from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr

from shared.maternal_infant import DEFAULT_TAXONOMY
from shared.wechat import AccountsSettings
from shared.wechat_client import WeChatApiConfig


class SegmentsSettings(AccountsSettings):
    service_name: str = "segments"
    #: The platform's taxonomy (the one profiles tag with): rules may only name its tags, and summaries use its names.
    taxonomy_path: Path = DEFAULT_TAXONOMY
    #: The WeChat API (the simulator locally): the push worker sends through it.
    wechat_api: WeChatApiConfig = Field(default_factory=WeChatApiConfig)
    #: Where members' browsers reach the click redirect (the public URL of segments-public).
    public_base_url: str = "http://127.0.0.1:8014"
    #: Key of the signed click links; placeholders refused outside development.
    click_link_secret: SecretStr = SecretStr("changethis")
    #: Days a click link works after its push was sent (the expiry is inside the signed link).
    click_link_days: int = Field(default=90, ge=1, le=3650)
    #: Hosts pushed links may lead to (JSON list, lower case; a host allows its subdomains). A push
    #: linking anywhere else is refused (422) and such a link, even signed, is not followed. Empty: any
    #: http(s) host; set it in production.
    click_link_domains: list[str] = Field(default_factory=list)
    #: Largest API request body (rules and pushes are small JSON): larger ones get 413.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: Default frequency caps per member across pushes (a push may set its own).
    cap_per_day: int = Field(default=1, ge=1, le=50)
    #: ... and per week.
    cap_per_week: int = Field(default=3, ge=1, le=200)
    #: Default quiet hours, Beijing time (a push may set its own or none): nothing is sent in them.
    quiet_start: time | None = time(22, 0)
    #: ... until this time (empty with QUIET_START empty: no quiet hours).
    quiet_end: time | None = time(8, 0)
    #: The pace per send API (customer-service, template, subscription) of each account, shared by every
    #: worker process (``SEND_LIMIT_SHARED``). The platform states daily quotas for these, not per-minute
    #: limits (45009 stops a push, 45011 is waited out): this is our own ceiling.
    #: ``WECHAT_API__RATE_LIMITS`` entries for an API win over it.
    send_rate_per_second: int = Field(default=2_500, ge=1, le=100_000)
    #: Worker processes share each account's send pace through MongoDB (leases of slots, one round trip
    #: per lease); false: each process keeps its own (the pace is then per process).
    send_limit_shared: bool = True
    #: Members the worker decides and records per round trip to MongoDB.
    dispatch_chunk: int = Field(default=500, ge=1, le=5000)
    #: Sends in flight at once (the WeChat client's rate limiter still paces them).
    dispatch_concurrency: int = Field(default=64, ge=1, le=1024)
    #: Retries of a send that failed transiently (busy platform, network), with doubling backoff.
    send_retries: int = Field(default=3, ge=0, le=10)
    #: Seconds before the first such retry.
    send_retry_seconds: float = Field(default=0.5, gt=0, le=60)
    #: Openids per frozen-audience document.
    audience_chunk: int = Field(default=10_000, ge=100, le=50_000)
    #: How often the worker looks for pushes to send and the API for pushes to freeze.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    #: The API re-reads its copy of campaign participation (kept by the worker) this often.
    campaign_refresh_seconds: float = Field(default=60.0, gt=0)
    #: The API re-reads profiles written lately this often, in case a profile.changed event was lost.
    sweep_seconds: float = Field(default=60.0, gt=0)
    #: Beijing hour of the daily rebuild of the index (weights fade, stages move on).
    rebuild_hour: int = Field(default=4, ge=0, le=23)
    #: Subscription-message templates that are long-term (长期订阅: the platform's template list says so):
    #: a member who accepted one may be sent any number of its messages; any other template allows one
    #: message per accepted popup. JSON list of template ids.
    subscription_long_term_templates: list[str] = Field(default_factory=list)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8104, ge=0, le=65535)
