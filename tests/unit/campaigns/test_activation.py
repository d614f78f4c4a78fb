"""Activation reports every problem at once and warns about empty reward pools (issue 22, item 9): the
domain, the use cases on in-memory ports, and the API on its in-memory adapters."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryRewardPools,
    InMemoryTemplates,
)
from services.campaigns.domain.activation import activation_warnings
from services.campaigns.domain.campaign import (
    ActivationBlocked,
    Campaign,
    CampaignStatus,
    IllegalTransition,
    InviteTier,
    JoinMethods,
    Messages,
    PosterTemplate,
    Problem,
    QrBox,
)
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app
from services.campaigns.service_layer.activation import activate_campaign, check_activation
from services.campaigns.service_layer.management import (
    NewCampaign,
    TemplateLayout,
    create_campaign,
    upload_template,
)
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from shared.identity import AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.unit.console.campaigns_api import in_memory_bootstrap

APPID = "wx1"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TEMPLATE = PosterTemplate("img", 750, 1334, QrBox(500, 1100, 200))
LAYOUT = TemplateLayout(QrBox(500, 1100, 200))
IMAGE = (b"png bytes", ImageInfo("image/png", 750, 1334, 9))


def campaign(**overrides: Any) -> Campaign:
    values: dict[str, Any] = {
        "appid": APPID,
        "name": "新客邀请",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=14),
        "now": NOW,
        "template": TEMPLATE,
        "tiers": (InviteTier(3, "A"), InviteTier(10, "B")),
    } | overrides
    return Campaign.create(**values)


# -- the domain ----------------------------------------------------------------------------------------


def test_every_problem_comes_at_once_with_its_field() -> None:
    bare = campaign(template=None, tiers=())
    with pytest.raises(ActivationBlocked) as refused:
        bare.activate(NOW + timedelta(days=15))
    assert [p.field for p in refused.value.problems] == ["template", "tiers", "ends_at"]
    assert "poster template" in str(refused.value) and "ended at" in str(refused.value)
    assert isinstance(refused.value, IllegalTransition)  # still a refused move for those who catch that
    assert bare.status is CampaignStatus.DRAFT


def test_a_status_that_cannot_start_stays_a_plain_illegal_move() -> None:
    ready = campaign()
    ready.activate(NOW)
    with pytest.raises(IllegalTransition) as refused:
        ready.activate(NOW)
    assert not isinstance(refused.value, ActivationBlocked)


def test_empty_pools_are_warned_about_per_tier() -> None:
    warnings = activation_warnings(campaign(), {"A": 0, "B": 5}, [], NOW)
    assert [w.field for w in warnings] == ["tiers.0.pool"]
    assert "pool A has no codes left" in warnings[0].problem and "3 invites" in warnings[0].problem
    assert activation_warnings(campaign(), {"A": 1, "B": 1}, [], NOW) == []
    # A pool nobody has filled is empty too.
    assert [w.field for w in activation_warnings(campaign(), {}, [], NOW)] == ["tiers.0.pool", "tiers.1.pool"]


def test_the_share_pool_a_start_ahead_and_shared_keywords_are_warned_about() -> None:
    later = campaign(
        starts_at=NOW + timedelta(days=2),
        share_screenshot_task=True,
        share_reward_pool="S",
        join=JoinMethods(keywords=("海报", "邀请"), menu_keys=("JOIN",)),
    )
    other = campaign(name="老活动", join=JoinMethods(keywords=("邀请",), menu_keys=("JOIN",)))
    warnings = activation_warnings(later, {"A": 1, "B": 1}, [other, later], NOW)
    assert [w.field for w in warnings] == ["share_reward_pool", "starts_at", "join.keywords.1", "join.menu_keys.0"]
    assert f"老活动 ({other.id})" in warnings[2].problem


def test_wording_wechat_forbids_is_warned_about() -> None:
    loud = campaign(messages=Messages(welcome="关注即送好礼，分享到朋友圈再领红包"))
    warnings = activation_warnings(loud, {"A": 1, "B": 1}, [], NOW)
    assert warnings and {w.field for w in warnings} == {"messages.welcome"}
    assert all(w.problem.startswith("wording WeChat forbids") for w in warnings)


# -- the use cases -------------------------------------------------------------------------------------


async def test_checking_changes_nothing_and_activating_answers_the_warnings() -> None:
    campaigns, pools, templates = InMemoryCampaigns(), InMemoryRewardPools(), InMemoryTemplates()
    new = NewCampaign(name="新客邀请", starts_at=NOW, ends_at=NOW + timedelta(days=14), tiers=(InviteTier(3, "A"),))
    draft = await create_campaign(campaigns, APPID, new, NOW)
    check = await check_activation(campaigns, pools, templates, APPID, draft.id, NOW)
    assert not check.ready and [p.field for p in check.problems] == ["template"]
    with pytest.raises(ActivationBlocked):
        await activate_campaign(campaigns, pools, templates, APPID, draft.id, None, NOW)

    await upload_template(campaigns, templates, APPID, draft.id, None, IMAGE, LAYOUT, NOW)
    check = await check_activation(campaigns, pools, templates, APPID, draft.id, NOW)
    assert check.ready and [w.field for w in check.warnings] == ["tiers.0.pool"]
    assert check.campaign.status is CampaignStatus.DRAFT

    done = await activate_campaign(campaigns, pools, templates, APPID, draft.id, 2, NOW)
    assert done.campaign.status is CampaignStatus.ACTIVE and done.campaign.version == 3
    assert [w.field for w in done.warnings] == ["tiers.0.pool"]
    await pools.generate(draft.id, "A", 5)
    check = await check_activation(campaigns, pools, templates, APPID, draft.id, NOW)
    assert check.warnings == () and [p.field for p in check.problems] == ["status"]


async def test_a_template_whose_image_is_gone_is_a_problem() -> None:
    campaigns, pools, templates = InMemoryCampaigns(), InMemoryRewardPools(), InMemoryTemplates()
    new = NewCampaign(name="新客邀请", starts_at=NOW, ends_at=NOW + timedelta(days=14), tiers=(InviteTier(3, "A"),))
    draft = await create_campaign(campaigns, APPID, new, NOW)
    uploaded = await upload_template(campaigns, templates, APPID, draft.id, None, IMAGE, LAYOUT, NOW)
    await templates.delete(uploaded.image.id)
    with pytest.raises(ActivationBlocked) as refused:
        await activate_campaign(campaigns, pools, templates, APPID, draft.id, None, NOW)
    assert refused.value.problems == (Problem("template", "the poster image is no longer stored: upload it again"),)


# -- the API -------------------------------------------------------------------------------------------


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (750, 1334), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch, callers: Callers) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(CampaignRecords()))
    app = create_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://campaigns", headers=callers.headers(Role.ADMIN)
        ) as client:
            yield client


BASE = f"/accounts/{APPID}/campaigns"


async def test_the_api_refuses_with_every_problem_then_activates_with_warnings(api: httpx.AsyncClient) -> None:
    body = {"name": "新客邀请", "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00"}
    created = await api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]

    assert (await api.post(f"{BASE}/{cid}/activate")).status_code == 428  # the version reviewed is required
    refused = await api.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"1"'})
    assert refused.status_code == 422, refused.text
    assert [p["field"] for p in refused.json()["problems"]] == ["template", "tiers"]
    assert [e["loc"] for e in refused.json()["detail"]] == [["campaign", "template"], ["campaign", "tiers"]]
    check = (await api.get(f"{BASE}/{cid}/activation-check")).json()
    assert check["ready"] is False and check["problems"] == refused.json()["problems"]

    layout = json.dumps({"qr": {"x": 500, "y": 1100, "size": 200}})
    uploaded = await api.post(
        f"{BASE}/{cid}/template",
        files={"image": ("p.png", png(), "image/png")},
        data={"layout": layout},
        headers={"If-Match": '"1"'},
    )
    assert uploaded.status_code == 201, uploaded.text
    tiers = [{"count": 3, "pool": "A"}, {"count": 10, "pool": "B"}]
    edited = await api.patch(f"{BASE}/{cid}", json={"tiers": tiers}, headers={"If-Match": '"2"'})
    assert edited.status_code == 200, edited.text
    generated = await api.post(f"{BASE}/{cid}/reward-pools/B/generate", json={"count": 5})
    assert generated.status_code == 201, generated.text

    check = (await api.get(f"{BASE}/{cid}/activation-check")).json()
    assert check["ready"] is True and check["problems"] == []
    assert [w["field"] for w in check["warnings"]] == ["tiers.0.pool"]

    active = await api.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"3"'})
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active" and active.headers["etag"] == '"4"'
    assert active.json()["warnings"] == check["warnings"]
    again = await api.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"4"'})
    assert again.status_code == 409  # already active: a state conflict


async def test_the_activation_is_audited_with_its_warnings(api: httpx.AsyncClient, callers: Callers) -> None:
    body = {"name": "新客邀请", "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00"}
    cid = (await api.post(BASE, json=body | {"tiers": [{"count": 3, "pool": "A"}]})).json()["id"]
    layout = json.dumps({"qr": {"x": 500, "y": 1100, "size": 200}})
    image = {"image": ("p.png", png(), "image/png")}
    await api.post(f"{BASE}/{cid}/template", files=image, data={"layout": layout}, headers={"If-Match": '"1"'})
    assert (await api.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"2"'})).status_code == 200
    [entry] = await callers.directory.audit_entries(AuditQuery(appid=APPID, action="campaign.activated", object_id=cid))
    assert entry.after is not None and [w["field"] for w in entry.after["warnings"]] == ["tiers.0.pool"]
