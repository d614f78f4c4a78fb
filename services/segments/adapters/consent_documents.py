"""The stored shape of a subscription-message consent, shared by the MongoDB and in-memory stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.segments.domain.consents import ConsentChange, ConsentStatus, SubscriptionConsent

__all__ = ["consent_from_document", "consent_update"]


def consent_from_document(doc: dict[str, Any]) -> SubscriptionConsent:
    updated = doc.get("updated_at") or datetime.fromtimestamp(0, UTC)
    return SubscriptionConsent(
        appid=doc["appid"],
        openid=doc["openid"],
        template_id=doc["template_id"],
        status=ConsentStatus(doc["status"]),
        credits=int(doc.get("credits", 0)),
        long_term=bool(doc.get("long_term")),
        updated_at=updated.replace(tzinfo=UTC) if updated.tzinfo is None else updated,
        last_answer=str(doc.get("last_answer", "")),
    )


def consent_update(change: ConsentChange, *, long_term: bool, at: datetime, answer: str) -> dict[str, Any]:
    """The update (with upsert) that applies ``change``; the in-memory store follows the same table."""
    seen: dict[str, Any] = {"updated_at": at} | ({"last_answer": answer} if answer else {})
    if change is ConsentChange.GRANT:
        update: dict[str, Any] = {"$set": seen | {"status": ConsentStatus.ACCEPTED.value, "long_term": long_term}}
        if long_term:
            update["$setOnInsert"] = {"credits": 0}
        else:
            update["$inc"] = {"credits": 1}
        return update
    if change is ConsentChange.DECLINE:  # what was allowed stays; a first answer is a rejection
        return {
            "$set": seen,
            "$setOnInsert": {"status": ConsentStatus.REJECTED.value, "credits": 0, "long_term": long_term},
        }
    if change is ConsentChange.CANCEL:
        return {
            "$set": seen | {"status": ConsentStatus.CANCELLED.value, "credits": 0},
            "$setOnInsert": {"long_term": long_term},
        }
    return {  # RESUME: allowed again; one-time credits dropped by the cancel stay dropped
        "$set": seen | {"status": ConsentStatus.ACCEPTED.value},
        "$setOnInsert": {"credits": 0, "long_term": long_term},
    }
