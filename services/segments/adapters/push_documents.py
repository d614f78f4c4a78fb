"""Pushes as MongoDB documents and back. The API builds the document from a validated request; the
worker reads it into the domain's :class:`~services.segments.domain.pushes.Push`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from services.segments.domain.pushes import (
    Article,
    FrequencyCap,
    MessageContent,
    Push,
    PushStatus,
    QuietHours,
    SubscriptionContent,
    TemplateContent,
    Variant,
)

__all__ = ["push_from_document", "variant_from_document"]


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC) if value.tzinfo is None else value


def variant_from_document(doc: Mapping[str, Any]) -> Variant:
    message = doc.get("message")
    template = doc.get("template")
    subscription = doc.get("subscription")
    return Variant(
        name=doc["name"],
        weight=int(doc["weight"]),
        message=None
        if not message
        else MessageContent(
            kind=message["kind"],
            text=message.get("text") or "",
            media_id=message.get("media_id") or "",
            articles=tuple(
                Article(a["title"], a["url"], a.get("description") or "", a.get("picurl") or "")
                for a in message.get("articles") or ()
            ),
        ),
        template=None
        if not template
        else TemplateContent(template["template_id"], dict(template["data"]), template.get("url") or ""),
        subscription=None
        if not subscription
        else SubscriptionContent(
            subscription["template_id"], dict(subscription["data"]), subscription.get("page") or ""
        ),
    )


def push_from_document(doc: Mapping[str, Any]) -> Push:
    quiet = doc.get("quiet_hours")
    cap = doc.get("cap") or {}
    return Push(
        id=doc["_id"],
        appid=doc["appid"],
        name=doc["name"],
        segment_id=doc["segment_id"],
        variants=tuple(variant_from_document(v) for v in doc["variants"]),
        send_at=_utc(doc["send_at"]) or datetime.now(UTC),
        cap=FrequencyCap(per_day=int(cap.get("per_day", 1)), per_week=int(cap.get("per_week", 3))),
        quiet_hours=None
        if not quiet
        else QuietHours(time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])),
        broadcast=bool(doc.get("broadcast")),
        status=PushStatus(doc["status"]),
        created_at=_utc(doc.get("created_at")) or datetime.now(UTC),
        segment_version=doc.get("segment_version"),
        audience_size=doc.get("audience_size"),
        resume_at=_utc(doc.get("resume_at")),
        note=doc.get("note", ""),
    )
