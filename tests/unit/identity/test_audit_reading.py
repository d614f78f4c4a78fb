"""The audit log is read within the accounts the reader holds ``audit:view`` on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.identity.service_layer.handlers import read_audit
from shared.identity import (
    AuditEntry,
    AuditQuery,
    Directory,
    Forbidden,
    Grant,
    Identity,
    InMemoryAuditLog,
    InMemoryIdentityStore,
    PasswordHasher,
    Role,
)

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
async def directory() -> Directory:
    audit_log = InMemoryAuditLog()
    for appid in ("wx1", "wx2", None):
        await audit_log.append(AuditEntry(AT, "op_1", "ada", "thing.done", "thing", appid=appid))
    return Directory(InMemoryIdentityStore(), audit_log, hasher=PasswordHasher(memory_kib=19 * 1024, time_cost=2))


def reader(*grants: Grant) -> Identity:
    return Identity("op_9", "reader", "operator", frozenset(grants))


async def test_an_admin_of_every_account_reads_everything(directory: Directory) -> None:
    found = await read_audit(directory, reader(Grant(Role.ADMIN, "*")), AuditQuery())
    assert {e.appid for e in found} == {"wx1", "wx2", None}


async def test_an_admin_of_one_account_reads_that_accounts_entries_only(directory: Directory) -> None:
    one = reader(Grant(Role.ADMIN, "wx1"))
    assert {e.appid for e in await read_audit(directory, one, AuditQuery())} == {"wx1"}
    with pytest.raises(Forbidden):
        await read_audit(directory, one, AuditQuery(appid="wx2"))


async def test_roles_without_audit_view_read_nothing(directory: Directory) -> None:
    with pytest.raises(Forbidden):
        await read_audit(directory, reader(Grant(Role.ANALYST, "*")), AuditQuery())
