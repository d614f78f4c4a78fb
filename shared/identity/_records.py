"""What the identity stores keep: operators, sessions, API tokens and audit entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.identity._model import IdentityKind, Permission

__all__ = ["ApiToken", "AuditEntry", "AuditQuery", "Operator", "Session"]


@dataclass(frozen=True)
class Operator:
    """A person (``kind="operator"``) or an integration (``"service"``, token-only, no password)."""

    id: str
    name: str
    kind: IdentityKind
    password_hash: str | None
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True)
class Session:
    """A signed-in browser. ``digest`` is SHA-256 of the cookie's secret; ``id`` is what lists show."""

    id: str
    digest: str
    operator_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    address: str | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class ApiToken:
    """An API token's record; the secret itself is shown once and only its SHA-256 is kept."""

    id: str
    digest: str
    operator_id: str
    label: str
    scopes: frozenset[Permission] | None
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which object, when and from where. Never a secret."""

    at: datetime
    actor_id: str | None
    actor_name: str | None
    action: str
    object_type: str
    object_id: str | None = None
    appid: str | None = None
    credential_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    address: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class AuditQuery:
    """Filters over the audit log; ``appids`` limits to the accounts the reader may see (None: all)."""

    actor_id: str | None = None
    appid: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    appids: frozenset[str] | None = field(default=None)
    limit: int = 100
