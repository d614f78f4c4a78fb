"""The identity stores in memory (tests, the demo's quick runs): the same contract as MongoDB's."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.identity._exceptions import OperatorExists
from shared.identity._model import Grant
from shared.identity._records import ApiToken, AuditEntry, AuditQuery, Operator, Session

__all__ = ["InMemoryAuditLog", "InMemoryIdentityStore", "audit_matches"]


class InMemoryIdentityStore:
    def __init__(self) -> None:
        self.operators: dict[str, Operator] = {}
        self.grants: dict[str, set[Grant]] = {}
        self.sessions_by_id: dict[str, Session] = {}
        self.tokens_by_id: dict[str, ApiToken] = {}
        self.failures: dict[str, list[datetime]] = {}

    async def add_operator(self, operator: Operator) -> None:
        if any(o.name == operator.name for o in self.operators.values()) or operator.id in self.operators:
            raise OperatorExists(f"an operator named {operator.name!r} exists")
        self.operators[operator.id] = operator

    async def operator_by_id(self, operator_id: str) -> Operator | None:
        return self.operators.get(operator_id)

    async def operator_by_name(self, name: str) -> Operator | None:
        return next((o for o in self.operators.values() if o.name == name), None)

    async def list_operators(self) -> list[Operator]:
        return sorted(self.operators.values(), key=lambda o: o.name)

    async def set_disabled(self, operator_id: str, disabled: bool) -> bool:
        return self._update(operator_id, disabled=disabled)

    async def set_password_hash(self, operator_id: str, password_hash: str) -> bool:
        return self._update(operator_id, password_hash=password_hash)

    def _update(self, operator_id: str, **fields: object) -> bool:
        if operator_id not in self.operators:
            return False
        self.operators[operator_id] = replace(self.operators[operator_id], **fields)  # type: ignore[arg-type]
        return True

    async def add_grant(self, operator_id: str, grant: Grant) -> bool:
        held = self.grants.setdefault(operator_id, set())
        if grant in held:
            return False
        held.add(grant)
        return True

    async def remove_grant(self, operator_id: str, grant: Grant) -> bool:
        held = self.grants.get(operator_id, set())
        if grant not in held:
            return False
        held.discard(grant)
        return True

    async def grants_of(self, operator_id: str) -> frozenset[Grant]:
        return frozenset(self.grants.get(operator_id, ()))

    async def add_session(self, session: Session) -> None:
        self.sessions_by_id[session.id] = session

    async def session_by_digest(self, digest: str) -> Session | None:
        return next((s for s in self.sessions_by_id.values() if s.digest == digest), None)

    async def touch_session(self, session_id: str, at: datetime) -> None:
        if session_id in self.sessions_by_id:
            self.sessions_by_id[session_id] = replace(self.sessions_by_id[session_id], last_seen_at=at)

    async def revoke_session(self, session_id: str, at: datetime) -> bool:
        session = self.sessions_by_id.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        self.sessions_by_id[session_id] = replace(session, revoked_at=at)
        return True

    async def revoke_sessions_of(self, operator_id: str, at: datetime) -> int:
        ids = [s.id for s in self.sessions_by_id.values() if s.operator_id == operator_id and s.revoked_at is None]
        for session_id in ids:
            await self.revoke_session(session_id, at)
        return len(ids)

    async def sessions(self, operator_id: str | None = None) -> list[Session]:
        found = [
            s
            for s in self.sessions_by_id.values()
            if s.revoked_at is None and (operator_id is None or s.operator_id == operator_id)
        ]
        return sorted(found, key=lambda s: s.created_at, reverse=True)

    async def add_token(self, token: ApiToken) -> None:
        self.tokens_by_id[token.id] = token

    async def token_by_id(self, token_id: str) -> ApiToken | None:
        return self.tokens_by_id.get(token_id)

    async def touch_token(self, token_id: str, at: datetime) -> None:
        if token_id in self.tokens_by_id:
            self.tokens_by_id[token_id] = replace(self.tokens_by_id[token_id], last_used_at=at)

    async def revoke_token(self, token_id: str, at: datetime) -> bool:
        token = self.tokens_by_id.get(token_id)
        if token is None or token.revoked_at is not None:
            return False
        self.tokens_by_id[token_id] = replace(token, revoked_at=at)
        return True

    async def tokens(self, operator_id: str | None = None) -> list[ApiToken]:
        found = [t for t in self.tokens_by_id.values() if operator_id is None or t.operator_id == operator_id]
        return sorted(found, key=lambda t: t.created_at, reverse=True)

    async def record_failure(self, key: str, at: datetime) -> None:
        self.failures.setdefault(key, []).append(at)

    async def failures_since(self, key: str, since: datetime) -> int:
        return sum(1 for at in self.failures.get(key, ()) if at >= since)

    async def clear_failures(self, key: str) -> None:
        self.failures.pop(key, None)


def audit_matches(entry: AuditEntry, query: AuditQuery) -> bool:
    checks = [
        query.actor_id is None or entry.actor_id == query.actor_id,
        query.appid is None or entry.appid == query.appid,
        query.action is None or entry.action == query.action,
        query.object_type is None or entry.object_type == query.object_type,
        query.object_id is None or entry.object_id == query.object_id,
        query.since is None or entry.at >= query.since,
        query.until is None or entry.at < query.until,
        query.appids is None or entry.appid in query.appids,
    ]
    return all(checks)


class InMemoryAuditLog:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def append(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def query(self, query: AuditQuery) -> list[AuditEntry]:
        found = [e for e in self.entries if audit_matches(e, query)]
        return sorted(found, key=lambda e: e.at, reverse=True)[: query.limit]
