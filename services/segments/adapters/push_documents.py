"""Pushes as MongoDB documents and back: a new push is written from the domain's
:class:`~services.segments.domain.pushes.Push`, and the worker reads it back into one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from services.segments.domain.pushes import (
    Article,
    Creator,
    FrequencyCap,
    MessageContent,
    Push,
    PushStatus,
    QuietHours,
    SubscriptionContent,
    TemplateContent,
    Variant,
)

__all__ = ["draft_content", "push_from_document", "push_to_document", "variant_from_document", "variant_to_document"]


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
        send_at=_utc(doc.get("send_at")),
        cap=FrequencyCap(per_day=int(cap.get("per_day", 1)), per_week=int(cap.get("per_week", 3))),
        quiet_hours=None
        if not quiet
        else QuietHours(time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])),
        broadcast=bool(doc.get("broadcast")),
        status=PushStatus(doc["status"]),
        created_at=_utc(doc.get("created_at")) or datetime.now(UTC),
        segment_version=doc.get("segment_version"),
        segment_name=doc.get("segment_name"),
        audience_size=doc.get("audience_size"),
        resume_at=_utc(doc.get("resume_at")),
        note=doc.get("note", ""),
        created_by=_creator(doc.get("created_by")),
        project_id=doc.get("project_id"),
        wait_for_window=_hours(doc.get("wait_for_window_hours")),
        marketing=bool(doc.get("marketing")),
    )


def _hours(value: Any) -> timedelta | None:
    return None if value is None else timedelta(hours=int(value))


def _creator(doc: Mapping[str, Any] | None) -> Creator | None:
    return None if not doc else Creator(id=str(doc["id"]), name=str(doc["name"]))


def variant_to_document(variant: Variant) -> dict[str, Any]:
    message, template, subscription = variant.message, variant.template, variant.subscription
    return {
        "name": variant.name,
        "weight": variant.weight,
        "message": None
        if message is None
        else {
            "kind": message.kind,
            "text": message.text,
            "media_id": message.media_id,
            "articles": [
                {"title": a.title, "url": a.url, "description": a.description, "picurl": a.picurl}
                for a in message.articles
            ],
        },
        "template": None
        if template is None
        else {"template_id": template.template_id, "data": dict(template.data), "url": template.url},
        "subscription": None
        if subscription is None
        else {"template_id": subscription.template_id, "data": dict(subscription.data), "page": subscription.page},
    }


def draft_content(push: Push) -> dict[str, Any]:
    """What an operator composes of a push (all a draft's edit replaces)."""
    quiet = push.quiet_hours
    return {
        "name": push.name,
        "segment_id": push.segment_id,
        "variants": [variant_to_document(v) for v in push.variants],
        "send_at": push.send_at,
        "quiet_hours": None if quiet is None else {"start": quiet.start.isoformat(), "end": quiet.end.isoformat()},
        "cap": {"per_day": push.cap.per_day, "per_week": push.cap.per_week},
        "broadcast": push.broadcast,
        "project_id": push.project_id,
        "wait_for_window_hours": None
        if push.wait_for_window is None
        else int(push.wait_for_window.total_seconds() // 3600),
        "marketing": push.marketing,
    }


def push_to_document(push: Push) -> dict[str, Any]:
    """A new push's document (version 1), with empty stats and no lease."""
    return {
        "_id": push.id,
        "appid": push.appid,
        **draft_content(push),
        "version": 1,
        "status": push.status.value,
        "created_at": push.created_at,
        "resume_at": push.resume_at,
        "lease_until": None,
        "note": push.note,
        "created_by": None if push.created_by is None else {"id": push.created_by.id, "name": push.created_by.name},
        "stats": {"total": {"targeted": 0, "sent": 0, "clicked": 0}},
    }
