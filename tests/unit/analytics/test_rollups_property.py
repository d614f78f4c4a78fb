"""The rollup property: whatever the delivery does (redeliveries after crashes, duplicates from the
producers' outboxes, topics and partitions interleaved in any order, batches of any size, transactions
lost to write races), every rollup equals a recomputation from the distinct events.

The recomputation below is written from the metric definitions in docs/analytics.md, independently of
the domain's fold. Seeded random generators (hypothesis is not a dependency of this project), many
seeds; a failing seed is named in the assertion so it can be replayed.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.service_layer.rollups import RollupFolder
from shared.contracts import (
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
)
from shared.events import Envelope, Message
from tests.fakes.rollups import ConflictingRollupsUnitOfWork

START = datetime(2026, 10, 1, tzinfo=UTC)
TOPICS = ("wechat.pushes", "campaigns.activity", "segments.deliveries")
PARTITIONS = 3
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Record:
    topic: str
    key: str
    envelope: Envelope
    message: Message


def _at(rng: random.Random, base: datetime | None = None, within_days: float = 60) -> datetime:
    # Whole seconds: stored times are milliseconds, and the property is about delivery, not rounding.
    return (base or START) + timedelta(seconds=rng.randrange(int(within_days * 86400)))


def generate(rng: random.Random) -> list[Record]:
    """Events as producers publish them, in each producer's order (per member in time order)."""
    appids = ["wxA", "wxB"][: rng.randint(1, 2)]
    members = [f"o{n}" for n in range(rng.randint(3, 10))]
    campaigns = ["c1", "c.2"][: rng.randint(1, 2)]
    records: list[Record] = []
    serial = iter(range(1_000_000))

    def add(topic: str, appid: str, key: str, message: Message) -> None:
        envelope = Envelope.wrap(message, appid=appid, key=key, event_id=f"e{next(serial)}")
        records.append(Record(topic, key, envelope, message))

    for appid in appids:
        for openid in members:
            at = _at(rng, within_days=10)
            for _ in range(rng.randint(0, 6)):  # follow / unfollow alternating, later and later
                at += timedelta(seconds=rng.randrange(1, 12 * 86400))
                if rng.random() < 0.5:
                    scene = rng.choice([None, "r.c1.p1", "j.c1", "store-1", "r.c.2.p4"])
                    add("wechat.pushes", appid, openid, MemberFollowed(openid=openid, followed_at=at, scene=scene))
                else:
                    add("wechat.pushes", appid, openid, MemberUnfollowed(openid=openid, unfollowed_at=at))
                if rng.random() < 0.2:
                    add("wechat.pushes", appid, openid, MenuClicked(openid=openid, clicked_at=at, key="menu"))
        credited: set[tuple[str, str]] = set()
        for _ in range(rng.randint(0, 25)):
            openid, campaign = rng.choice(members), rng.choice(campaigns)
            at = _at(rng)
            kind = rng.randrange(7)
            if kind == 0:
                add(
                    "campaigns.activity",
                    appid,
                    openid,
                    CampaignPosterSent(openid=openid, campaign_id=campaign, sent_at=at),
                )
            elif kind == 1:
                scanned = CampaignPosterScanned(
                    openid=rng.choice(members),
                    campaign_id=campaign,
                    inviter_openid=openid,
                    new_follower=rng.random() < 0.5,
                    scanned_at=at,
                )
                add("campaigns.activity", appid, openid, scanned)
            elif kind == 2:
                invitee = rng.choice(members)
                if (campaign, invitee) not in credited:  # one credit per invitee and campaign (its event id)
                    credited.add((campaign, invitee))
                    credit = CampaignInviteCredited(
                        openid=openid, campaign_id=campaign, invitee_openid=invitee, credited_at=at
                    )
                    add("campaigns.activity", appid, openid, credit)
            elif kind == 3:
                revoked = CampaignCreditRevoked(
                    openid=openid, campaign_id=campaign, invitee_openid=rng.choice(members), revoked_at=at
                )
                add("campaigns.activity", appid, openid, revoked)
            elif kind == 4:
                tier = rng.randint(1, 3)
                add(
                    "campaigns.activity",
                    appid,
                    openid,
                    CampaignTierReached(openid=openid, campaign_id=campaign, tier=tier, reached_at=at),
                )
                granted = CampaignRewardGranted(
                    openid=openid,
                    campaign_id=campaign,
                    tier=tier,
                    basis=rng.choice(["invites", "screenshot"]),
                    granted_at=at,
                )
                add("campaigns.activity", appid, openid, granted)
            else:
                decided = CampaignScreenshotDecided(
                    openid=openid,
                    campaign_id=campaign,
                    submission_id=f"s{rng.randrange(100)}",
                    outcome=rng.choice(["approved", "rejected", "queued"]),
                    reasons=rng.sample(["no_poster", "not_moments", "private_post", "odd.one"], rng.randint(0, 2)),
                    decided_by=rng.choice(["auto", "reviewer"]),
                    submitted_at=at - timedelta(minutes=rng.randrange(3000)),
                    decided_at=at,
                )
                add("campaigns.activity", appid, openid, decided)
        for _ in range(rng.randint(0, 25)):
            openid, at = rng.choice(members), _at(rng)
            common = {
                "openid": openid,
                "push_id": rng.choice(["p1", "p2"]),
                "segment_id": rng.choice(["s1", "s2"]),
                "variant": rng.choice([None, "A", "B"]),
                "project_id": rng.choice([None, "pr1"]),
            }
            kind = rng.randrange(3)
            if kind == 0:
                message: Message = PushDelivered(channel="template", delivered_at=at, **common)
            elif kind == 1:
                message = PushDeliveryFailed(
                    channel="template", errcode=rng.choice([43004, -1]), failed_at=at, **common
                )
            else:
                message = PushClicked(first=rng.random() < 0.5, click_id=f"k{next(serial)}", clicked_at=at, **common)
            add("segments.deliveries", appid, openid, message)
    return records


