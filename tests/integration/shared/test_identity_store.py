"""One contract for the identity stores (``IdentityStore`` and ``AuditLog``), run against the in-memory
adapters and MongoDB's."""

from __future__ import annotations

import abc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.identity import (
    IDENTITY_INDEXES,
    ApiToken,
    AuditEntry,
    AuditLog,
    AuditQuery,
    Grant,
    IdentityStore,
    InMemoryAuditLog,
    InMemoryIdentityStore,
    MongoAuditLog,
    MongoIdentityStore,
    Operator,
    OperatorExists,
    Permission,
    Role,
    Session,
)
from shared.storage import ensure_indexes

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def operator(op_id: str, name: str) -> Operator:
    return Operator(op_id, name, "operator", "$argon2id$stub", NOW)


def session(session_id: str, operator_id: str, at: datetime = NOW) -> Session:
    return Session(session_id, "digest-" + session_id, operator_id, "csrf", at, at, "10.0.0.1")


class IdentityStoreContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> IdentityStore: ...

    @abc.abstractmethod
    @pytest.fixture
    async def audit_log(self) -> AuditLog: ...

    async def test_operators_are_unique_by_name_and_found_by_id_or_name(self, store: IdentityStore) -> None:
        await store.add_operator(operator("op_1", "ada"))
        with pytest.raises(OperatorExists):
            await store.add_operator(operator("op_2", "ada"))
        assert (await store.operator_by_id("op_1")) == operator("op_1", "ada")
        assert (await store.operator_by_name("ada")) == operator("op_1", "ada")
        assert await store.operator_by_name("bob") is None
        assert await store.set_disabled("op_1", True)
        assert await store.set_password_hash("op_1", "$argon2id$new")
        changed = await store.operator_by_id("op_1")
        assert changed is not None and changed.disabled and changed.password_hash == "$argon2id$new"
        assert not await store.set_disabled("op_missing", True)
        await store.add_operator(operator("op_3", "bea"))
        assert [o.name for o in await store.list_operators()] == ["ada", "bea"]

    async def test_grants_are_added_once_and_removed(self, store: IdentityStore) -> None:
        grant = Grant(Role.ANALYST, "wx1")
        assert await store.add_grant("op_1", grant)
        assert not await store.add_grant("op_1", grant)
        assert await store.add_grant("op_1", Grant(Role.ADMIN, "*"))
        assert await store.grants_of("op_1") == {grant, Grant(Role.ADMIN, "*")}
        assert await store.remove_grant("op_1", grant)
        assert not await store.remove_grant("op_1", grant)
        assert await store.grants_of("op_1") == {Grant(Role.ADMIN, "*")}
        assert await store.grants_of("op_2") == frozenset()

    async def test_sessions_are_found_by_digest_touched_and_revoked(self, store: IdentityStore) -> None:
        await store.add_session(session("ses_1", "op_1"))
        await store.add_session(session("ses_2", "op_1", NOW + timedelta(minutes=1)))
        await store.add_session(session("ses_3", "op_2"))
        found = await store.session_by_digest("digest-ses_1")
        assert found == session("ses_1", "op_1")
        await store.touch_session("ses_1", NOW + timedelta(minutes=5))
        touched = await store.session_by_digest("digest-ses_1")
        assert touched is not None and touched.last_seen_at == NOW + timedelta(minutes=5)
        assert [s.id for s in await store.sessions("op_1")] == ["ses_2", "ses_1"]
        assert await store.revoke_session("ses_2", NOW)
        assert not await store.revoke_session("ses_2", NOW)
        assert {s.id for s in await store.sessions()} == {"ses_3", "ses_1"}
        assert await store.revoke_sessions_of("op_1", NOW) == 1
        revoked = await store.session_by_digest("digest-ses_1")
        assert revoked is not None and revoked.revoked_at == NOW

    async def test_tokens_keep_scopes_expiry_last_use_and_revocation(self, store: IdentityStore) -> None:
        token = ApiToken(
            "0123456789abcdef", "d", "op_1", "ci", frozenset({Permission.CAMPAIGN_VIEW}), NOW, NOW + timedelta(days=30)
        )
        await store.add_token(token)
        await store.add_token(ApiToken("fedcba9876543210", "e", "op_2", "all", None, NOW + timedelta(seconds=1)))
        assert await store.token_by_id("0123456789abcdef") == token
        await store.touch_token(token.id, NOW + timedelta(hours=1))
        assert await store.revoke_token(token.id, NOW + timedelta(hours=2))
        assert not await store.revoke_token(token.id, NOW + timedelta(hours=3))
        stored = await store.token_by_id(token.id)
        assert stored is not None
        assert (stored.last_used_at, stored.revoked_at) == (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
        assert [t.id for t in await store.tokens()] == ["fedcba9876543210", token.id]
        assert [t.id for t in await store.tokens("op_2")] == ["fedcba9876543210"]
        assert await store.token_by_id("nope") is None

    async def test_failed_sign_ins_are_counted_in_a_window_and_cleared(self, store: IdentityStore) -> None:
        for minutes in (0, 10, 20):
            await store.record_failure("account:ada", NOW + timedelta(minutes=minutes))
        await store.record_failure("address:10.0.0.1", NOW)
        assert await store.failures_since("account:ada", NOW + timedelta(minutes=5)) == 2
        assert await store.failures_since("account:ada", NOW) == 3
        await store.clear_failures("account:ada")
        assert await store.failures_since("account:ada", NOW) == 0
        assert await store.failures_since("address:10.0.0.1", NOW) == 1

    async def test_the_audit_log_is_queried_by_actor_account_action_object_and_time(self, audit_log: AuditLog) -> None:
        def entry(minutes: int, **fields: Any) -> AuditEntry:
            base: dict[str, Any] = {
                "at": NOW + timedelta(minutes=minutes),
                "actor_id": "op_1",
                "actor_name": "ada",
                "action": "campaign.edited",
                "object_type": "campaign",
                "object_id": "c1",
                "appid": "wx1",
            }
            return AuditEntry(**(base | fields))

        await audit_log.append(entry(0, before={"name": "a"}, after={"name": "b"}, address="10.0.0.1"))
        await audit_log.append(entry(1, actor_id="op_2", actor_name="bea", appid="wx2"))
        await audit_log.append(entry(2, action="push.sent", object_type="push", object_id="p1"))
        everything = await audit_log.query(AuditQuery())
        assert [e.at.minute for e in everything] == [2, 1, 0]
        assert everything[-1] == entry(0, before={"name": "a"}, after={"name": "b"}, address="10.0.0.1")
        assert len(await audit_log.query(AuditQuery(actor_id="op_2"))) == 1
        assert len(await audit_log.query(AuditQuery(appid="wx1"))) == 2
        assert len(await audit_log.query(AuditQuery(appids=frozenset({"wx2"})))) == 1
        assert len(await audit_log.query(AuditQuery(action="push.sent"))) == 1
        assert len(await audit_log.query(AuditQuery(object_type="campaign", object_id="c1"))) == 2
        span = AuditQuery(since=NOW + timedelta(minutes=1), until=NOW + timedelta(minutes=2))
        assert [e.actor_name for e in await audit_log.query(span)] == ["bea"]
        assert len(await audit_log.query(AuditQuery(limit=1))) == 1


class TestInMemoryIdentityStore(IdentityStoreContract):
    @pytest.fixture
    async def store(self) -> IdentityStore:
        return InMemoryIdentityStore()

    @pytest.fixture
    async def audit_log(self) -> AuditLog:
        return InMemoryAuditLog()


class TestMongoIdentityStore(IdentityStoreContract):
    @pytest.fixture
    async def store(self, database: Any) -> IdentityStore:
        await ensure_indexes(database, IDENTITY_INDEXES)
        return MongoIdentityStore(database)

    @pytest.fixture
    async def audit_log(self, database: Any) -> AuditLog:
        await ensure_indexes(database, IDENTITY_INDEXES)
        return MongoAuditLog(database)
