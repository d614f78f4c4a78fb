from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from shared.settings import ServiceSettings


class BrandsSettings(ServiceSettings):
    """The brands API and worker. They hold no WeChat credentials: a project names its account by appid
    (the console offers the platform's accounts), and nothing here talks to WeChat."""

    service_name: str = "brands"
    #: A brand with nothing happening (delivery to one of its projects, a payment, a deal change, an edit)
    #: for this many days is flagged for hand-over (env ``BRANDS_INACTIVE_DAYS``).
    brands_inactive_days: int = Field(default=30, ge=1, le=3650)
    #: Spend (payments received in the last 12 months, in yuan) from which a brand is tier A, and B.
    tier_a_yuan: int = Field(default=500_000, ge=1)
    #: ... tier B (below it: C).
    tier_b_yuan: int = Field(default=100_000, ge=1)
    #: Projects ending within this many days of the business view's date are "renewals coming up".
    renewal_window_days: int = Field(default=30, ge=1, le=366)
    #: Largest API request body (small JSON).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    #: Records the worker folds per transaction.
    delivery_batch_size: int = Field(default=500, ge=1, le=5000)
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8108, ge=0, le=65535)

    @model_validator(mode="after")
    def _tiers_in_order(self) -> Self:
        if self.tier_b_yuan > self.tier_a_yuan:
            raise ValueError("TIER_B_YUAN cannot be above TIER_A_YUAN")
        return self
