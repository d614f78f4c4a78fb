"""The public face of identity records: what an API answer or a CLI line may show. Never a hash."""

from __future__ import annotations

from typing import Any

from shared.identity import ApiToken, AuditEntry, Grant, Operator, Session

__all__ = ["audit_view", "operator_view", "session_view", "token_view"]


def operator_view(operator: Operator, grants: frozenset[Grant]) -> dict[str, Any]:
    return {
        "id": operator.id,
        "name": operator.name,
        "kind": operator.kind,
        "disabled": operator.disabled,
        "created_at": operator.created_at,
        "grants": [{"role": g.role.value, "appid": g.appid} for g in sorted(grants)],
    }


def token_view(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "operator_id": token.operator_id,
        "label": token.label,
        "scopes": None if token.scopes is None else sorted(s.value for s in token.scopes),
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def session_view(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "operator_id": session.operator_id,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "address": session.address,
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "credential_id": entry.credential_id,
        "appid": entry.appid,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
        "address": entry.address,
        "request_id": entry.request_id,
    }
