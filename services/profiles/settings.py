from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from shared.wechat import AccountsSettings

#: The taxonomy shipped with the service; ops point TAXONOMY_PATH at their own copy to change it.
DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.json")


class ProfilesSettings(AccountsSettings):
    service_name: str = "profiles"
    #: The maternal-infant taxonomy (tags, names, parents, mall categories): JSON, read at start-up.
    taxonomy_path: Path = DEFAULT_TAXONOMY
    #: Shared with the mall: HMAC-SHA256 key of the webhook's X-Mall-Signature.
    mall_webhook_secret: SecretStr = SecretStr("changethis")
    #: Largest webhook body accepted (the bulk route takes up to 10,000 NDJSON lines).
    mall_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    #: Behavioural interest halves in this many days without new signals.
    interest_half_life_days: float = Field(default=30.0, gt=0, le=3650)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8103, ge=0, le=65535)
