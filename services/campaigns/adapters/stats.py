"""Campaign statistics: the figures from the campaign's counters (kept in the transactions of the
writes they count, :mod:`services.campaigns.domain.counters`), the leaderboard, listings and the
export from the flow's own records (indexed, paged or streamed); what the stats endpoints, the CSV
export and the demo report. :class:`MongoCounterRebuild` recomputes the counters from the records."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.campaigns import CAMPAIGNS
from services.campaigns.adapters.counters import campaign_counters
from services.campaigns.adapters.referrals import INVITATIONS, PARTICIPANTS, REJECTIONS, REWARDS
from services.campaigns.adapters.share_screenshots import SUBMISSIONS
from services.campaigns.domain.counters import (
    CONFIRMED,
    Counts,
    account_scope,
    campaign_scope,
    invitation_change,
    participant_change,
    recount,
    rejection,
    stats_figures,
    submission_change,
)
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
        self._counters = campaign_counters(database)

    async def of(self, campaign_id: str, *, top: int = 10) -> CampaignStats:
        # A few counter documents, whatever the campaign's size; only the leaderboard reads records
        # (its index, sorted, the first ``top``).
        figures = stats_figures(await self._counters.read(campaign_scope(campaign_id)))
        return CampaignStats(**vars(figures), leaderboard=await self.leaderboard(campaign_id, limit=top))

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
        if not openid_prefix:
            return rows, stats_figures(await self._counters.read(campaign_scope(campaign_id))).participants
        # Those whose openid starts with the prefix: a range of the _id index, not the campaign.
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


class MongoCounterRebuild:
    """Recomputes the counters from the records: for campaigns from before the counters, and for repair.

    Each scope is recounted with grouped reads over the records' indexes and replaced in one
    transaction that checks no counted write committed meanwhile (:meth:`MongoCounters.rebuild`)."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database
        self._counters = campaign_counters(database)

    async def _group(self, collection: str, match: dict[str, Any], key: dict[str, Any] | str) -> list[Any]:
        rows = await self._db[collection].aggregate(
            [{"$match": match}, {"$group": {"_id": key if isinstance(key, dict) else f"${key}", "n": {"$sum": 1}}}]
        )
        return [(row["_id"], int(row["n"])) async for row in rows]

    async def recount_campaign(self, campaign_id: str) -> Counts:
        match = {"campaign_id": campaign_id}
        total: Counter[str] = Counter()

        def add(counts: Counts, n: int) -> None:
            total.update({name: count * n for name, count in counts.items()})

        sent = {"$ne": [{"$ifNull": ["$poster_sent_at", None]}, None]}
        for key, n in await self._group(PARTICIPANTS, match, {"via": "$joined_via", "sent": sent}):
            add(participant_change(None, (key["via"], bool(key["sent"]))), n)
        for status, n in await self._group(INVITATIONS, match, "status"):
            add(invitation_change(None, status), n)
        # Confirmed: standing credits no longer waiting for their window (credits from before
        # confirmation existed never waited, and count as confirmed too).
        confirmed = await self._db[INVITATIONS].count_documents({**match, "status": "credited", "confirms_at": None})
        add({CONFIRMED: 1}, confirmed)
        for reason, n in await self._group(REJECTIONS, match, "reason"):
            add(rejection(reason), n)
        for status, n in await self._group(SUBMISSIONS, match, "status"):
            add(submission_change(None, status), n)
        # Grants are a few per member who reached a tier: read one by one for the members' figures.
        grants = self._db[REWARDS].find(match, {"inviter": 1, "tier": 1, "status": 1})
        total.update(recount([], [], [], [(g["inviter"], int(g["tier"]), g.get("status")) async for g in grants], []))
        return {name: n for name, n in total.items() if n}

    async def recount_account(self, appid: str) -> Counts:
        total: Counts = {}
        for status, n in await self._group(SUBMISSIONS, {"appid": appid}, "status"):
            total.update({name: count * n for name, count in submission_change(None, status).items()})
        return total

    async def campaigns(self, appid: str | None = None) -> list[tuple[str, str]]:
        """``(appid, campaign id)`` of every campaign (of one account)."""
        query = {} if appid is None else {"appid": appid}
        return [(doc["appid"], doc["_id"]) async for doc in self._db[CAMPAIGNS].find(query, {"appid": 1})]

    async def rebuild_campaign(self, campaign_id: str) -> Counts:
        return await self._counters.rebuild(campaign_scope(campaign_id), lambda: self.recount_campaign(campaign_id))

    async def rebuild_account(self, appid: str) -> Counts:
        return await self._counters.rebuild(account_scope(appid), lambda: self.recount_account(appid))
