"""``scrm deadletter`` against the real Kafka- and MongoDB-protocol servers: records parked by the
real dispatch path are mirrored once, listed by filters, shown, replayed to their topic and
discarded, each action audited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from typer.testing import CliRunner

from scrm import cli
from scrm_dev.topics import read_records
from shared.contracts import CATALOG, TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.deadletters import DEADLETTER_MIRROR, DEADLETTERS
from shared.events import Envelope, Message
from shared.localinfra import free_port
from shared.messaging import Delivery, KafkaEventPublisher, PermanentHandlerError, RetryPolicy, dispatch, ensure_topics
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration


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


def scrm(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli.app, ["deadletter", *args], env=env)


def follow(openid: str) -> Envelope:
    return Envelope.wrap(MemberFollowed(openid=openid, followed_at="2026-11-23T08:00:00Z"), appid="wx1", key=openid)


async def park_three(infra: Infra, prefix: str) -> Envelope:
    """Two consumers give up on records, the way their workers do; returns the one to replay."""
    await ensure_topics(infra.kafka, TOPICS, prefix=prefix)
    to_replay = follow("o-replay")

    async def rejects(envelope: Envelope, message: Message) -> None:
        raise PermanentHandlerError("unknown campaign")

    async def crashes(envelope: Envelope, message: Message) -> None:
        raise RuntimeError("bug")

    async def no_sleep(_: float) -> None:
        return None

    topic = WECHAT_PUSHES.physical_name(prefix)
    async with KafkaEventPublisher(infra.kafka, topic_prefix=prefix) as parked:
        for offset, value, consumer, handler in [
            (3, follow("o-rejected").to_bytes(), "campaigns", rejects),
            (4, to_replay.to_bytes(), "profiles", crashes),
            (5, b"{not an envelope", "members", rejects),
        ]:
            await dispatch(
                Delivery(topic, 0, offset, b"k", value),
                consumer=consumer,
                handler=handler,
                catalog=CATALOG,
                deadletters=parked,
                retry=RetryPolicy(attempts=2, initial_delay=0.0, max_delay=0.0),
                sleep=no_sleep,
            )
    return to_replay


def listed(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = scrm(env, "list", "--json", "--actor", "alice", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_dead_letters_are_listed_shown_replayed_and_discarded_with_an_audit_trail(
    infra: Infra, isolation: Isolation, env: dict[str, str]
) -> None:
    to_replay = asyncio.run(park_three(infra, isolation.topic_prefix))

    letters = listed(env)
    assert sorted(letter["consumer"] for letter in letters) == ["campaigns", "members", "profiles"]
    assert all(letter["status"] == "open" for letter in letters)
    assert [letter["consumer"] for letter in listed(env, "--consumer", "profiles")] == ["profiles"]
    assert [letter["consumer"] for letter in listed(env, "--reason", "contract")] == ["members"]
    assert [letter["consumer"] for letter in listed(env, "--reason", "rejected")] == ["campaigns"]
    assert len(listed(env, "--topic", WECHAT_PUSHES.physical_name(isolation.topic_prefix))) == 3
    assert listed(env, "--since", "2999-01-01") == []
    assert len(listed(env, "--until", "2999-01-01T00:00:00+08:00")) == 3
    assert scrm(env, "list", "--reason", "bad").exit_code == 2

    # Mirroring again, even from the topic's beginning, adds nothing: letters have unique ids.
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        client[isolation.database][DEADLETTER_MIRROR].delete_many({})
    assert len(listed(env, "--status", "all")) == 3
    with MongoClient(infra.mongodb_url) as client:
        assert client[isolation.database][DEADLETTERS].count_documents({}) == 3

    [crashed] = listed(env, "--consumer", "profiles")
    shown = scrm(env, "show", crashed["id"][:10], "--actor", "alice")
    assert shown.exit_code == 0, shown.output
    assert "RuntimeError: bug" in shown.stdout and to_replay.event_id in shown.stdout
    assert scrm(env, "show", "0" * 32).exit_code == 1

    replayed = scrm(env, "replay", crashed["id"][:10], "--actor", "alice", "--note", "bug fixed")
    assert replayed.exit_code == 0, replayed.output
    assert scrm(env, "replay", crashed["id"], "--actor", "alice").exit_code == 1  # already replayed
    records = asyncio.run(
        read_records(infra.kafka, WECHAT_PUSHES.physical_name(isolation.topic_prefix), at_least=1, within=20)
    )
    assert [Envelope.from_bytes(record.value) for record in records] == [to_replay]  # same event id

    [garbled] = listed(env, "--reason", "contract")
    refused = scrm(env, "replay", garbled["id"], "--actor", "bob")
    assert refused.exit_code == 1 and "discard it instead" in refused.output
    assert scrm(env, "discard", garbled["id"], "--actor", "bob", "--note", "test garbage").exit_code == 0

    statuses = {letter["consumer"]: letter for letter in listed(env, "--status", "all")}
    assert statuses["profiles"]["status"] == "replayed" and statuses["profiles"]["resolved_by"] == "alice"
    assert statuses["members"]["status"] == "discarded" and statuses["members"]["note"] == "test garbage"
    assert statuses["campaigns"]["status"] == "open"
    assert [letter["consumer"] for letter in listed(env)] == ["campaigns"]

    with MongoClient(infra.mongodb_url) as client:
        audit: list[dict[str, Any]] = list(client[isolation.database]["audit_log"].find({"object_type": "deadletter"}))
    actions = {(entry["action"], entry["actor_name"], entry.get("object_id")) for entry in audit}
    assert ("deadletter.replayed", "scrm CLI (alice)", crashed["id"]) in actions
    assert ("deadletter.discarded", "scrm CLI (bob)", garbled["id"]) in actions
    assert ("deadletter.shown", "scrm CLI (alice)", crashed["id"]) in actions
    assert any(action == "deadletter.listed" for action, _, _ in actions)
    assert all(entry["actor_id"] == "cli" for entry in audit)


def test_replay_and_discard_by_filters(infra: Infra, isolation: Isolation, env: dict[str, str]) -> None:
    to_replay = asyncio.run(park_three(infra, isolation.topic_prefix))
    assert scrm(env, "replay", "--actor", "alice").exit_code == 2  # neither an id nor a filter
    assert scrm(env, "discard", "abc", "--consumer", "members").exit_code == 2  # both

    replayed = scrm(env, "replay", "--reason", "failed", "--since", "2026-01-01", "--actor", "alice")
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1, skipped 0" in replayed.stdout
    records = asyncio.run(
        read_records(infra.kafka, WECHAT_PUSHES.physical_name(isolation.topic_prefix), at_least=1, within=20)
    )
    assert [Envelope.from_bytes(record.value) for record in records] == [to_replay]

    # --all: the garbled one cannot be replayed and is left open, the rejected one goes.
    everything = scrm(env, "replay", "--all", "--actor", "alice")
    assert everything.exit_code == 0 and "replayed 1, skipped 1" in everything.stdout
    discarded = scrm(env, "discard", "--consumer", "members", "--actor", "bob", "--note", "garbage")
    assert discarded.exit_code == 0 and "discarded 1, skipped 0" in discarded.stdout
    assert listed(env) == []
    statuses = sorted((letter["consumer"], letter["status"]) for letter in listed(env, "--status", "all"))
    assert statuses == [("campaigns", "replayed"), ("members", "discarded"), ("profiles", "replayed")]


def test_an_unreachable_broker_stops_with_run_it_again(env: dict[str, str]) -> None:
    result = scrm(env | {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}, "list")
    assert result.exit_code == 1 and "run it again" in result.output
    assert scrm(env | {"ENVIRONMENT": "nowhere"}, "list").exit_code == 2
