from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class MembersSettings(ServiceSettings):
    service_name: str = "members"
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8101, ge=0, le=65535)
