"""Campaign statistics, read straight from the flow's own records (participants, invitations,
rejections, rewards): what the stats endpoints, the CSV export and the demo report."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.referrals import INVITATIONS, PARTICIPANTS, REJECTIONS, REWARDS
from services.campaigns.adapters.share_screenshots import SUBMISSIONS
from services.campaigns.domain.results import (
    MAX_INVITEES_LISTED,
    CampaignStats,
    InviteeRow,
    LeaderboardRow,
    MemberCampaign,
    MemberReward,
    ParticipantRow,
    merge_invitees,
)
from services.campaigns.service_layer.ports import CampaignResults


class MongoCampaignStats(CampaignResults):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database

    async def _group(self, collection: str, match: dict[str, Any], key: str) -> dict[Any, int]:
        rows = await self._db[collection].aggregate(
            [{"$match": match}, {"$group": {"_id": f"${key}", "n": {"$sum": 1}}}]
        )
        return {row["_id"]: int(row["n"]) async for row in rows}

    async def of(self, campaign_id: str, *, top: int = 10) -> CampaignStats:
        match = {"campaign_id": campaign_id}
        joined_via = await self._group(PARTICIPANTS, match, "joined_via")
        invitations = await self._group(INVITATIONS, match, "status")
        rewards = await self._group(REWARDS, match, "tier")
        tiers = match | {"tier": {"$gt": 0}}
        by_status = await self._db[REWARDS].aggregate(
            [{"$match": tiers}, {"$group": {"_id": {"tier": "$tier", "status": "$status"}, "n": {"$sum": 1}}}]
        )
        tier_rewards: dict[int, dict[str, int]] = {}
        async for row in by_status:
            status = row["_id"].get("status") or "granted"
            tier_rewards.setdefault(int(row["_id"]["tier"]), {})[status] = int(row["n"])
        return CampaignStats(
            participants=sum(joined_via.values()),
            posters_sent=await self._db[PARTICIPANTS].count_documents(match | {"poster_sent_at": {"$ne": None}}),
            joined_via=joined_via,
            invites_credited=invitations.get("credited", 0),
            invites_revoked=invitations.get("revoked", 0),
            rejections=await self._group(REJECTIONS, match, "reason"),
            # Tier 0 is the share-screenshot reward, reported on its own.
            rewards_granted={int(tier): n for tier, n in sorted(rewards.items()) if int(tier) > 0},
            screenshots=await self._group(SUBMISSIONS, match, "status"),
            share_rewards_granted=rewards.get(0, 0),
            rewards_awaiting_stock=await self._db[REWARDS].count_documents(match | {"status": "awaiting_stock"}),
            leaderboard=await self.leaderboard(campaign_id, limit=top),
            # Grouped over the rewards (a few per member who reached a tier), never over participants.
            members_reached_tier=len(await self._group(REWARDS, tiers, "inviter")),
            members_rewarded=len(await self._group(REWARDS, tiers | {"status": "issued"}, "inviter")),
            tier_rewards=tier_rewards,
        )

    async def leaderboard(self, campaign_id: str, *, limit: int = 10) -> list[LeaderboardRow]:
        """Top inviters by standing credit; ties go to whoever joined first."""
        cursor = (
            self._db[PARTICIPANTS]
            .find({"campaign_id": campaign_id, "credited": {"$gt": 0}})
            .sort([("credited", -1), ("joined_at", 1)])
            .limit(limit)
        )
        docs = [doc async for doc in cursor]
        return [
            LeaderboardRow(
                rank=rank,
                openid=doc["openid"],
                credited=doc["credited"],
                revoked=doc.get("revoked", 0),
                tiers_granted=list(doc.get("tiers_granted", [])),
                joined_at=doc["joined_at"],
            )
            for rank, doc in enumerate(docs, start=1)
        ]

    async def rewards(self, campaign_id: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        """Grants, oldest first, with the coupon code each one was issued (None until delivery)."""
        cursor = self._db[REWARDS].find({"campaign_id": campaign_id}).sort([("granted_at", 1), ("_id", 1)])
        return [doc async for doc in cursor.skip(offset).limit(limit)]

    async def participants(self, campaign_id: str) -> AsyncIterator[dict[str, Any]]:
        """Every participant, in join order, for the CSV export (streamed, never all in memory)."""
        cursor = self._db[PARTICIPANTS].find({"campaign_id": campaign_id}).sort([("joined_at", 1), ("_id", 1)])
        async for doc in cursor:
            yield doc

    async def participant_page(
        self, campaign_id: str, *, openid_prefix: str | None, limit: int, offset: int
    ) -> tuple[list[ParticipantRow], int]:
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if openid_prefix:
            # A participant's _id is "<campaign>:<openid>": an anchored prefix the _id index serves.
            query["_id"] = {"$regex": "^" + re.escape(f"{campaign_id}:{openid_prefix}")}
        cursor = self._db[PARTICIPANTS].find(query).sort([("joined_at", 1), ("_id", 1)]).skip(offset).limit(limit)
        rows = [_participant_row(doc) async for doc in cursor]
        return rows, await self._db[PARTICIPANTS].count_documents(query)

    async def member_campaigns(self, appid: str, openid: str, *, limit: int) -> list[MemberCampaign]:
        cursor = self._db[PARTICIPANTS].find({"appid": appid, "openid": openid}).sort([("joined_at", -1)]).limit(limit)
        found = []
        async for doc in cursor:
            campaign_id = doc["campaign_id"]
            mine = {"campaign_id": campaign_id, "inviter": openid}
            credits = self._db[INVITATIONS].find(mine).sort([("credited_at", 1)]).limit(MAX_INVITEES_LISTED + 1)
            refusals = self._db[REJECTIONS].find(mine).sort([("at", 1)]).limit(MAX_INVITEES_LISTED + 1)
            invitees, more = merge_invitees(
                [
                    InviteeRow(i["invitee"], i["status"], None, i.get("revoked_at") or i["credited_at"])
                    async for i in credits
                ],
                [InviteeRow(r["invitee"], "refused", r["reason"], r["at"]) async for r in refusals],
            )
            rewards = self._db[REWARDS].find(mine).sort([("tier", 1)])
            found.append(
                MemberCampaign(
                    campaign_id=campaign_id,
                    joined_at=doc["joined_at"],
                    joined_via=doc["joined_via"],
                    credited=doc.get("credited", 0),
                    revoked=doc.get("revoked", 0),
                    tiers_granted=list(doc.get("tiers_granted", [])),
                    invitees=invitees,
                    invitees_more=more,
                    rewards=[
                        MemberReward(r["tier"], r["pool"], r["granted_at"], r.get("status", "granted"), r.get("code"))
                        async for r in rewards
                    ],
                    share_submissions=await self._db[SUBMISSIONS].count_documents(
                        {"campaign_id": campaign_id, "openid": openid}
                    ),
                )
            )
        return found


def _participant_row(doc: dict[str, Any]) -> ParticipantRow:
    return ParticipantRow(
        openid=doc["openid"],
        joined_at=doc["joined_at"],
        joined_via=doc["joined_via"],
        credited=doc.get("credited", 0),
        revoked=doc.get("revoked", 0),
        tiers_granted=list(doc.get("tiers_granted", [])),
        poster_sent_at=doc.get("poster_sent_at"),
    )
