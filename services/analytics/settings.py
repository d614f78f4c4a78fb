from __future__ import annotations

from pydantic import Field

from shared.wechat import AccountsSettings


class AnalyticsSettings(AccountsSettings):
    # AccountsSettings: the API answers 404 for an account not in WECHAT_ACCOUNTS, like every service.
    service_name: str = "analytics"
    #: The rollups live in their own database (``MONGODB_DATABASE`` still overrides it, e.g. in tests).
    mongodb_database: str = "analytics"
    #: The worker folds up to this many events per transaction (one claim, one read, one write per rollup).
    rollup_batch_size: int = Field(default=500, ge=1, le=5000)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8107, ge=0, le=65535)
