from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from scrm.docs import render_events
from shared.contracts import CATALOG, DEADLETTER, TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.events import (
    Envelope,
    Event,
    EventCatalog,
    InvalidEventPayload,
    MalformedEnvelope,
    Topic,
    TopicRegistry,
    UnknownEventType,
    UnknownTopic,
    Upcaster,
)

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_envelope_round_trips_through_json() -> None:
    event = MemberFollowed(openid="o1", followed_at=AT, scene="camp-1")
    envelope = Envelope.wrap(event, appid="wx1", key="o1", occurred_at=AT, event_id="e1")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert CATALOG.decode(again) == event
    assert again.type == "member.followed" and again.version == 1


def test_envelope_and_events_are_frozen() -> None:
    envelope = Envelope.wrap(MemberFollowed(openid="o1", followed_at=AT), appid="wx1", key="o1")
    with pytest.raises(ValidationError):
        envelope.appid = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        MemberFollowed(openid="o1", followed_at=AT, unknown_field=1)  # type: ignore[call-arg]


def test_envelope_ids_are_unique_unless_given() -> None:
    event = MemberFollowed(openid="o1", followed_at=AT)
    first = Envelope.wrap(event, appid="wx1", key="o1")
    second = Envelope.wrap(event, appid="wx1", key="o1")
    assert first.event_id != second.event_id


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[]", b'{"type": "member.followed"}', "\ud800".encode("utf-8", "surrogatepass")],
)
def test_malformed_envelopes_raise_a_contract_error(raw: bytes) -> None:
    with pytest.raises(MalformedEnvelope):
        Envelope.from_bytes(raw)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError):
        MemberFollowed(openid="o1", followed_at=datetime(2026, 1, 1))


def test_unknown_type_and_invalid_payload() -> None:
    unknown = Envelope(type="nope.happened", version=1, appid="wx1", key="k", payload={})
    with pytest.raises(UnknownEventType):
        CATALOG.decode(unknown)
    invalid = Envelope(type="member.followed", version=1, appid="wx1", key="k", payload={"openid": ""})
    with pytest.raises(InvalidEventPayload, match=r"member\.followed"):
        CATALOG.decode(invalid)


# --- upcasting, on a catalog of this test's own: v1 → v2 → v3 -----------------------------------


class BabyBorn(Event):
    """v3: birth date and weight in grams (v1 had 'born' as a string, v2 'weight_kg')."""

    message_type = "test.baby_born"
    message_version = 3

    born_on: str
    weight_g: int


def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {"born_on": payload.pop("born"), "weight_kg": payload.get("weight_kg", 3.2)}


def _v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {"born_on": payload["born_on"], "weight_g": round(payload["weight_kg"] * 1000)}


UPCASTING = EventCatalog(
    [BabyBorn],
    upcasters=[Upcaster("test.baby_born", 1, _v1_to_v2), Upcaster("test.baby_born", 2, _v2_to_v3)],
)


def test_old_versions_are_upcast_on_read() -> None:
    v1 = Envelope(type="test.baby_born", version=1, appid="wx1", key="k", payload={"born": "2026-01-02"})
    assert UPCASTING.decode(v1) == BabyBorn(born_on="2026-01-02", weight_g=3200)
    v2 = Envelope(
        type="test.baby_born",
        version=2,
        appid="wx1",
        key="k",
        payload={"born_on": "2026-01-02", "weight_kg": 2.95},
    )
    upcast = UPCASTING.upcast(v2)
    assert upcast.version == 3 and upcast.payload == {"born_on": "2026-01-02", "weight_g": 2950}
    assert upcast.event_id == v2.event_id  # still the same event for idempotency


def test_newer_versions_than_the_code_are_refused() -> None:
    v4 = Envelope(type="test.baby_born", version=4, appid="wx1", key="k", payload={})
    with pytest.raises(UnknownEventType, match="newer"):
        UPCASTING.decode(v4)


def test_catalog_requires_an_upcaster_for_every_old_version() -> None:
    with pytest.raises(ValueError, match="no upcaster from v2"):
        EventCatalog([BabyBorn], upcasters=[Upcaster("test.baby_born", 1, _v1_to_v2)])
    with pytest.raises(ValueError, match="declared twice"):
        EventCatalog([BabyBorn, BabyBorn], upcasters=[])


# --- topics ------------------------------------------------------------------------------------


def test_every_message_lives_on_exactly_one_topic() -> None:
    for message in CATALOG:
        assert TOPICS.for_message(message.message_type).carries(message.message_type)
    assert TOPICS.for_message("member.followed") is WECHAT_PUSHES
    assert TOPICS.get("platform.deadletter") is DEADLETTER
    with pytest.raises(UnknownTopic):
        TOPICS.get("nope")


def test_topic_declarations() -> None:
    assert WECHAT_PUSHES.physical_name("t1.") == "t1.wechat.pushes"
    assert WECHAT_PUSHES.retention_ms == 7 * 24 * 3600 * 1000
    forever = Topic("x", 1, None, "k", (), "")
    assert forever.retention_ms == -1
    with pytest.raises(ValueError, match="twice"):
        TopicRegistry([forever, forever])
    with pytest.raises(ValueError, match="partition"):
        TopicRegistry([Topic("y", 0, timedelta(days=1), "k", (), "")])


def test_docs_events_md_is_generated_from_the_registry() -> None:
    committed = (Path(__file__).parents[3] / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render_events(), "docs/events.md is stale: run `make docs`"
    for topic in TOPICS:
        assert f"`{topic.name}`" in committed
