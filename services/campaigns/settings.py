from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.wechat import AccountsSettings
from shared.wechat_client import WeChatApiConfig


class CampaignsSettings(AccountsSettings):
    service_name: str = "campaigns"
    #: Where the platform's API is: the real one in production, the simulator locally.
    wechat_api: WeChatApiConfig = Field(default_factory=WeChatApiConfig)
    #: Rendered posters are cached here per member, campaign and template version.
    poster_cache_dir: Path = Path(".scrm/posters")
    #: Processes that render posters (off the event loop).
    poster_workers: int = Field(default=2, ge=1, le=32)
    #: Largest poster template image accepted.
    max_template_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8102, ge=0, le=65535)
