from __future__ import annotations

from pydantic import Field

from shared.wechat import AccountsSettings


class AnalyticsSettings(AccountsSettings):
    # AccountsSettings: the API answers 404 for an account not in WECHAT_ACCOUNTS, like every service.
    service_name: str = "analytics"
    #: The dashboards API keeps the rollups of settled days (over 3 days old, 35 in a campaign's scope) it
    #: has read this long, so a year's range reads only its recent days from MongoDB; 0: read everything.
    dashboard_cache_seconds: float = Field(default=600.0, ge=0, le=86_400)
    #: The worker folds up to this many events per transaction (one claim, one read, one write per rollup).
    rollup_batch_size: int = Field(default=500, ge=1, le=5000)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8107, ge=0, le=65535)
