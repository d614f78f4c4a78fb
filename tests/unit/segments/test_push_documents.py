"""A push written as a MongoDB document reads back as the same push, whatever its variants carry."""

from __future__ import annotations

from datetime import UTC, datetime, time

from services.segments.adapters.push_documents import push_from_document, push_to_document
from services.segments.domain.pushes import (
    Article,
    Creator,
    FrequencyCap,
    MessageContent,
    QuietHours,
    SubscriptionContent,
    TemplateContent,
    Variant,
    new_push,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_push_survives_its_document() -> None:
    push = new_push(
        push_id="push_1",
        appid="wx1",
        name="guide",
        segment_id="seg_1",
        now=NOW,
        cap=FrequencyCap(2, 4),
        quiet_hours=QuietHours(time(22), time(8, 30)),
        created_by=Creator("op_1", "alice"),
        variants=[
            Variant("A", 3, MessageContent("news", articles=(Article("t", "https://b.example/a", "d", "p"),))),
            Variant(
                "B",
                1,
                MessageContent("text", text="hi"),
                template=TemplateContent("tpl", {"first": "x"}, "https://b.example/t"),
                subscription=SubscriptionContent("sub", {"thing1": "y"}, "pages/i"),
            ),
        ],
    )
    doc = push_to_document(push)
    assert doc["quiet_hours"] == {"start": "22:00:00", "end": "08:30:00"}
    assert doc["created_by"] == {"id": "op_1", "name": "alice"}
    assert doc["variants"][1]["template"] == {
        "template_id": "tpl",
        "data": {"first": "x"},
        "url": "https://b.example/t",
    }
    assert push_from_document(doc) == push


def test_a_broadcast_without_quiet_hours_survives_its_document() -> None:
    push = new_push(
        push_id="push_2",
        appid="wx1",
        name="all",
        segment_id="seg_1",
        now=NOW,
        broadcast=True,
        variants=[Variant("A", 1, MessageContent("image", media_id="m1"))],
    )
    doc = push_to_document(push)
    assert doc["quiet_hours"] is None and doc["broadcast"] is True and doc["created_by"] is None
    assert doc["variants"][0]["template"] is None and doc["variants"][0]["subscription"] is None
    assert push_from_document(doc) == push
