from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from shared.maternal_infant import DEFAULT_TAXONOMY
from shared.wechat import AccountsSettings
from shared.wechat_client import WeChatApiConfig

#: Life stages, the interest families and spend tiers: what mass sends usually target.
DEFAULT_TAG_BUDGET = (
    "stage.preparing",
    "stage.pregnancy",
    "stage.pregnancy.early",
    "stage.pregnancy.mid",
    "stage.pregnancy.late",
    "stage.baby",
    "stage.baby.0_6m",
    "stage.baby.6_12m",
    "stage.child.1_3y",
    "stage.child.3y_plus",
    "interest.feeding",
    "interest.feeding.formula",
    "interest.diapers",
    "interest.care",
    "interest.health",
    "interest.maternity",
    "interest.gear",
    "interest.toys",
    "interest.clothing",
    "spend.a",
    "spend.b",
    "spend.c",
)


class ProfilesSettings(AccountsSettings):
    service_name: str = "profiles"
    #: The maternal-infant taxonomy (tags, names, parents, mall categories): JSON, read at start-up.
    taxonomy_path: Path = DEFAULT_TAXONOMY
    #: Shared with the mall: HMAC-SHA256 key of the webhook's X-Mall-Signature.
    mall_webhook_secret: SecretStr = SecretStr("changethis")
    #: Largest webhook body accepted (the bulk route takes up to 10,000 NDJSON lines).
    mall_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    #: The worker applies up to this many mall events per transaction (one read, one bulk write).
    mall_batch_size: int = Field(default=500, ge=1, le=5000)
    #: Behavioural interest halves in this many days without new signals.
    interest_half_life_days: float = Field(default=30.0, gt=0, le=3650)
    #: Mall behaviour shapes a member's tags, spend and inferred stage only once they gave the data_use
    #: consent (true), or unless they refused it (false: PIPL art. 24's right to refuse personalisation).
    mall_needs_data_use: bool = False
    #: Where members' browsers reach this service's H5 pages (the public URL of profiles-public).
    h5_base_url: str = "http://127.0.0.1:8013"
    #: Key of the signed links to the H5 pages; placeholders refused outside development.
    h5_link_secret: SecretStr = SecretStr("changethis")
    #: How long a link to the H5 pages works.
    h5_link_days: int = Field(default=7, ge=1, le=90)
    #: The message new followers get, with ``{link}`` where the H5 page's address goes.
    h5_invitation: str = '欢迎关注！花 30 秒告诉我们宝宝的情况，为您推荐合适的内容：<a href="{link}">点击填写</a>'
    #: The WeChat API (the simulator locally): the worker sends the invitation through it.
    wechat_api: WeChatApiConfig = Field(default_factory=WeChatApiConfig)
    #: Profile tags synced to WeChat user tags (for mass sends by tag), in priority order: at most 100
    #: per account, and a member gets the first 20 they qualify for.
    wechat_tag_budget: list[str] = Field(default_factory=lambda: list(DEFAULT_TAG_BUDGET), max_length=100)
    #: A tag's current weight must reach this for the member to carry the WeChat tag.
    wechat_tag_min_weight: float = Field(default=1.0, gt=0)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8103, ge=0, le=65535)
