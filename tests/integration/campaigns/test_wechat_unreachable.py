"""A route that needs the WeChat API, when the platform cannot be reached (issue 22, item 2): the join
QR code of an active campaign is 502 naming the reason and the base URL tried, never a bare 500."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import Role
from shared.localinfra import free_port
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

BASE = "/accounts/wx1/campaigns"


@pytest.fixture
def nowhere() -> str:
    """An address nothing listens on (as a laptop without the simulator, or without internet, is)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def http(service_settings: LoadSettings, nowhere: str) -> Iterator[TestClient]:
    settings = service_settings(CampaignsSettings, wechat_api={"base_url": nowhere, "retries": 0})
    callers = Callers.on("wx1")
    app = create_app(settings, identity=callers.config)
    with TestClient(app, headers=callers.headers(Role.ADMIN), raise_server_exceptions=False) as client:
        yield client


def _active_campaign(http: TestClient) -> str:
    """A campaign joined through its own QR code, with a poster template, activated; its path."""
    now = datetime.now(UTC)
    body = {
        "name": "新客邀请",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=14)).isoformat(),
        "tiers": [{"count": 3, "pool": "A"}],
        "join": {"follow_qr": True},
    }
    created = http.post(BASE, json=body)
    assert created.status_code == 201, created.text
    path = f"{BASE}/{created.json()['id']}"
    image = io.BytesIO()
    Image.new("RGB", (750, 1334), "white").save(image, format="PNG")
    layout = {"qr": {"x": 500, "y": 1100, "size": 200}}
    uploaded = http.post(
        f"{path}/template",
        files={"image": ("poster.png", image.getvalue(), "image/png")},
        data={"layout": json.dumps(layout)},
        headers={"If-Match": f'"{created.json()["version"]}"'},
    )
    assert uploaded.status_code == 201, uploaded.text
    version = http.get(path).json()["version"]
    assert http.post(f"{path}/activate", headers={"If-Match": f'"{version}"'}).status_code == 200
    return path


def test_the_join_qr_code_is_502_with_the_reason_when_wechat_is_unreachable(http: TestClient, nowhere: str) -> None:
    path = _active_campaign(http)
    response = http.get(f"{path}/join-qr")
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["reason"] == "wechat_unreachable" and body["api"] in {"stable_token", "qrcode/create"}
    assert nowhere in body["detail"] and "WECHAT_API__BASE_URL" in body["detail"]
    assert "access_token" not in response.text