def _day(at: datetime) -> str:
    return (at.astimezone(UTC) + timedelta(hours=8)).date().isoformat()


def _source(scene: str | None) -> str:
    if not scene:
        return "direct"
    if scene.startswith("r.") and len(scene.split(".")) >= 3:
        return "poster"
    return "campaign_code" if scene.startswith("j.") else "qr"


def recompute(records: list[Record]) -> dict[Key, dict[str, int]]:
    """The rollups by definition, from the distinct events in their producers' order."""
    distinct = list({r.envelope.event_id: r for r in records}.values())
    out: dict[Key, Counter[str]] = {}

    def inc(appid: str, scope: str, at: datetime, metric: str) -> None:
        out.setdefault((appid, scope, _day(at)), Counter())[metric] += 1

    latest_source: dict[tuple[str, str], str] = {}
    unfollows: dict[tuple[str, str], list[datetime]] = {}
    credits: list[tuple[str, str, str, datetime]] = []
    for record in distinct:
        appid, m = record.envelope.appid, record.message
        if isinstance(m, MemberFollowed):
            inc(appid, "account", m.followed_at, "follows")
            inc(appid, "account", m.followed_at, f"follows:{_source(m.scene)}")
            latest_source[(appid, m.openid)] = _source(m.scene)
        elif isinstance(m, MemberUnfollowed):
            inc(appid, "account", m.unfollowed_at, "unfollows")
            inc(appid, "account", m.unfollowed_at, f"unfollows:{latest_source.get((appid, m.openid), 'unknown')}")
            unfollows.setdefault((appid, m.openid), []).append(m.unfollowed_at)
        elif isinstance(m, CampaignPosterSent):
            for scope in ("account", f"campaign:{m.campaign_id.replace('.', '_')}"):
                inc(appid, scope, m.sent_at, "poster_sent")
        elif isinstance(m, CampaignPosterScanned):
            scope = f"campaign:{m.campaign_id.replace('.', '_')}"
            inc(appid, scope, m.scanned_at, "poster_scans")
            if m.new_follower:
                inc(appid, scope, m.scanned_at, "poster_follows")
        elif isinstance(m, CampaignInviteCredited):
            for scope in ("account", f"campaign:{m.campaign_id.replace('.', '_')}"):
                inc(appid, scope, m.credited_at, "credited")
            credits.append((appid, m.campaign_id, m.invitee_openid, m.credited_at))
        elif isinstance(m, CampaignCreditRevoked):
            for scope in ("account", f"campaign:{m.campaign_id.replace('.', '_')}"):
                inc(appid, scope, m.revoked_at, "revoked")
        elif isinstance(m, CampaignTierReached):
            inc(appid, f"campaign:{m.campaign_id.replace('.', '_')}", m.reached_at, f"tier:{m.tier}")
        elif isinstance(m, CampaignRewardGranted):
            scope = f"campaign:{m.campaign_id.replace('.', '_')}"
            inc(appid, "account", m.granted_at, "rewards")
            inc(appid, scope, m.granted_at, "rewards")
            inc(appid, scope, m.granted_at, f"rewards:{m.tier}")
        elif isinstance(m, CampaignScreenshotDecided):
            for scope in ("account", f"campaign:{m.campaign_id.replace('.', '_')}"):
                inc(appid, scope, m.decided_at, f"screenshots:{m.outcome}")
                for reason in set(m.reasons):
                    inc(appid, scope, m.decided_at, f"screenshot_reason:{reason.replace('.', '_')}")
            if m.decided_by == "reviewer":
                hours = (m.decided_at - m.submitted_at) / timedelta(hours=1)
                bucket = "lt1h" if hours < 1 else "lt4h" if hours < 4 else "lt24h" if hours < 24 else "ge24h"
                inc(appid, "account", m.decided_at, f"review_wait:{bucket}")
        elif isinstance(m, (PushDelivered, PushDeliveryFailed, PushClicked)):
            variant, push, project = m.variant or "-", f"push:{m.push_id}", m.project_id
            if isinstance(m, PushDelivered):
                at = m.delivered_at
                inc(appid, "account", at, "pushes_delivered")
                for metric in ("delivered", f"delivered:v:{variant}"):
                    inc(appid, push, at, metric)
                if project:
                    inc(appid, "account", at, "project_delivered")
                    for metric in ("delivered", f"delivered:seg:{m.segment_id}", f"delivered:push:{m.push_id}"):
                        inc(appid, f"project:{project}", at, metric)
            elif isinstance(m, PushDeliveryFailed):
                at = m.failed_at
                inc(appid, "account", at, "pushes_failed")
                for metric in ("failed", f"failed:{m.errcode}", f"failed:v:{variant}"):
                    inc(appid, push, at, metric)
            else:
                at = m.clicked_at
                inc(appid, "account", at, "push_clicks")
                for metric in ("clicks", f"clicks:v:{variant}"):
                    inc(appid, push, at, metric)
                if m.first:
                    inc(appid, "account", at, "push_clickers")
                    for metric in ("clickers", f"clickers:v:{variant}"):
                        inc(appid, push, at, metric)
                if project:
                    inc(appid, f"project:{project}", at, "clicks")
                    inc(appid, f"project:{project}", at, f"clicks:push:{m.push_id}")
                    if m.first:
                        inc(appid, f"project:{project}", at, "clickers")
    for appid, campaign, invitee, credited_at in credits:
        gaps = [u - credited_at for u in unfollows.get((appid, invitee), [])]
        for metric, days in (("invitees_lost_7d", 7), ("invitees_lost_30d", 30)):
            if any(timedelta(0) <= gap < timedelta(days=days) for gap in gaps):
                inc(appid, f"campaign:{campaign.replace('.', '_')}", credited_at, metric)
    return {key: dict(counters) for key, counters in out.items()}


