"""``scrm retention show|apply`` against a real MongoDB-protocol server: what is enforced, and the
catch-up that puts every TTL index in place and dates records written before retention existed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient
from typer.testing import CliRunner

from scrm import cli
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

DECIDED = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def env(infra: Infra, isolation: Isolation) -> Iterator[dict[str, str]]:
    yield {
        "MONGODB_URL": infra.mongodb_url,
        "MONGODB_DATABASE": isolation.database,
        "ENVIRONMENT": "test",
        "COLUMNS": "200",
    }
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        client.drop_database(isolation.database)


@pytest.fixture
def database(infra: Infra, isolation: Isolation) -> Iterator[Any]:
    """Synchronous: the CLI runs its own event loop."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url, tz_aware=True) as client:
        yield client[isolation.database]


def scrm(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args), env=env)


def test_show_marks_what_is_not_enforced_and_apply_catches_up(env: dict[str, str], database: Any) -> None:
    # A database from before retention: a plain index on processed_at, undated pictures and audiences.
    database["processed_events"].create_index([("processed_at", 1)], name="processed_at")
    database["processed_events"].insert_one({"_id": "c:e1", "processed_at": datetime.now(UTC) - timedelta(days=3)})
    database["share_submissions"].insert_many(
        [{"_id": "s1", "status": "approved", "decided_at": DECIDED}, {"_id": "s2", "status": "review"}]
    )
    database["share_submission_images"].insert_many([{"_id": "s1"}, {"_id": "s2"}])
    database["outbox"].insert_one({"_id": "e9", "at": DECIDED})  # a leftover the relay could not publish
    database["push_audiences"].insert_one({"_id": "p1:000000", "push_id": "p1", "openids": ["o1"]})

    shown = scrm(env, "retention", "show")
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "processed_events" in line)
    assert "45" in row and "not enforced" in shown.output
    leftover = next(line for line in shown.output.splitlines() if "outbox" in line)
    assert "2026-01-05" in leftover

    applied = scrm(env, "retention", "apply")
    assert applied.exit_code == 0, applied.output
    assert "share_submission_images 1" in applied.output and "push_audiences 1" in applied.output
    picture = database["share_submission_images"].find_one({"_id": "s1"})
    assert picture is not None and picture["decided_at"].replace(tzinfo=UTC) == DECIDED
    waiting = database["share_submission_images"].find_one({"_id": "s2"})
    assert waiting is not None and "decided_at" not in waiting  # still waiting for a reviewer: kept
    assert database["push_audiences"].count_documents({"created_at": {"$type": "date"}}) == 1

    again = scrm(env, "retention", "apply")  # safe to repeat: nothing left to date
    assert "share_submission_images 0" in again.output
    shown = scrm(env, "retention", "show")
    assert shown.exit_code == 0 and "not enforced" not in shown.output, shown.output
