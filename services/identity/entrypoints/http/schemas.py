"""Request and response bodies of the identity API. Passwords only ever come in; hashes never go out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)


class PasswordChangeIn(BaseModel):
    current: SecretStr = Field(min_length=1, max_length=1024)
    new: SecretStr = Field(min_length=1, max_length=1024)


class GrantOut(BaseModel):
    role: str
    appid: str


class OperatorOut(BaseModel):
    id: str
    name: str
    kind: Literal["operator", "service"]
    disabled: bool
    created_at: datetime
    grants: list[GrantOut]


class MeOut(BaseModel):
    id: str
    name: str
    kind: Literal["operator", "service"]
    grants: list[GrantOut]
    session_id: str | None
    token_id: str | None
    scopes: list[str] | None
    #: For a session: the token cookie-authenticated writes send in ``X-CSRF-Token``.
    csrf_token: str | None = None


class LoginOut(BaseModel):
    operator: MeOut
    csrf_token: str
    idle_timeout_seconds: int
    expires_at: datetime


class OperatorIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["operator", "service"] = "operator"
    #: Required for people; integrations (``service``) sign in with tokens only.
    password: SecretStr | None = Field(default=None, max_length=1024)


class GrantIn(BaseModel):
    role: str = Field(min_length=1, max_length=32)
    appid: str = Field(min_length=1, max_length=64)


class TokenIn(BaseModel):
    operator: str = Field(min_length=1, max_length=64, description="operator id or name")
    label: str = Field(min_length=1, max_length=100)
    scopes: list[str] | None = Field(default=None, max_length=64, description="permissions; none: all of the grants")
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class TokenOut(BaseModel):
    id: str
    operator_id: str
    label: str
    scopes: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    #: The whole token: shown here once, never again (only its hash is kept).
    token: str


class SessionOut(BaseModel):
    id: str
    operator_id: str
    created_at: datetime
    last_seen_at: datetime
    address: str | None


class AuditEntryOut(BaseModel):
    at: datetime
    actor_id: str | None
    actor_name: str | None
    credential_id: str | None
    appid: str | None
    action: str
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    address: str | None
    request_id: str | None
