"""Issue 21 item 6: drafts can be deleted, ended campaigns archived, and ending a campaign can tell its
participants (the API on its in-memory adapters, audited; the worker sends what it queued)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryNotices,
    InMemoryReferrals,
    InMemoryTemplates,
)
from services.campaigns.domain.campaign import Campaign, IllegalTransition
from services.campaigns.domain.participants import Participant
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from shared.identity import AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.unit.console.campaigns_api import in_memory_bootstrap

APPID = "wx1"
BASE = f"/accounts/{APPID}/campaigns"
NOW = datetime.now(UTC).replace(microsecond=0)


class Stores:
    def __init__(self) -> None:
        self.records = CampaignRecords()
        self.campaigns = InMemoryCampaigns()
        self.templates = InMemoryTemplates()


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
def stores() -> Stores:
    return Stores()


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch, callers: Callers, stores: Stores) -> AsyncIterator[httpx.AsyncClient]:
    bootstrap = in_memory_bootstrap(stores.records, stores.campaigns, stores.templates)
    monkeypatch.setattr(campaigns_app_module, "bootstrap", bootstrap)
    app = create_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://campaigns", headers=callers.headers(Role.ADMIN)
        ) as client:
            yield client


def test_only_a_draft_is_deletable_and_only_an_ended_campaign_archivable() -> None:
    campaign = Campaign.create(appid=APPID, name="x", starts_at=NOW, ends_at=NOW + timedelta(days=1), now=NOW)
    campaign.check_deletable()
    with pytest.raises(IllegalTransition, match="end it first"):
        campaign.archive(NOW)
    campaign.status = campaign.status.ACTIVE
    with pytest.raises(IllegalTransition, match="only a draft"):
        campaign.check_deletable()
    campaign.end(NOW)
    campaign.archive(NOW)
    assert campaign.archived_at == NOW
    with pytest.raises(IllegalTransition, match="archived already"):
        campaign.archive(NOW)


async def draft(api: httpx.AsyncClient, name: str = "新客邀请") -> str:
    body = {"name": name, "starts_at": NOW.isoformat(), "ends_at": (NOW + timedelta(days=7)).isoformat()}
    created = await api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_draft_is_deleted_with_its_template_image_and_audited(
    api: httpx.AsyncClient, callers: Callers, stores: Stores
) -> None:
    cid = await draft(api)
    image = await stores.templates.put(APPID, cid, b"png", ImageInfo("image/png", 750, 1334, 3))
    patched = await api.patch(
        f"{BASE}/{cid}",
        json={"template": {"image_id": image.id, "qr": {"x": 400, "y": 1000, "size": 240}}, "version": 1},
    )
    assert patched.status_code == 200, patched.text
    assert (await api.delete(f"{BASE}/{cid}", headers={"If-Match": '"1"'})).status_code == 409  # stale
    deleted = await api.delete(f"{BASE}/{cid}")
    assert deleted.status_code == 204
    assert (await api.get(f"{BASE}/{cid}")).status_code == 404
    assert await stores.templates.read(image.id) is None
    assert (await api.delete(f"{BASE}/{cid}")).status_code == 404
    [entry] = await callers.directory.audit_entries(AuditQuery(appid=APPID, action="campaign.deleted", object_id=cid))
    assert entry.before is not None and entry.before["status"] == "draft"


async def test_a_campaign_that_ran_is_ended_with_a_notice_to_everyone_then_archived(
    api: httpx.AsyncClient, callers: Callers, stores: Stores
) -> None:
    cid = await draft(api)
    stored = await stores.campaigns.get(APPID, cid)
    assert stored is not None
    stored.status = stored.status.ACTIVE  # as if activated: members joined
    await stores.campaigns.save(stored)
    participants = InMemoryReferrals(stores.records)
    for n, openid in enumerate(("o_mom", "o_dad")):
        member = Participant(cid, APPID, openid, f"code{n}", NOW, "keyword", credited=n + 1)
        await participants.add_participant(member)

    refused = await api.delete(f"{BASE}/{cid}")
    assert refused.status_code == 409 and "only a draft" in refused.text
    assert (await api.post(f"{BASE}/{cid}/archive")).status_code == 409  # not ended yet

    ended = await api.post(f"{BASE}/{cid}/end", params={"notify": "true"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended" and ended.json()["participants_notified"] == 2
    queued = await InMemoryNotices(stores.records).pending_of_kind("ended", 10)
    texts = {n.openid: n.text for n in queued}
    assert texts == {"o_mom": "「新客邀请」活动已结束，感谢参与！", "o_dad": "「新客邀请」活动已结束，感谢参与！"}
    [entry] = await callers.directory.audit_entries(AuditQuery(appid=APPID, action="campaign.ended", object_id=cid))
    assert entry.after is not None and entry.after["participants_notified"] == 2

    archived = await api.post(f"{BASE}/{cid}/archive")
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    assert (await api.post(f"{BASE}/{cid}/archive")).status_code == 409
    assert [c["id"] for c in (await api.get(BASE)).json()["items"]] == []
    assert [c["id"] for c in (await api.get(BASE, params={"archived": "true"})).json()["items"]] == [cid]
    audited = await callers.directory.audit_entries(AuditQuery(appid=APPID, action="campaign.archived", object_id=cid))
    assert len(audited) == 1


async def test_ending_without_notify_queues_nothing(api: httpx.AsyncClient, stores: Stores) -> None:
    cid = await draft(api)
    stored = await stores.campaigns.get(APPID, cid)
    assert stored is not None
    stored.status = stored.status.PAUSED
    await stores.campaigns.save(stored)
    await InMemoryReferrals(stores.records).add_participant(Participant(cid, APPID, "o_mom", "c1", NOW, "keyword"))
    ended = await api.post(f"{BASE}/{cid}/end")
    assert ended.status_code == 200 and ended.json()["participants_notified"] is None
    assert await InMemoryNotices(stores.records).pending_of_kind("ended", 10) == []
