"""Member facts from the profiles service's documents, and rules as MongoDB filters over them.

Profile documents are read only as the profiles service declares them (``PROFILES_READ_MODEL``).

The live index is filled from these documents at start (:func:`facts_from_profile`). The filters
(:func:`rule_filter`) answer the same rules straight from MongoDB: the benchmark puts the two side by
side, and they are the fallback for a process that has not built its index yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.segments.domain.rules import All, AnyOf, MemberFacts, Not, Predicate, Rule
from shared.contracts import PROFILES_READ_MODEL, stage_span_filter
from shared.maternal_infant import (
    Basis,
    Stage,
    spans_for_age_months,
    spans_for_pregnancy_weeks,
    spans_for_stage,
    spend_tier,
)

__all__ = ["FACT_FIELDS", "NotQueryable", "facts_from_profile", "rule_filter"]


class NotQueryable(ValueError):
    """A rule that asks what profile documents do not hold (campaigns, invites, spend tiers)."""


#: The fields :func:`facts_from_profile` reads: what the index loads from every profile.
FACT_FIELDS = PROFILES_READ_MODEL.projection(
    "appid", "openid", "tags", "stage", "follow", "last_active_at", "consents", "spend_by_month"
)


def facts_from_profile(doc: dict[str, Any], today: date, participation: Mapping[str, int] | None = None) -> MemberFacts:
    """What a rule can ask of the member a profile document describes.

    Tag weights are the stored ones (the strongest source per code); the stage is the stored
    counting declaration, so the stage itself is worked out on the day a rule is evaluated. The spend
    tier is the one of the twelve months up to ``today``. ``participation`` (campaign id -> credited
    invites) comes from the campaigns' participants, which profile documents do not hold.
    """
    tags: dict[str, float] = {}
    for tag in doc.get("tags", ()):
        tags[tag["code"]] = max(tags.get(tag["code"], 0.0), float(tag["weight"]))
    stage = doc.get("stage") or {}
    follow = doc.get("follow") or {}
    consents = frozenset(kind for kind, consent in (doc.get("consents") or {}).items() if consent.get("given"))
    return MemberFacts(
        appid=doc["appid"],
        openid=doc["openid"],
        tags=tags,
        stage_basis=Basis(stage["basis"]) if stage else None,
        stage_on=date.fromisoformat(stage["on"]) if stage.get("on") else None,
        following=bool(follow.get("following")),
        first_followed_at=follow.get("first_followed_at"),
        last_active_at=doc.get("last_active_at"),
        consents=consents,
        campaigns=frozenset(participation or ()),
        invites=dict(participation or {}),
        spend_tier=spend_tier(doc.get("spend_by_month") or {}, today),
    )


def rule_filter(rule: Rule, now: datetime) -> dict[str, Any]:
    """The MongoDB filter over profile documents that selects ``rule``'s members as of ``now``."""
    match rule:
        case All(children):
            return {"$and": [rule_filter(child, now) for child in children]}
        case AnyOf(children):
            return {"$or": [rule_filter(child, now) for child in children]}
        case Not(child):
            return {"$nor": [rule_filter(child, now)]}
        case Predicate(kind, value):
            return _predicate_filter(kind, value, now)
    raise TypeError(f"not a rule: {rule!r}")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _predicate_filter(kind: str, value: Any, now: datetime) -> dict[str, Any]:
    today = now.date()
    match kind:
        case "has_tag":
            return {"tags.code": value}
        case "tag_weight":
            return {"tags": {"$elemMatch": {"code": value[0], "weight": {"$gte": value[1]}}}}
        case "stage_in":
            spans = [span for code in sorted(value) for span in spans_for_stage(Stage(code), today)]
            return {"$or": [stage_span_filter(span) for span in spans]}
        case "pregnancy_week":
            spans = spans_for_pregnancy_weeks(value[0], value[1], today)
            return {"$or": [stage_span_filter(span) for span in spans]} if spans else {"_id": {"$in": []}}
        case "baby_age_months":
            spans = spans_for_age_months(value[0], value[1], today)
            return {"$or": [stage_span_filter(span) for span in spans]} if spans else {"_id": {"$in": []}}
        case "followed_since":
            return {"follow.first_followed_at": {"$gte": _start_of(value)}}
        case "followed_before":
            return {"follow.first_followed_at": {"$lt": _start_of(value)}}
        case "active_within_days":
            return {"last_active_at": {"$gte": _start_of((now - timedelta(days=value)).date())}}
        case "consent":
            return {f"consents.{value}.given": True}
        case "account":
            return {"appid": value}
    raise NotQueryable(f"{kind} is not in profile documents")
