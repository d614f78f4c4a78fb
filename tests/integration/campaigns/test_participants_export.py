"""The participants CSV, the real app against SecantusDB: streamed line by line, one BOM, and an openid
(what WeChat says a member is) that would start a formula comes out as text."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient

from services.campaigns.adapters.referrals import MongoReferralStore
from services.campaigns.domain.participants import Participant
from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import Role
from tests.accounts import account
from tests.identities import Callers
from tests.integration.campaigns.test_api import BASE, new_campaign
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://evil.example","妈妈")'


@pytest.fixture
def settings(service_settings: LoadSettings) -> CampaignsSettings:
    return service_settings(CampaignsSettings, wechat_accounts=[account("wx1")])


@pytest.fixture
def http(settings: CampaignsSettings) -> Iterator[TestClient]:
    callers = Callers.on("wx1")
    with TestClient(create_app(settings, identity=callers.config), headers=callers.headers(Role.ADMIN)) as client:
        yield client


def seed(settings: CampaignsSettings, campaign_id: str) -> None:
    async def write() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url.get_secret_value())
        try:
            store = MongoReferralStore(client[settings.mongodb_database], None)
            mom = await store.add_participant(Participant(campaign_id, "wx1", HOSTILE, "code-1", T0, "campaign_qr"))
            await store.add_participant(
                Participant(campaign_id, "wx1", "-1+1", "code-2", T0 + timedelta(minutes=1), "referral")
            )
            mom.credited, mom.tiers_granted = 3, [3]
            await store.save_participant(mom)
        finally:
            await client.close()

    asyncio.run(write())


def test_a_hostile_openid_comes_out_as_text(http: TestClient, settings: CampaignsSettings) -> None:
    cid = new_campaign(http)["id"]
    seed(settings, cid)
    answer = http.get(f"{BASE}/{cid}/participants.csv")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="campaign-{cid}-participants.csv"'
    assert answer.content.startswith("\ufeff".encode()) and answer.content.count("\ufeff".encode()) == 1
    assert answer.text.count("\r\n") == 3
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert [(r["openid"], r["credited"], r["tiers_granted"]) for r in rows] == [
        ("'" + HOSTILE, "3", "3"),
        ("'-1+1", "0", ""),
    ]
