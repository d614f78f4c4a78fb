"""In-memory implementations of the campaign ports, for the use-case tests (one module, shared)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.campaigns.domain.campaign import Campaign, CampaignStatus, VersionConflict
from services.campaigns.domain.participants import Invitation, Notice, Participant
from services.campaigns.domain.results import CampaignStats, LeaderboardRow
from services.campaigns.domain.rewards import PoolStock
from services.campaigns.domain.submissions import STATUS, AuditEntry, SubmissionRecord
from services.campaigns.service_layer.ports import (
    AddedCodes,
    CampaignRepository,
    CampaignResults,
    ImageInfo,
    JoinCode,
    JoinCodes,
    ReferralStore,
    ReferralUnitOfWork,
    RewardPools,
    ShareScreenshotStore,
    TemplateImage,
    TemplateStore,
)
from services.screenshots import Decision, PriorShot


class MemoryCampaigns(CampaignRepository):
    def __init__(self) -> None:
        self.saved: dict[str, Campaign] = {}
        #: Set to make the next save lose a race with someone else's.
        self.conflict_next_save = False

    async def add(self, campaign: Campaign) -> None:
        campaign.version = 1
        self.saved[campaign.id] = copy.deepcopy(campaign)

    async def get(self, appid: str, campaign_id: str) -> Campaign | None:
        found = self.saved.get(campaign_id)
        return copy.deepcopy(found) if found is not None and found.appid == appid else None

    async def save(self, campaign: Campaign) -> None:
        stored = self.saved[campaign.id]
        if self.conflict_next_save or stored.version != campaign.version:
            self.conflict_next_save = False
            raise VersionConflict(f"campaign {campaign.id!r} changed since version {campaign.version} was read")
        campaign.version += 1
        self.saved[campaign.id] = copy.deepcopy(campaign)

    async def list(
        self, appid: str, *, status: CampaignStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[Campaign]:
        found = [c for c in self.saved.values() if c.appid == appid and (status is None or c.status is status)]
        found.sort(key=lambda c: c.created_at, reverse=True)
        return [copy.deepcopy(c) for c in found[offset : offset + limit]]


class MemoryTemplates(TemplateStore):
    def __init__(self) -> None:
        self.images: dict[str, tuple[TemplateImage, bytes]] = {}
        self.deleted: list[str] = []

    async def put(self, appid: str, campaign_id: str, data: bytes, info: ImageInfo) -> TemplateImage:
        image = TemplateImage(f"img{len(self.images) + 1}", appid, campaign_id, info, "sha", datetime.now(UTC))
        self.images[image.id] = (image, data)
        return image

    async def get(self, campaign_id: str, image_id: str) -> TemplateImage | None:
        found = self.images.get(image_id)
        return found[0] if found is not None and found[0].campaign_id == campaign_id else None

    async def read(self, image_id: str) -> bytes | None:
        found = self.images.get(image_id)
        return None if found is None else found[1]

    async def delete(self, image_id: str) -> None:
        self.images.pop(image_id, None)
        self.deleted.append(image_id)


class MemoryPools(RewardPools):
    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], dict[str, str | None]] = {}

    async def add_codes(self, campaign_id: str, pool: str, codes: Iterable[str]) -> AddedCodes:
        held = self.codes.setdefault((campaign_id, pool), {})
        given = list(dict.fromkeys(codes))
        new = [code for code in given if code not in held]
        for code in new:
            held[code] = None
        return AddedCodes(added=len(new), already_in_pool=len(given) - len(new))

    async def generate(self, campaign_id: str, pool: str, count: int) -> int:
        held = self.codes.setdefault((campaign_id, pool), {})
        start = len(held)
        for n in range(count):
            held[f"GEN{start + n:06d}"] = None
        return count

    async def allocate(self, campaign_id: str, pool: str, grant_key: str) -> str | None:
        held = self.codes.setdefault((campaign_id, pool), {})
        for code, owner in held.items():
            if owner == grant_key:
                return code
        for code, owner in held.items():
            if owner is None:
                held[code] = grant_key
                return code
        return None

    async def stock(self, campaign_id: str) -> list[PoolStock]:
        return [
            PoolStock(pool, len(held), sum(1 for owner in held.values() if owner is not None))
            for (campaign, pool), held in sorted(self.codes.items())
            if campaign == campaign_id and held
        ]


class MemoryJoinCodes(JoinCodes):
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def current(self, appid: str, campaign_id: str, *, ends_at: datetime, now: datetime) -> JoinCode:
        self.asked.append(campaign_id)
        return JoinCode(campaign_id, f"j.{campaign_id}", "ticket", "http://weixin.qq.com/q/j", "https://qr/j", ends_at)


class MemoryResults(CampaignResults):
    def __init__(self, participants: list[dict[str, Any]] | None = None) -> None:
        self.rows = participants or []

    async def of(self, campaign_id: str, *, top: int = 10) -> CampaignStats:
        return CampaignStats(len(self.rows), 0, {}, 0, 0, {}, {}, 0)

    async def leaderboard(self, campaign_id: str, *, limit: int = 10) -> list[LeaderboardRow]:
        return []

    async def rewards(self, campaign_id: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        return []

    async def participants(self, campaign_id: str) -> AsyncIterator[dict[str, Any]]:
        for row in self.rows:
            yield row


class MemoryScreenshots(ShareScreenshotStore):
    def __init__(self) -> None:
        self.records: dict[str, SubmissionRecord] = {}
        self.images: dict[str, tuple[bytes, str]] = {}
        self.entries: list[AuditEntry] = []

    async def add(self, record: SubmissionRecord) -> bool:
        if record.id in self.records:
            return False
        self.records[record.id] = record
        return True

    async def keep_image(self, submission: str, content: bytes, content_type: str) -> None:
        self.images.setdefault(submission, (content, content_type))

    async def audit(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def settle_review(
        self, submission: str, decision: Decision, reviewer: str, note: str | None, at: datetime
    ) -> SubmissionRecord | None:
        record = self.records.get(submission)
        if record is None or record.status != "review":
            return None
        settled = replace(
            record, status=STATUS[decision], decision=decision.value, decided_by=reviewer, decided_at=at, note=note
        )
        self.records[submission] = settled
        return settled

    async def get(self, submission: str) -> SubmissionRecord | None:
        return self.records.get(submission)

    async def approved(self, campaign_id: str, openid: str) -> bool:
        return any(
            r.campaign_id == campaign_id and r.openid == openid and r.status == "approved"
            for r in self.records.values()
        )

    async def earlier(self, campaign_id: str) -> list[PriorShot]:
        return []

    async def listing(
        self,
        campaign_id: str,
        *,
        status: str | None,
        reason: str | None,
        received_before: datetime | None,
        limit: int,
        offset: int,
    ) -> list[SubmissionRecord]:
        found = [
            r
            for r in sorted(self.records.values(), key=lambda r: r.received_at)
            if r.campaign_id == campaign_id
            and (status is None or r.status == status)
            and (reason is None or reason in r.reasons)
            and (received_before is None or r.received_at < received_before)
        ]
        return found[offset : offset + limit]

    async def counts(self, campaign_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.records.values():
            if r.campaign_id == campaign_id:
                counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    async def image(self, submission: str) -> tuple[bytes, str] | None:
        return self.images.get(submission)

    async def trail(self, submission: str) -> list[AuditEntry]:
        return [entry for entry in self.entries if entry.submission_id == submission]


class MemoryReferrals(ReferralStore):
    def __init__(self) -> None:
        self.participants: dict[tuple[str, str], Participant] = {}
        self.invitations: dict[tuple[str, str], Invitation] = {}
        self.followers: set[tuple[str, str]] = set()
        self.rewards: dict[tuple[str, str, int], str] = {}
        self.notices: dict[str, Notice] = {}
        self.rejections: list[tuple[str, str, str, str]] = []

    async def participant(self, campaign_id: str, openid: str) -> Participant | None:
        return self.participants.get((campaign_id, openid))

    async def participant_by_code(self, campaign_id: str, code: str) -> Participant | None:
        return next((p for p in self.participants.values() if p.campaign_id == campaign_id and p.code == code), None)

    async def add_participant(self, participant: Participant) -> Participant:
        return self.participants.setdefault((participant.campaign_id, participant.openid), participant)

    async def save_participant(self, participant: Participant) -> None:
        self.participants[(participant.campaign_id, participant.openid)] = participant

    async def remember_follower(self, appid: str, openid: str, followed_at: datetime) -> bool:
        new = (appid, openid) not in self.followers
        self.followers.add((appid, openid))
        return new

    async def invitation(self, campaign_id: str, invitee: str) -> Invitation | None:
        return self.invitations.get((campaign_id, invitee))

    async def credited_invitations_of(self, invitee: str) -> list[Invitation]:
        return [i for i in self.invitations.values() if i.invitee == invitee and i.status == "credited"]

    async def add_invitation(self, invitation: Invitation) -> bool:
        key = (invitation.campaign_id, invitation.invitee)
        if key in self.invitations:
            return False
        self.invitations[key] = invitation
        return True

    async def revoke_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool:
        found = self.invitations.get((campaign_id, invitee))
        if found is None or found.status != "credited":
            return False
        self.invitations[(campaign_id, invitee)] = replace(found, status="revoked", revoked_at=at)
        return True

    async def credits_since(self, campaign_id: str, inviter: str, since: datetime) -> int:
        return sum(
            1
            for i in self.invitations.values()
            if i.campaign_id == campaign_id and i.inviter == inviter and i.credited_at >= since
        )

    async def record_rejection(self, campaign_id: str, inviter: str, invitee: str, reason: str, at: datetime) -> None:
        self.rejections.append((campaign_id, inviter, invitee, reason))

    async def grant_reward(self, campaign_id: str, inviter: str, tier: int, pool: str, at: datetime) -> bool:
        key = (campaign_id, inviter, tier)
        if key in self.rewards:
            return False
        self.rewards[key] = pool
        return True

    async def add_notice(self, notice: Notice) -> None:
        self.notices.setdefault(notice.id, notice)


class MemoryUnitOfWork(ReferralUnitOfWork):
    """No rollback: the tests here check what a committed unit leaves behind, and the claims."""

    def __init__(self, store: MemoryReferrals, screenshots: MemoryScreenshots) -> None:
        self.store = store
        self.screenshots = screenshots
        self.claimed: set[tuple[str, str]] = set()
        self.commits = 0

    async def __aenter__(self) -> MemoryUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def claim(self, consumer: str, event_id: str) -> bool:
        if (consumer, event_id) in self.claimed:
            return False
        self.claimed.add((consumer, event_id))
        return True

    async def commit(self) -> None:
        self.commits += 1


class MemoryNotices:
    """The notice store delivery reads and marks (``MongoNoticeStore`` in production), over the same notices."""

    def __init__(self, store: MemoryReferrals) -> None:
        self._store = store
        self.marks: list[tuple[str, str]] = []
        self.codes: dict[str, str | None] = {}

    async def queued_by(self, event_id: str) -> list[Notice]:
        return [n for n in self._store.notices.values() if n.event_id == event_id and n.status == "pending"]

    async def held_for(self, appid: str, openid: str) -> list[Notice]:
        return []

    async def mark(self, notice: Notice, status: str, at: datetime, *, text: str | None = None) -> None:
        self._store.notices[notice.id] = replace(notice, status=status, text=text or notice.text)
        self.marks.append((notice.id, status))

    async def record_code(self, reward_id: str, code: str | None, at: datetime) -> None:
        self.codes[reward_id] = code
