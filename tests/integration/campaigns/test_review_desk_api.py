"""The console's review desk over HTTP: the account-wide queue, claims between two reviewers, decisions
under claims, the evidence in one read and the reject reason codes (the real app against SecantusDB)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient

from services.campaigns.adapters.referrals import MongoReferralStore
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from services.screenshots import Fingerprint, Reason
from shared.identity import AuditEntry, AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wx1"
DESK = f"/accounts/{APPID}/screenshots"


class Desk:
    def __init__(self, http: TestClient, callers: Callers, settings: CampaignsSettings) -> None:
        self.http = http
        self.callers = callers
        self.settings = settings
        self.admin = callers.headers(Role.ADMIN)  # "admin-op"
        self.reviewer = callers.headers(Role.REVIEWER)  # "reviewer-op"
        self.watcher = callers.headers(Role.CAMPAIGN_OPERATOR)  # campaign:view, no review:decide

    def campaign(self, name: str) -> str:
        now = datetime.now(UTC)
        body = {
            "name": name,
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
            "share_screenshot_task": True,
            "share_reward_pool": "S",
        }
        created = self.http.post(f"/accounts/{APPID}/campaigns", json=body, headers=self.admin)
        assert created.status_code == 201, created.text
        campaign_id: str = created.json()["id"]
        return campaign_id

    def seed(
        self,
        records: list[SubmissionRecord],
        participants: tuple[Participant, ...] = (),
        pictures: frozenset[str] = frozenset(),
    ) -> None:
        async def write() -> None:
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                self.settings.mongodb_url.get_secret_value(), tz_aware=True
            )
            try:
                database = client[self.settings.mongodb_database]
                shots = MongoShareScreenshots(database)
                for record in records:
                    assert await shots.add(record)
                    if record.id in pictures:
                        await shots.keep_image(record.id, b"\xff\xd8picture", "image/jpeg")
                store = MongoReferralStore(database, None)
                for participant in participants:
                    await store.add_participant(participant)
            finally:
                await client.close()

        asyncio.run(write())


def shot(
    name: str,
    campaign_id: str,
    *,
    minutes_ago: int,
    status: str = "review",
    openid: str | None = None,
    reasons: tuple[str, ...] = ("possibly_reused",),
    evidence: dict[str, Any] | None = None,
) -> SubmissionRecord:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return SubmissionRecord(
        id=f"{APPID}:{name}",
        campaign_id=campaign_id,
        appid=APPID,
        openid=openid or f"o_{name}",
        received_at=at,
        status=status,
        decision={"review": "review", "approved": "approve", "rejected": "reject"}[status],
        reasons=list(reasons),
        evidence=evidence or {"qr": "own", "boxes": {}},
        fingerprint=Fingerprint(f"sha-{name}", None),
        decided_by="auto",
        decided_at=at,
    )


@pytest.fixture
def desk(service_settings: LoadSettings) -> Iterator[Desk]:
    # Nothing answers for WeChat here: a reply fails at once and stays queued (the decision stands).
    unreachable = {"base_url": "http://127.0.0.1:9", "retries": 0}
    settings = service_settings(CampaignsSettings, wechat_accounts=[account(APPID)], wechat_api=unreachable)
    callers = Callers.on(APPID)
    with TestClient(create_app(settings, identity=callers.config)) as client:
        yield Desk(client, callers, settings)


def audit_entries(callers: Callers, action: str) -> list[AuditEntry]:
    async def read() -> list[AuditEntry]:
        return await callers.directory.audit_entries(AuditQuery(action=action))

    return asyncio.run(read())


def test_the_queue_spans_campaigns_with_ages_names_claims_and_counts(desk: Desk) -> None:
    spring, autumn = desk.campaign("春季晒图"), desk.campaign("秋季晒图")
    desk.seed(
        [
            shot("new", spring, minutes_ago=5),
            shot("old", autumn, minutes_ago=90, reasons=("qr_unreadable",)),
            shot("done", spring, minutes_ago=60, status="approved", reasons=()),
        ]
    )
    http = desk.http
    claimed = http.post(f"{DESK}/{APPID}:old/claim", headers=desk.reviewer)
    assert claimed.status_code == 200, claimed.text

    page = http.get(DESK, params={"status": "review"}, headers=desk.watcher)
    assert page.status_code == 200, page.text
    body = page.json()
    assert [(i["id"], i["campaign_id"], i["campaign_name"]) for i in body["items"]] == [
        (f"{APPID}:old", autumn, "秋季晒图"),
        (f"{APPID}:new", spring, "春季晒图"),
    ]
    old = body["items"][0]
    assert 90 * 60 - 5 <= old["age_seconds"] <= 90 * 60 + 60
    assert old["reasons"] == [{"code": "qr_unreadable", "text": Reason.QR_UNREADABLE.text}]
    assert old["claim"]["by"]["name"] == "reviewer-op" and old["claim"]["submission_id"] == f"{APPID}:old"
    assert body["items"][1]["claim"] is None
    assert body["counts"] == {"review": 2, "approved": 1}

    one = http.get(DESK, params={"status": "review", "campaign_id": spring}, headers=desk.watcher).json()
    assert [i["id"] for i in one["items"]] == [f"{APPID}:new"] and one["counts"] == {"review": 1, "approved": 1}
    mine = http.get(DESK, params={"openid": "o_done"}, headers=desk.watcher).json()
    assert [i["id"] for i in mine["items"]] == [f"{APPID}:done"]
    per_campaign = http.get(f"/accounts/{APPID}/campaigns/{spring}/screenshots", params={"openid": "o_new"})
    assert per_campaign.status_code == 401  # (no credentials)
    per_campaign = http.get(
        f"/accounts/{APPID}/campaigns/{spring}/screenshots", params={"openid": "o_new"}, headers=desk.watcher
    )
    assert [i["id"] for i in per_campaign.json()["items"]] == [f"{APPID}:new"]

    bad = http.get(DESK, params={"reason": "made_up"}, headers=desk.watcher)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "reason"]
    assert http.get(DESK, params={"campaign_id": "nope"}, headers=desk.watcher).status_code == 404
    assert http.get(DESK, params={"status": "lost"}, headers=desk.watcher).status_code == 422


def test_two_reviewers_never_hold_or_decide_the_same_submission(desk: Desk) -> None:
    campaign = desk.campaign("晒图有礼")
    desk.seed([shot("mom", campaign, minutes_ago=30), shot("dad", campaign, minutes_ago=20)])
    http, li, wang = desk.http, desk.reviewer, desk.admin
    mom = f"{DESK}/{APPID}:mom"

    held = http.post(f"{mom}/claim", headers=li)
    assert held.status_code == 200
    assert held.json()["by"]["name"] == "reviewer-op" and held.json()["submission_id"] == f"{APPID}:mom"
    assert http.post(f"{mom}/claim", headers=li).status_code == 200  # renewed

    refused = http.post(f"{mom}/claim", headers=wang)
    assert refused.status_code == 409
    assert "reviewer-op" in refused.json()["detail"] and refused.json()["claim"]["by"]["name"] == "reviewer-op"
    assert http.delete(f"{mom}/claim", headers=wang).status_code == 409
    assert http.post(f"{mom}/approve", headers=wang).status_code == 409
    per_campaign = f"/accounts/{APPID}/campaigns/{campaign}/screenshots/{APPID}:mom"
    assert http.post(f"{per_campaign}/reject", json={"note": "x"}, headers=wang).status_code == 409

    # claim-next skips what someone else holds: the admin gets dad, then nothing.
    nxt = http.post(f"{DESK}/claim-next", headers=wang)
    assert nxt.status_code == 200, nxt.text
    assert nxt.json()["id"] == f"{APPID}:dad" and nxt.json()["claim"]["by"]["name"] == "admin-op"
    assert nxt.json()["campaign_name"] == "晒图有礼" and "evidence" in nxt.json()
    assert http.post(f"{DESK}/claim-next", headers=desk.callers.headers(Role.ADMIN)).json()["id"] == f"{APPID}:dad"
    assert http.post(f"{DESK}/claim-next", params={"campaign_id": campaign}, headers=li).json()["id"] == (
        f"{APPID}:mom"  # the reviewer's own claim comes back
    )

    assert http.delete(f"{mom}/claim", headers=li).status_code == 204
    assert http.delete(f"{mom}/claim", headers=li).status_code == 204  # nothing left to release
    assert http.post(f"{mom}/claim", headers=wang).status_code == 200
    approved = http.post(f"{mom}/approve", json={"note": "清楚"}, headers=wang)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"], approved.json()["claim"]) == (
        "approved",
        "admin-op",
        None,
    )
    # Deciding again is refused, naming who decided (nothing is paid twice).
    again = http.post(f"{mom}/reject", headers=wang)
    assert again.status_code == 409 and "already approved by admin-op" in again.json()["detail"]
    assert http.post(f"{mom}/claim", headers=li).status_code == 409  # decided: nothing to claim

    # The admin still holds dad: nothing left for the reviewer.
    assert http.post(f"{DESK}/claim-next", params={"campaign_id": campaign}, headers=li).status_code == 204
    assert http.post(f"{DESK}/{APPID}:dad/reject", json={"reason": "private_post"}, headers=wang).status_code == 200
    assert http.post(f"{DESK}/claim-next", headers=wang).status_code == 204
    assert http.post(f"{DESK}/claim-next", headers=desk.watcher).status_code == 403
    assert http.post(f"{DESK}/{APPID}:nope/claim", headers=li).status_code == 404

    [decided] = [e for e in audit_entries(desk.callers, "screenshot.approved") if e.object_id == f"{APPID}:mom"]
    assert decided.actor_name == "admin-op" and decided.after is not None and decided.after["note"] == "清楚"
    assert audit_entries(desk.callers, "screenshot.claimed") == []


def test_a_rejection_takes_a_known_reason_code(desk: Desk) -> None:
    campaign = desk.campaign("晒图有礼")
    desk.seed([shot("mom", campaign, minutes_ago=30)])
    http = desk.http
    reasons = http.get(f"{DESK}/reasons", headers=desk.watcher)
    assert reasons.status_code == 200
    listed = {r["code"]: r for r in reasons.json()["reasons"]}
    assert listed["private_post"]["zh"] == Reason.PRIVATE_POST.text and listed["private_post"]["en"]
    assert "possibly_reused" not in listed

    unknown = http.post(f"{DESK}/{APPID}:mom/reject", json={"reason": "made_up"}, headers=desk.reviewer)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "reason"]
    rejected = http.post(f"{DESK}/{APPID}:mom/reject", json={"reason": "private_post"}, headers=desk.reviewer)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["review_reason"] == {"code": "private_post", "text": Reason.PRIVATE_POST.text}
    [entry] = audit_entries(desk.callers, "screenshot.rejected")
    assert entry.after is not None and entry.after["reason"] == "private_post"


def test_the_detail_spells_out_the_evidence(desk: Desk) -> None:
    campaign = desk.campaign("晒图有礼")
    mom = Participant(campaign, APPID, "o_mom", "code-mom", datetime.now(UTC), "qr", qr_url="https://qr/mom")
    dad = Participant(campaign, APPID, "o_dad", "code-dad", datetime.now(UTC), "qr", qr_url="https://qr/dad")
    evidence = {
        "qr": "own",
        "qr_payloads": ["https://qr/mom", "https://qr/dad"],
        "artwork_score": 0.81,
        "poster_located_without_qr": False,
        "poster_share": 0.4,
        "moments_checked": True,
        "time_word": "3分钟前",
        "delete_word": True,
        "lock_marker": True,
        "title": "朋友圈",
        "reuse": "close",
        "reuse_similarity": 0.94,
        "reused_from": f"{APPID}:dad1",
        "ocr_text": "妈妈 3分钟前 删除",
        "boxes": {"qr": [1, 2, 3, 4]},
    }
    desk.seed(
        [
            shot("dad1", campaign, minutes_ago=120, status="approved", openid="o_dad", reasons=()),
            shot("mom1", campaign, minutes_ago=60, status="rejected", openid="o_mom", reasons=("private_post",)),
            shot("mom2", campaign, minutes_ago=10, openid="o_mom", evidence=evidence),
        ],
        (mom, dad),
        pictures=frozenset({f"{APPID}:dad1", f"{APPID}:mom2"}),
    )
    http = desk.http
    found = http.get(f"{DESK}/{APPID}:mom2", headers=desk.reviewer)
    assert found.status_code == 200, found.text
    body = found.json()
    per_campaign = http.get(f"/accounts/{APPID}/campaigns/{campaign}/screenshots/{APPID}:mom2", headers=desk.reviewer)
    # The same answer, but for the age, which may tick over between the two requests.
    assert {**per_campaign.json(), "age_seconds": 0} == {**body, "age_seconds": 0}
    assert body["evidence"] == evidence  # raw, as before
    assert body["campaign_name"] == "晒图有礼"
    assert body["image_url"] == f"/accounts/{APPID}/campaigns/{campaign}/screenshots/{APPID}:mom2/image"
    assert body["qr"] == {
        "match": "own",
        "codes": [
            {"payload": "https://qr/mom", "owner_openid": "o_mom", "owner_campaign_id": campaign, "is_submitter": True},
            {
                "payload": "https://qr/dad",
                "owner_openid": "o_dad",
                "owner_campaign_id": campaign,
                "is_submitter": False,
            },
        ],
    }
    assert body["poster"] == {"match_score": 0.81, "located_without_qr": False, "screen_share": 0.4}
    assert body["moments"] == {
        "checked": True,
        "time_row": "3分钟前",
        "delete_word": True,
        "title": "朋友圈",
        "locked": True,
        "ocr_text": "妈妈 3分钟前 删除",
    }
    assert body["reuse"] == {
        "match": "close",
        "similarity": 0.94,
        "earlier_submission_id": f"{APPID}:dad1",
        "earlier_openid": "o_dad",
        "earlier_status": "approved",
        "earlier_decision": "approve",
        "earlier_image_url": f"/accounts/{APPID}/campaigns/{campaign}/screenshots/{APPID}:dad1/image",
    }
    assert [(h["id"], h["status"], h["reasons"]) for h in body["history"]] == [
        (f"{APPID}:mom1", "rejected", ["private_post"])
    ]
    assert http.get(f"{DESK}/{APPID}:mom2", headers=desk.watcher).status_code == 403
    assert http.get(f"{DESK}/{APPID}:nope", headers=desk.reviewer).status_code == 404
