"""``scrm members export|erase`` against the real MongoDB-protocol server: one JSON document out, the
member erased everywhere, both audited (the erasure under its hash)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from typer.testing import CliRunner

from scrm import cli
from shared.datarights import ERASURES, erasure_id
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

APPID, OPENID = "wx1", "o_cli_member_00000000000000000"


@pytest.fixture
def env(infra: Infra, isolation: Isolation) -> Iterator[dict[str, str]]:
    yield {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb_url,
        "MONGODB_DATABASE": isolation.database,
        "TOPIC_PREFIX": isolation.topic_prefix,
        "ENVIRONMENT": "test",
    }
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        client.drop_database(isolation.database)


def test_export_then_erase_from_the_command_line(env: dict[str, str], infra: Infra, isolation: Isolation) -> None:
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        database: Any = client[isolation.database]
        database["members"].insert_one({"appid": APPID, "openid": OPENID, "following": True})
        database["profile_history"].insert_one({"appid": APPID, "openid": OPENID, "kind": "consent"})
        database["campaign_participants"].insert_one(
            {"_id": f"c1:{OPENID}", "campaign_id": "c1", "appid": APPID, "openid": OPENID, "code": "k1"}
        )

        exported = CliRunner().invoke(
            cli.app, ["members", "export", OPENID, "--appid", APPID, "--actor", "bo"], env=env
        )
        assert exported.exit_code == 0, exported.output
        document = json.loads(exported.stdout)
        assert set(document["collections"]) == {"members", "profile_history", "campaign_participants"}

        erased = CliRunner().invoke(
            cli.app, ["members", "erase", OPENID, "--appid", APPID, "--yes", "--actor", "bo"], env=env
        )
        assert erased.exit_code == 0, erased.output
        assert "members: 1 deleted" in erased.output and "campaign_participants: 1 anonymised" in erased.output
        assert database["members"].count_documents({}) == 0
        assert database["campaign_participants"].count_documents({}) == 1
        assert database["campaign_participants"].count_documents({"openid": OPENID}) == 0
        assert database[ERASURES].count_documents({"_id": erasure_id(APPID, OPENID)}) == 1
        actions = {entry["action"]: entry for entry in database["audit_log"].find()}
        assert actions["member.erased"]["object_id"] == erasure_id(APPID, OPENID)
        assert "bo" in actions["member.erased"]["actor_name"]
        # the export's entry named the member; the erasure turned that into the pseudonym
        assert actions["member.exported"]["object_id"].startswith("erased-")
        assert OPENID not in repr(list(database["audit_log"].find()))
