"""Who may call which route of the campaigns API, route by route from the routers' own table, and the
audit entries its writes and exports leave (the real app against SecantusDB)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import ROLE_PERMISSIONS, AuditEntry, AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.integration.campaigns.test_api import LAYOUT, image_bytes
from tests.integration.conftest import LoadSettings
from tests.unit.campaigns.test_http_permissions import EXPECTED, route_permissions

pytestmark = pytest.mark.integration

APPID = "wx1"
BASE = f"/accounts/{APPID}/campaigns"


@pytest.fixture
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
def http(service_settings: LoadSettings, callers: Callers) -> Iterator[TestClient]:
    settings = service_settings(CampaignsSettings, wechat_accounts=[account(APPID), account("wx_other")])
    with TestClient(create_app(settings, identity=callers.config)) as client:
        yield client


def new_campaign(http: TestClient, callers: Callers) -> str:
    now = datetime.now(UTC)
    body = {
        "name": "权限",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        "tiers": [{"count": 3, "pool": "A"}],
    }
    created = http.post(BASE, json=body, headers=callers.headers(Role.ADMIN))
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    return campaign_id


def call(http: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    """One request with a plausible body (the guard answers before the body is judged anyway)."""
    body: dict[str, Any] = {}
    if method == "POST" and path.endswith("/generate"):
        body = {"json": {"count": 1}}
    elif method in {"POST", "PATCH"}:
        body = {"json": {}}
    return http.request(method, path, headers=headers or {}, **body).status_code


def concrete(path: str, campaign_id: str, appid: str = APPID) -> str:
    return path.format(
        appid=appid,
        campaign_id=campaign_id,
        pool="A",
        submission_id=f"{appid}:nope",
        openid="o_member",
        key="b",
        flag_id="ring:o_member",
    )


def test_every_route_answers_401_403_or_passes_by_role_and_account(http: TestClient, callers: Callers) -> None:
    campaign_id = new_campaign(http, callers)
    table = route_permissions()
    assert table.keys() == EXPECTED.keys()
    for (method, template), permissions in sorted(table.items()):
        [permission] = permissions
        path = concrete(template, campaign_id)
        assert call(http, method, path) == 401, (method, path)
        assert call(http, method, path, {"Authorization": "Bearer scrm_nope_nope"}) == 401, (method, path)
        assert call(http, method, path, callers.headers_other_account()) in {403, 404}, (method, path)
        for role in Role:
            status = call(http, method, path, callers.headers(role))
            if permission in ROLE_PERMISSIONS[role]:
                assert status not in {401, 403}, (method, path, role)
            else:
                assert status == 403, (method, path, role)
        # Another account's admin holds every permission, but not here; on their own account the
        # route lets them through.
        own = concrete(template, campaign_id, appid="wx_other")
        assert call(http, method, own, callers.headers_other_account()) not in {401, 403}, (method, own)


def audit_entries(callers: Callers, action: str) -> list[AuditEntry]:
    async def read() -> list[AuditEntry]:
        return await callers.directory.audit_entries(AuditQuery(action=action))

    return asyncio.run(read())


def test_every_write_and_export_is_audited_with_the_operator(http: TestClient, callers: Callers) -> None:
    operator = callers.headers(Role.CAMPAIGN_OPERATOR)
    exporter = callers.headers(Role.PROJECT_MANAGER)
    campaign_id = new_campaign(http, callers)
    one = f"{BASE}/{campaign_id}"
    assert http.patch(one, json={"name": "改名", "version": 1}, headers=operator).status_code == 200
    files = {"image": ("poster.png", image_bytes(), "image/png")}
    template = http.post(
        f"{one}/template", files=files, data={"layout": json.dumps(LAYOUT)}, headers=operator | {"If-Match": '"2"'}
    )
    assert template.status_code == 201, template.text
    assert http.post(f"{one}/reward-pools/A/codes", content=b"AAA111\nBBB222\n", headers=operator).status_code == 200
    assert http.post(f"{one}/reward-pools/A/generate", json={"count": 3}, headers=operator).status_code == 201
    for move in ("activate", "pause", "end"):
        version = {"If-Match": http.get(one, headers=operator).headers["etag"]}
        assert http.post(f"{one}/{move}", headers=operator | version).status_code == 200
    assert http.get(f"{one}/participants.csv", headers=exporter).status_code == 200
    assert http.get(f"{one}/rewards", headers=exporter).status_code == 200

    created = audit_entries(callers, "campaign.created")
    assert [(e.actor_name, e.object_id, e.appid) for e in created] == [("admin-op", campaign_id, APPID)]
    assert created[0].after is not None and created[0].after["name"] == "权限"
    [edited] = audit_entries(callers, "campaign.edited")
    assert (edited.actor_name, edited.before, edited.after) == (
        "campaign_operator-op",
        {"version": 1},
        {
            "version": 2,
            "name": "改名",
        },
    )
    [uploaded_template] = audit_entries(callers, "campaign.template_uploaded")
    assert uploaded_template.after is not None and uploaded_template.after["content_type"] == "image/png"
    [uploaded] = audit_entries(callers, "reward_pool.codes_uploaded")
    assert uploaded.object_id == f"{campaign_id}/A"
    assert uploaded.after == {"added": 2, "already_in_pool": 0, "rejected": 0}
    assert "AAA111" not in repr(uploaded)  # the codes themselves stay out of the log
    [generated] = audit_entries(callers, "reward_pool.codes_generated")
    assert generated.after == {"requested": 3, "added": 3}
    statuses = [
        (audit_entries(callers, f"campaign.{action}")[0].after or {}).get("status")
        for action in ("activated", "paused", "ended")
    ]
    assert statuses == ["active", "paused", "ended"]
    for action in ("campaign.participants_exported", "campaign.rewards_exported"):
        [export] = audit_entries(callers, action)
        assert (export.actor_name, export.object_id) == ("project_manager-op", campaign_id)


def test_a_denial_is_audited_and_changes_nothing(http: TestClient, callers: Callers) -> None:
    campaign_id = new_campaign(http, callers)
    denied = http.post(f"{BASE}/{campaign_id}/activate", headers=callers.headers(Role.ANALYST))
    assert denied.status_code == 403
    assert http.get(f"{BASE}/{campaign_id}", headers=callers.headers(Role.ANALYST)).json()["status"] == "draft"
    [entry] = audit_entries(callers, "permission.denied")
    assert entry.actor_name == "analyst-op" and entry.after == {"permission": "campaign:launch"}