def partitioned(records: list[Record], rng: random.Random) -> dict[tuple[str, int], list[Record]]:
    """The topics' partitions as the broker holds them: by key, in publish order, with some records
    published twice (an outbox relay that crashed after publishing and before deleting its entries)."""
    logs: dict[tuple[str, int], list[Record]] = {(t, p): [] for t in TOPICS for p in range(PARTITIONS)}
    for record in records:
        log = logs[(record.topic, zlib.crc32(record.key.encode()) % PARTITIONS)]
        log.append(record)
        if rng.random() < 0.05:
            log.append(record)
    return logs


async def deliver(
    logs: dict[tuple[str, int], list[Record]],
    folder: RollupFolder,
    rng: random.Random,
    uow: ConflictingRollupsUnitOfWork | None = None,
) -> None:
    """Consume every partition to its end: per topic, batches over its partitions in any interleaving;
    a batch whose offsets are not committed (a crash, a rebalance) is redelivered from the last commit.
    With ``uow``, some transactions first lose a write race or two (retried by the folder)."""
    committed = dict.fromkeys(logs, 0)
    while any(committed[tp] < len(log) for tp, log in logs.items()):
        topic = rng.choice([t for t in TOPICS if any(committed[(t, p)] < len(logs[(t, p)]) for p in range(PARTITIONS))])
        cursor = {p: committed[(topic, p)] for p in range(PARTITIONS)}
        batch: list[Record] = []
        for _ in range(rng.randint(1, 30)):
            open_partitions = [p for p in range(PARTITIONS) if cursor[p] < len(logs[(topic, p)])]
            if not open_partitions:
                break
            p = rng.choice(open_partitions)
            batch.append(logs[(topic, p)][cursor[p]])
            cursor[p] += 1
        if uow is not None:
            uow.conflicts = rng.choice([0, 0, 0, 1, 2])
        await folder.fold([(r.envelope, r.message) for r in batch])
        if rng.random() < 0.8:  # otherwise the worker died before committing: the batch comes again
            committed.update({(topic, p): cursor[p] for p in range(PARTITIONS)})


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize("seed", range(300))
async def test_every_rollup_equals_a_recomputation_from_the_distinct_events(seed: int) -> None:
    rng = random.Random(seed)
    records = generate(rng)
    uow = ConflictingRollupsUnitOfWork()
    folder = RollupFolder(lambda: uow, attempts=100, sleep=_no_sleep)
    await deliver(partitioned(records, rng), folder, rng, uow)
    assert uow.counters() == recompute(records), f"seed {seed}"
