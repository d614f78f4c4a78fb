"""The identity stores in MongoDB: collections ``operators``, ``operator_grants``, ``sessions``,
``api_tokens``, ``login_attempts`` and ``audit_log``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.identity._exceptions import OperatorExists
from shared.identity._model import Grant, Permission, Role
from shared.identity._records import ApiToken, AuditEntry, AuditQuery, Operator, Session
from shared.storage import IndexSpec, StorageUnavailable, repeatable_writes

__all__ = ["IDENTITY_INDEXES", "MongoAuditLog", "MongoIdentityStore"]

#: Failed sign-ins are forgotten after a day (the lock window is minutes; the rest is for reading).
_ATTEMPTS_TTL_SECONDS = 24 * 3600

IDENTITY_INDEXES = (
    IndexSpec("operators", (("name", 1),), "operator_name", unique=True),
    IndexSpec("operator_grants", (("operator_id", 1), ("role", 1), ("appid", 1)), "grant_key", unique=True),
    IndexSpec("sessions", (("id", 1),), "session_id", unique=True),
    IndexSpec("sessions", (("operator_id", 1), ("created_at", -1)), "sessions_of_operator"),
    IndexSpec("api_tokens", (("operator_id", 1), ("created_at", -1)), "tokens_of_operator"),
    IndexSpec("login_attempts", (("key", 1), ("at", -1)), "attempts_of_key"),
    IndexSpec("login_attempts", (("at", 1),), "attempts_ttl", expire_after_seconds=_ATTEMPTS_TTL_SECONDS),
    IndexSpec("audit_log", (("at", -1),), "audit_at"),
    IndexSpec("audit_log", (("actor_id", 1), ("at", -1)), "audit_actor"),
    IndexSpec("audit_log", (("appid", 1), ("at", -1)), "audit_account"),
    IndexSpec("audit_log", (("action", 1), ("at", -1)), "audit_action"),
    IndexSpec("audit_log", (("object_type", 1), ("object_id", 1), ("at", -1)), "audit_object"),
)


@contextmanager
def _storage() -> Iterator[None]:
    """Driver failures leave as :class:`StorageUnavailable` (the 503 of every app), naming no value."""
    try:
        yield
    except PyMongoError as exc:
        raise StorageUnavailable(f"identity storage failed: {type(exc).__name__}") from exc


def _operator(doc: dict[str, Any]) -> Operator:
    return Operator(
        doc["_id"], doc["name"], doc["kind"], doc.get("password_hash"), doc["created_at"], doc.get("disabled", False)
    )


def _session(doc: dict[str, Any]) -> Session:
    return Session(
        doc["id"],
        doc["_id"],
        doc["operator_id"],
        doc["csrf_token"],
        doc["created_at"],
        doc["last_seen_at"],
        doc.get("address"),
        doc.get("revoked_at"),
    )


def _token(doc: dict[str, Any]) -> ApiToken:
    scopes = doc.get("scopes")
    return ApiToken(
        doc["_id"],
        doc["digest"],
        doc["operator_id"],
        doc["label"],
        None if scopes is None else frozenset(Permission(s) for s in scopes),
        doc["created_at"],
        doc.get("expires_at"),
        doc.get("last_used_at"),
        doc.get("revoked_at"),
    )


class MongoIdentityStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._operators = database["operators"]
        self._grants = database["operator_grants"]
        self._sessions = database["sessions"]
        self._tokens = database["api_tokens"]
        self._attempts = database["login_attempts"]

    async def add_operator(self, operator: Operator) -> None:
        document = {
            "_id": operator.id,
            "name": operator.name,
            "kind": operator.kind,
            "password_hash": operator.password_hash,
            "created_at": operator.created_at,
            "disabled": operator.disabled,
        }
        with _storage():
            try:
                await self._operators.insert_one(document)
            except DuplicateKeyError:
                raise OperatorExists(f"an operator named {operator.name!r} exists") from None

    async def operator_by_id(self, operator_id: str) -> Operator | None:
        doc = await self._find_one(self._operators, {"_id": operator_id})
        return None if doc is None else _operator(doc)

    async def operator_by_name(self, name: str) -> Operator | None:
        doc = await self._find_one(self._operators, {"name": name})
        return None if doc is None else _operator(doc)

    async def list_operators(self) -> list[Operator]:
        return [_operator(d) for d in await self._find(self._operators, {}, [("name", 1)])]

    async def set_disabled(self, operator_id: str, disabled: bool) -> bool:
        return await self._set(self._operators, {"_id": operator_id}, {"disabled": disabled})

    async def set_password_hash(self, operator_id: str, password_hash: str) -> bool:
        return await self._set(self._operators, {"_id": operator_id}, {"password_hash": password_hash})

    async def add_grant(self, operator_id: str, grant: Grant) -> bool:
        key = {"operator_id": operator_id, "role": grant.role.value, "appid": grant.appid}
        with _storage():
            try:
                result = await self._grants.update_one(key, {"$setOnInsert": key}, upsert=True)
            except DuplicateKeyError:
                return False
        return result.upserted_id is not None

    async def remove_grant(self, operator_id: str, grant: Grant) -> bool:
        with _storage():
            result = await self._grants.delete_one(
                {"operator_id": operator_id, "role": grant.role.value, "appid": grant.appid}
            )
        return result.deleted_count == 1

    async def grants_of(self, operator_id: str) -> frozenset[Grant]:
        docs = await self._find(self._grants, {"operator_id": operator_id})
        return frozenset(Grant(Role(d["role"]), d["appid"]) for d in docs)

    async def add_session(self, session: Session) -> None:
        document = {
            "_id": session.digest,
            "id": session.id,
            "operator_id": session.operator_id,
            "csrf_token": session.csrf_token,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "address": session.address,
            "revoked_at": session.revoked_at,
        }
        with _storage():
            await self._sessions.insert_one(document)

    async def session_by_digest(self, digest: str) -> Session | None:
        doc = await self._find_one(self._sessions, {"_id": digest})
        return None if doc is None else _session(doc)

    async def touch_session(self, session_id: str, at: datetime) -> None:
        with repeatable_writes():  # every request makes it; a request run again may make it again
            await self._set(self._sessions, {"id": session_id}, {"last_seen_at": at})

    async def revoke_session(self, session_id: str, at: datetime) -> bool:
        return await self._set(self._sessions, {"id": session_id, "revoked_at": None}, {"revoked_at": at})

    async def revoke_sessions_of(self, operator_id: str, at: datetime) -> int:
        with _storage():
            result = await self._sessions.update_many(
                {"operator_id": operator_id, "revoked_at": None}, {"$set": {"revoked_at": at}}
            )
        return result.modified_count

    async def sessions(self, operator_id: str | None = None) -> list[Session]:
        query: dict[str, Any] = {"revoked_at": None}
        if operator_id is not None:
            query["operator_id"] = operator_id
        return [_session(d) for d in await self._find(self._sessions, query, [("created_at", -1)])]

    async def add_token(self, token: ApiToken) -> None:
        document = {
            "_id": token.id,
            "digest": token.digest,
            "operator_id": token.operator_id,
            "label": token.label,
            "scopes": None if token.scopes is None else sorted(s.value for s in token.scopes),
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at,
        }
        with _storage():
            await self._tokens.insert_one(document)

    async def token_by_id(self, token_id: str) -> ApiToken | None:
        doc = await self._find_one(self._tokens, {"_id": token_id})
        return None if doc is None else _token(doc)

    async def touch_token(self, token_id: str, at: datetime) -> None:
        with repeatable_writes():
            await self._set(self._tokens, {"_id": token_id}, {"last_used_at": at})

    async def revoke_token(self, token_id: str, at: datetime) -> bool:
        return await self._set(self._tokens, {"_id": token_id, "revoked_at": None}, {"revoked_at": at})

    async def tokens(self, operator_id: str | None = None) -> list[ApiToken]:
        query = {} if operator_id is None else {"operator_id": operator_id}
        return [_token(d) for d in await self._find(self._tokens, query, [("created_at", -1)])]

    async def record_failure(self, key: str, at: datetime) -> None:
        with _storage():
            await self._attempts.insert_one({"key": key, "at": at})

    async def failures_since(self, key: str, since: datetime) -> int:
        with _storage():
            return await self._attempts.count_documents({"key": key, "at": {"$gte": since}})

    async def clear_failures(self, key: str) -> None:
        with _storage():
            await self._attempts.delete_many({"key": key})

    @staticmethod
    async def _find_one(collection: Any, query: dict[str, Any]) -> dict[str, Any] | None:
        with _storage():
            found: dict[str, Any] | None = await collection.find_one(query)
        return found

    @staticmethod
    async def _find(
        collection: Any, query: dict[str, Any], sort: list[tuple[str, int]] | None = None
    ) -> list[dict[str, Any]]:
        with _storage():
            cursor = collection.find(query)
            if sort:
                cursor = cursor.sort(sort)
            found: list[dict[str, Any]] = await cursor.to_list(None)
        return found

    @staticmethod
    async def _set(collection: Any, query: dict[str, Any], fields: dict[str, Any]) -> bool:
        with _storage():
            result = await collection.update_one(query, {"$set": fields})
        return bool(result.matched_count == 1)


_AUDIT_FIELDS = (
    "at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "appid",
    "credential_id",
    "before",
    "after",
    "address",
    "request_id",
)


class MongoAuditLog:
    """Append-only: this adapter only inserts and finds."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._entries = database["audit_log"]

    async def append(self, entry: AuditEntry) -> None:
        with _storage():
            await self._entries.insert_one({name: getattr(entry, name) for name in _AUDIT_FIELDS})

    async def query(self, query: AuditQuery) -> list[AuditEntry]:
        filters: dict[str, Any] = {}
        for name in ("actor_id", "action", "object_type", "object_id"):
            if getattr(query, name) is not None:
                filters[name] = getattr(query, name)
        if query.appid is not None:
            filters["appid"] = query.appid
        if query.appids is not None:
            filters.setdefault("$and", []).append({"appid": {"$in": sorted(query.appids)}})
        if query.since is not None or query.until is not None:
            span: dict[str, Any] = {}
            if query.since is not None:
                span["$gte"] = query.since
            if query.until is not None:
                span["$lt"] = query.until
            filters["at"] = span
        with _storage():
            docs = await self._entries.find(filters).sort("at", -1).limit(query.limit).to_list(None)
        fields: list[dict[str, Any]] = [{name: doc.get(name) for name in _AUDIT_FIELDS} for doc in docs]
        return [AuditEntry(**f) for f in fields]
