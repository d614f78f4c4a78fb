"""Campaigns in MongoDB (the :class:`CampaignRepository` port), with optimistic concurrency on ``version``."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.campaigns.domain.campaign import (
    Campaign,
    CampaignStatus,
    InviteTier,
    JoinMethods,
    Messages,
    PosterTemplate,
    QrBox,
    RewardBasis,
    Rules,
    TextSlot,
    VersionConflict,
)
from services.campaigns.domain.payouts import RecheckMode, SharePayoutPolicy
from services.campaigns.service_layer.ports import CampaignRepository
from shared.storage import IndexSpec, StorageError

CAMPAIGNS = "campaigns"

INDEXES = (
    IndexSpec(CAMPAIGNS, (("appid", 1), ("created_at", -1)), name="appid_created"),
    IndexSpec(CAMPAIGNS, (("appid", 1), ("status", 1), ("created_at", -1)), name="appid_status_created"),
)


def to_document(campaign: Campaign) -> dict[str, Any]:
    template = campaign.template
    return {
        "_id": campaign.id,
        "appid": campaign.appid,
        "name": campaign.name,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        "status": campaign.status.value,
        "join": {
            "follow_qr": campaign.join.follow_qr,
            "keywords": list(campaign.join.keywords),
            "menu_keys": list(campaign.join.menu_keys),
        },
        "template": None
        if template is None
        else {
            "image_id": template.image_id,
            "width": template.width,
            "height": template.height,
            "qr": {"x": template.qr.x, "y": template.qr.y, "size": template.qr.size},
            "text_slots": [
                {"name": s.name, "x": s.x, "y": s.y, "font_size": s.font_size, "colour": s.colour}
                for s in template.text_slots
            ],
        },
        "tiers": [{"count": tier.count, "pool": tier.pool} for tier in campaign.tiers],
        "messages": {name: getattr(campaign.messages, name) for name in Messages.PLACEHOLDERS},
        "rules": {
            "first_time_followers_only": campaign.rules.first_time_followers_only,
            "revoke_if_unfollowed_within_hours": campaign.rules.revoke_if_unfollowed_within_hours,
            "per_inviter_daily_cap": campaign.rules.per_inviter_daily_cap,
            "blacklist": sorted(campaign.rules.blacklist),
        },
        "reward_basis": campaign.reward_basis.value,
        "share_screenshot_task": campaign.share_screenshot_task,
        "share_reward_pool": campaign.share_reward_pool,
        "version": campaign.version,
        "archived_at": campaign.archived_at,
        "share_payout": _payout_document(campaign.share_payout),
    }


def _payout_document(policy: SharePayoutPolicy) -> dict[str, Any]:
    return {
        "delay_hours": policy.delay_hours,
        "recheck": policy.recheck.value,
        "recheck_percent": policy.recheck_percent,
        "recheck_after_hours": policy.recheck_after_hours,
        "recheck_deadline_hours": policy.recheck_deadline_hours,
    }


def _payout_policy(document: dict[str, Any] | None) -> SharePayoutPolicy:
    if document is None:  # campaigns from before delayed payouts pay at approval
        return SharePayoutPolicy()
    return SharePayoutPolicy(**(document | {"recheck": RecheckMode(document["recheck"])}))


def from_document(document: dict[str, Any]) -> Campaign:
    join, rules, template = document["join"], document["rules"], document.get("template")
    return Campaign(
        id=document["_id"],
        appid=document["appid"],
        name=document["name"],
        starts_at=document["starts_at"],
        ends_at=document["ends_at"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        status=CampaignStatus(document["status"]),
        join=JoinMethods(join["follow_qr"], tuple(join["keywords"]), tuple(join["menu_keys"])),
        template=None
        if template is None
        else PosterTemplate(
            image_id=template["image_id"],
            width=template["width"],
            height=template["height"],
            qr=QrBox(**template["qr"]),
            text_slots=tuple(TextSlot(**slot) for slot in template["text_slots"]),
        ),
        tiers=tuple(InviteTier(tier["count"], tier["pool"]) for tier in document["tiers"]),
        messages=Messages(**document["messages"]),  # texts added later take their defaults
        rules=Rules(
            first_time_followers_only=rules["first_time_followers_only"],
            revoke_if_unfollowed_within_hours=rules["revoke_if_unfollowed_within_hours"],
            per_inviter_daily_cap=rules["per_inviter_daily_cap"],
            blacklist=frozenset(rules["blacklist"]),
        ),
        reward_basis=RewardBasis(document["reward_basis"]),
        share_screenshot_task=document["share_screenshot_task"],
        share_reward_pool=document.get("share_reward_pool"),
        version=document["version"],
        archived_at=document.get("archived_at"),
        share_payout=_payout_policy(document.get("share_payout")),
    )


class MongoCampaignRepository(CampaignRepository):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._collection = database[CAMPAIGNS]

    async def add(self, campaign: Campaign) -> None:
        document = to_document(campaign) | {"version": 1}
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError as exc:
            raise VersionConflict(f"campaign {campaign.id!r} already exists") from exc
        except PyMongoError as exc:
            raise StorageError(f"campaign not stored: {type(exc).__name__}") from exc
        campaign.version = 1

    async def delete_draft(self, appid: str, campaign_id: str, version: int) -> bool:
        query = {"_id": campaign_id, "appid": appid, "status": CampaignStatus.DRAFT.value, "version": version}
        try:
            result = await self._collection.delete_one(query)
        except PyMongoError as exc:
            raise StorageError(f"campaign not deleted: {type(exc).__name__}") from exc
        return result.deleted_count == 1

    async def get(self, appid: str, campaign_id: str) -> Campaign | None:
        document = await self._collection.find_one({"_id": campaign_id, "appid": appid})
        return None if document is None else from_document(document)

    async def save(self, campaign: Campaign) -> None:
        document = to_document(campaign) | {"version": campaign.version + 1}
        try:
            result = await self._collection.replace_one(
                {"_id": campaign.id, "appid": campaign.appid, "version": campaign.version}, document
            )
        except PyMongoError as exc:
            raise StorageError(f"campaign not stored: {type(exc).__name__}") from exc
        if result.matched_count != 1:
            raise VersionConflict(
                f"campaign {campaign.id!r} changed since version {campaign.version} was read; reload and retry"
            )
        campaign.version += 1

    async def list(
        self,
        appid: str,
        *,
        status: CampaignStatus | None = None,
        limit: int = 50,
        offset: int = 0,
        archived: bool | None = None,
    ) -> list[Campaign]:
        query: dict[str, Any] = {"appid": appid}
        if status is not None:
            query["status"] = status.value
        if archived is not None:
            query["archived_at"] = {"$ne": None} if archived else None
        cursor = self._collection.find(query).sort([("created_at", -1), ("_id", 1)]).skip(offset).limit(limit)
        return [from_document(document) async for document in cursor]
