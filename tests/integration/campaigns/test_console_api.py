"""The routes the operator console's campaign pages use (poster preview, clone, wording compliance,
the funnel, a member's campaigns, participants), the real app against SecantusDB."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pymongo import AsyncMongoClient

from services.campaigns.adapters.referrals import MongoNoticeStore, MongoReferralStore
from services.campaigns.domain.participants import Invitation, Participant, reward_id
from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.integration.campaigns.test_api import BASE, LAYOUT, image_bytes, new_campaign, upload_template
from tests.integration.conftest import LoadSettings

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.integration


@pytest.fixture
def callers() -> Callers:
    return Callers.on("wx1")


@pytest.fixture
def settings(service_settings: LoadSettings) -> CampaignsSettings:
    return service_settings(CampaignsSettings, wechat_accounts=[account("wx1")])


@pytest.fixture
def http(settings: CampaignsSettings, callers: Callers) -> Iterator[TestClient]:
    with TestClient(create_app(settings, identity=callers.config), headers=callers.headers(Role.ADMIN)) as client:
        yield client


def test_the_poster_preview_is_a_png_of_the_template_or_a_clear_404(http: TestClient, callers: Callers) -> None:
    cid = new_campaign(http)["id"]
    missing = http.get(f"{BASE}/{cid}/poster-preview")
    assert missing.status_code == 404 and "no poster template yet" in missing.json()["detail"]

    assert upload_template(http, cid, image_bytes(), layout=LAYOUT).status_code == 201
    outlined = http.get(f"{BASE}/{cid}/poster-preview", headers=callers.headers(Role.ANALYST))
    clean = http.get(f"{BASE}/{cid}/poster-preview", params={"outline": "false"})
    for response in (outlined, clean):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(response.content)) as image:
            assert (image.format, image.size) == ("PNG", (750, 1334))
    assert outlined.content != clean.content
    assert http.get(f"{BASE}/nope/poster-preview").status_code == 404


def test_a_clone_is_a_new_draft_with_its_own_template_and_is_audited(http: TestClient, callers: Callers) -> None:
    source = new_campaign(http, messages={"progress": "已邀请 {count}/{target}"})
    assert upload_template(http, source["id"], image_bytes(), layout=LAYOUT).status_code == 201
    assert http.post(f"{BASE}/{source['id']}/clone", headers=callers.headers(Role.ANALYST)).status_code == 403

    cloned = http.post(f"{BASE}/{source['id']}/clone")
    assert cloned.status_code == 201, cloned.text
    clone = cloned.json()
    assert cloned.headers["location"] == f"{BASE}/{clone['id']}" and cloned.headers["etag"] == '"1"'
    assert clone["id"] != source["id"] and clone["status"] == "draft" and clone["name"] == "新客邀请 copy"
    assert clone["tiers"] == source["tiers"] and clone["messages"]["progress"] == "已邀请 {count}/{target}"
    assert clone["template"]["image_id"] != http.get(f"{BASE}/{source['id']}").json()["template"]["image_id"]
    assert clone["template"]["qr"] == LAYOUT["qr"]
    assert http.get(f"{BASE}/{clone['id']}/poster-preview").status_code == 200
    assert http.get(f"{BASE}/{clone['id']}/reward-pools").json()[0]["total"] == 0

    entries = asyncio.run(callers.directory.audit_entries(AuditQuery(action="campaign.cloned")))
    assert [(e.object_id, e.appid, e.before) for e in entries] == [(clone["id"], "wx1", {"source": source["id"]})]


def test_wording_is_checked_for_a_saved_campaign_and_for_the_wizards_unsaved_texts(
    http: TestClient, callers: Callers
) -> None:
    clean = new_campaign(http)
    checked = http.get(f"{BASE}/{clean['id']}/compliance", headers=callers.headers(Role.ANALYST))
    assert checked.status_code == 200, checked.text
    assert checked.json() == {"ok": True, "blocking": 0, "warnings": 0, "flags": []}

    risky = new_campaign(http, name="转发朋友圈送好礼", messages={"welcome": "关注即送 10 元券，邀请好友关注再领"})
    found = http.get(f"{BASE}/{risky['id']}/compliance").json()
    assert (found["ok"], found["blocking"]) == (False, 2)
    assert [(f["field"], f["phrase"], f["rule"], f["severity"]) for f in found["flags"]] == [
        ("name", "转发朋友圈送", "induced_sharing", "block"),
        ("messages.welcome", "关注即送", "induced_following", "block"),
    ]
    assert found["flags"][0]["explanation_zh"] and found["flags"][0]["suggestion_en"]

    # The wizard sends what it has: a partial create body, dates and tiers included or not.
    draft = http.post(
        f"{BASE}/compliance",
        json={"name": "新客邀请", "tiers": [{"count": 3, "pool": "A"}], "messages": {"progress": "集赞 38 个送咖啡"}},
    )
    assert draft.status_code == 200, draft.text
    assert [(f["field"], f["phrase"]) for f in draft.json()["flags"]] == [("messages.progress", "集赞")]
    shared = http.post(f"{BASE}/compliance", json={"reward_basis": "share_screenshot"}).json()
    assert (shared["ok"], shared["warnings"], shared["flags"][0]["field"]) == (True, 1, "reward_basis")
    assert http.post(f"{BASE}/compliance", json={"name": "x" * 101}).status_code == 422
    assert http.get(f"{BASE}/nope/compliance").status_code == 404


def test_stats_carry_the_funnel_and_each_tiers_rewards_with_its_pools_stock(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    assert http.post(f"{BASE}/{cid}/reward-pools/A/generate", json={"count": 4}).status_code == 201
    stats = http.get(f"{BASE}/{cid}/stats")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert [(s["step"], s["count"]) for s in body["funnel"]] == [
        (step, 0) for step in ("poster_sent", "scanned", "followed", "credited", "reached_tier", "rewarded")
    ]
    assert body["rewards_by_tier"] == [
        {"tier": 3, "pool": "A", "granted": 0, "issued": 0, "awaiting_stock": 0, "pool_total": 4, "pool_remaining": 4},
        {
            "tier": 10,
            "pool": "B",
            "granted": 0,
            "issued": 0,
            "awaiting_stock": 0,
            "pool_total": None,
            "pool_remaining": None,
        },
    ]


def seed(settings: CampaignsSettings, campaign_id: str) -> None:
    """A campaign's records as the worker leaves them: two participants, an inviter's credits, a refusal
    and a delivered tier reward."""

    async def write() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url.get_secret_value())
        try:
            database = client[settings.mongodb_database]
            store = MongoReferralStore(database, None)
            mom = await store.add_participant(Participant(campaign_id, "wx1", "o_mom", "code-mom", T0, "campaign_qr"))
            await store.add_participant(
                Participant(campaign_id, "wx1", "o_friend", "code-friend", T0 + timedelta(minutes=1), "referral")
            )
            mom.credited, mom.tiers_granted = 1, [3]
            await store.save_participant(mom)
            at = T0 + timedelta(minutes=1)
            await store.add_invitation(Invitation(campaign_id, "o_mom", "o_friend", "credited", at, at))
            await store.record_rejection(campaign_id, "o_mom", "o_old", "existing_follower_scan", T0)
            await store.grant_reward(campaign_id, "o_mom", 3, "A", at)
            await MongoNoticeStore(database).record_code(reward_id(campaign_id, "o_mom", 3), "SECRET-CODE-9876", at)
        finally:
            await client.close()

    asyncio.run(write())


def test_participants_and_a_members_campaigns_for_the_console(
    http: TestClient, callers: Callers, settings: CampaignsSettings
) -> None:
    campaign = new_campaign(http)
    cid = campaign["id"]
    seed(settings, cid)

    page = http.get(f"{BASE}/{cid}/participants", params={"limit": 1}, headers=callers.headers(Role.ANALYST))
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 2 and page.json()["limit"] == 1
    assert [(p["openid"], p["credited"], p["tiers_granted"]) for p in page.json()["items"]] == [("o_mom", 1, [3])]
    found = http.get(f"{BASE}/{cid}/participants", params={"q": "o_fr"}).json()
    assert [p["openid"] for p in found["items"]] == ["o_friend"] and found["total"] == 1
    assert http.get(f"{BASE}/{cid}/participants", params={"q": "o.*"}).status_code == 422
    assert http.get(f"{BASE}/nope/participants").status_code == 404

    mine = http.get("/accounts/wx1/members/o_mom/campaigns", headers=callers.headers(Role.REVIEWER))
    assert mine.status_code == 200, mine.text
    (item,) = mine.json()["items"]
    assert (item["campaign_id"], item["name"], item["status"]) == (cid, "新客邀请", "draft")
    assert (item["joined_via"], item["invites_credited"], item["invites_revoked"]) == ("campaign_qr", 1, 0)
    assert [(i["openid"], i["status"], i["rule"]) for i in item["invitees"]] == [
        ("o_old", "refused", "existing_follower_scan"),
        ("o_friend", "credited", None),
    ]
    assert item["tiers_reached"] == [3] and item["share_submissions"] == 0
    (reward,) = item["rewards"]
    assert (reward["tier"], reward["kind"], reward["status"]) == (3, "tier", "issued")
    assert reward["code_masked"] == "************9876"
    assert "SECRET" not in mine.text
    assert http.get("/accounts/wx1/members/o_nobody/campaigns").json() == {"openid": "o_nobody", "items": []}


def test_a_template_is_measured_upright_and_a_thumbnail_is_refused(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # a phone photo taken sideways: shown rotated 90°
    Image.new("RGB", (1334, 750), "white").save(buffer, "JPEG", exif=exif)
    uploaded = upload_template(http, cid, buffer.getvalue(), layout=LAYOUT, name="photo.jpg")
    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["image"]["width"], uploaded.json()["image"]["height"]) == (750, 1334)
    assert http.get(f"{BASE}/{cid}/poster-preview").status_code == 200
    thumbnail = upload_template(http, cid, image_bytes((120, 200)), layout=None)
    assert thumbnail.status_code == 422 and "at least 200x200" in thumbnail.json()["detail"][0]["msg"]
