"""The audit log outlives the people in it: an entry keeps a copy of its actor's name."""

from __future__ import annotations

from typing import Any

import pytest

from shared.identity import (
    CLI_ACTOR,
    IDENTITY_INDEXES,
    AuditQuery,
    Directory,
    MongoAuditLog,
    MongoIdentityStore,
    PasswordHasher,
    Role,
)
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration


async def test_entries_survive_the_actors_deletion(database: Any) -> None:
    await ensure_indexes(database, IDENTITY_INDEXES)
    hasher = PasswordHasher(memory_kib=19 * 1024, time_cost=2)
    directory = Directory(MongoIdentityStore(database), MongoAuditLog(database), hasher=hasher)
    operator = await directory.create_operator(CLI_ACTOR, "li-ops", password=None, kind="service")
    await directory.grant(CLI_ACTOR, "li-ops", Role.CAMPAIGN_OPERATOR.value, "wx1")
    token, _ = await directory.create_token(CLI_ACTOR, "li-ops", label="script")
    identity = await directory.authenticate_token(token)
    await directory.record(identity, "campaign.activated", "campaign", "c1", appid="wx1", before={"status": "draft"})

    # The operator is gone for good (not only disabled): nothing the log holds depends on the record.
    await database["operators"].delete_many({})
    await database["operator_grants"].delete_many({})
    await database["api_tokens"].delete_many({})

    entries = await directory.audit_entries(AuditQuery(actor_id=operator.id))
    activated = [entry for entry in entries if entry.action == "campaign.activated"]
    assert len(activated) == 1
    entry = activated[0]
    assert (entry.actor_name, entry.appid, entry.object_id, entry.before) == (
        "li-ops",
        "wx1",
        "c1",
        {"status": "draft"},
    )
    assert entry.credential_id is not None and token not in repr(entry)  # which token, never the token itself
