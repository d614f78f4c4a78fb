from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    #: Sign-in and operator bodies are small; anything bigger is refused before parsing.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
