"""MongoDB storage of poster variants: a plan per campaign, the variant each member was given, and the
variants' counts.

``campaign_poster_variants`` holds one plan per campaign; ``campaign_poster_assignments`` one document
per (campaign, member), written once (the first variant given stays); ``campaign_variant_scans`` one
per push counted (its event id), so a redelivered push counts once. The counts live in
``campaign_counters`` under the scope ``variants:<campaign>`` (not the campaign's own scope, which
the counter rebuild replaces), changed in the transaction of the write they count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.counters import campaign_counters
from services.campaigns.domain.campaign import PosterTemplate, QrBox, TextSlot
from services.campaigns.domain.variants import AutoShift, PosterVariant, VariantPlan
from services.campaigns.service_layer.ports import PosterVariants
from shared.storage import IndexSpec

__all__ = ["ASSIGNMENTS", "INDEXES", "PLANS", "SCANS", "MongoPosterVariants", "variant_scope"]

PLANS = "campaign_poster_variants"
ASSIGNMENTS = "campaign_poster_assignments"
SCANS = "campaign_variant_scans"

INDEXES = (
    IndexSpec(PLANS, (("appid", 1),), name="account"),
    IndexSpec(ASSIGNMENTS, (("campaign_id", 1), ("variant", 1)), name="campaign_variant"),
    IndexSpec(SCANS, (("campaign_id", 1), ("variant", 1)), name="campaign_variant"),
)


def variant_scope(campaign_id: str) -> str:
    return f"variants:{campaign_id}"


def template_document(template: PosterTemplate) -> dict[str, Any]:
    return {
        "image_id": template.image_id,
        "width": template.width,
        "height": template.height,
        "qr": {"x": template.qr.x, "y": template.qr.y, "size": template.qr.size},
        "text_slots": [
            {"name": s.name, "x": s.x, "y": s.y, "font_size": s.font_size, "colour": s.colour}
            for s in template.text_slots
        ],
    }


def template_of(document: dict[str, Any]) -> PosterTemplate:
    return PosterTemplate(
        image_id=document["image_id"],
        width=document["width"],
        height=document["height"],
        qr=QrBox(**document["qr"]),
        text_slots=tuple(TextSlot(**slot) for slot in document["text_slots"]),
    )


def plan_document(appid: str, plan: VariantPlan) -> dict[str, Any]:
    return {
        "_id": plan.campaign_id,
        "appid": appid,
        "primary_weight": plan.primary_weight,
        "auto_shift": {"enabled": plan.auto_shift.enabled, "min_sample": plan.auto_shift.min_sample},
        "variants": [
            {"key": v.key, "weight": v.weight, "template": template_document(v.template)} for v in plan.variants
        ],
    }


def plan_of(document: dict[str, Any]) -> VariantPlan:
    return VariantPlan(
        campaign_id=document["_id"],
        variants=tuple(
            PosterVariant(v["key"], template_of(v["template"]), int(v["weight"])) for v in document["variants"]
        ),
        primary_weight=int(document["primary_weight"]),
        auto_shift=AutoShift(**document["auto_shift"]),
    )


class MongoPosterVariants(PosterVariants):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database
        self._counters = campaign_counters(database)

    async def plan(self, campaign_id: str) -> VariantPlan | None:
        document = await self._db[PLANS].find_one({"_id": campaign_id})
        return None if document is None else plan_of(document)

    async def save_plan(self, appid: str, plan: VariantPlan) -> None:
        await self._db[PLANS].replace_one({"_id": plan.campaign_id}, plan_document(appid, plan), upsert=True)

    async def assignment(self, campaign_id: str, openid: str) -> str | None:
        document = await self._db[ASSIGNMENTS].find_one({"_id": f"{campaign_id}:{openid}"}, {"variant": 1})
        return None if document is None else str(document["variant"])

    async def _insert_counted(self, collection: str, document: dict[str, Any], counts: dict[str, int]) -> bool:
        campaign_id = document["campaign_id"]

        async def write(session: AsyncClientSession) -> bool:
            result = await self._db[collection].update_one(
                {"_id": document["_id"]}, {"$setOnInsert": document}, upsert=True, session=session
            )
            if result.upserted_id is None:
                return False
            await self._counters.add(variant_scope(campaign_id), document["_id"], counts, session=session)
            return True

        return await self._counters.transaction(write)

    async def assign(self, campaign_id: str, openid: str, variant: str) -> str:
        document = {
            "_id": f"{campaign_id}:{openid}",
            "campaign_id": campaign_id,
            "variant": variant,
            "at": datetime.now(UTC),
        }
        if await self._insert_counted(ASSIGNMENTS, document, {f"members:{variant}": 1}):
            return variant
        return await self.assignment(campaign_id, openid) or variant

    async def count_scan(self, campaign_id: str, event_id: str, variant: str, *, follow: bool, credited: bool) -> bool:
        document = {
            "_id": event_id,
            "campaign_id": campaign_id,
            "variant": variant,
            "follow": follow,
            "credited": credited,
            "at": datetime.now(UTC),
        }
        counts = {f"scans:{variant}": 1, f"follows:{variant}": int(follow), f"credited:{variant}": int(credited)}
        return await self._insert_counted(SCANS, document, counts)

    async def counts(self, campaign_id: str) -> dict[str, int]:
        return await self._counters.read(variant_scope(campaign_id))
