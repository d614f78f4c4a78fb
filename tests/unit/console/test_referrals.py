"""The referral graph page and a campaign's poster-variant page, against the real identity and campaigns
APIs in process (the campaigns API on its in-memory adapters)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from services.campaigns.adapters.memory import CampaignRecords, InMemoryCampaigns, InMemoryPosterVariants
from services.campaigns.domain.campaign import Campaign, PosterTemplate, QrBox
from services.campaigns.domain.graph import Edge
from services.campaigns.domain.variants import PosterVariant, VariantPlan
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app as create_campaigns_app
from services.campaigns.settings import CampaignsSettings
from services.console.service_layer.ports import Api
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.campaigns_api import in_memory_bootstrap
from tests.unit.console.conftest import APPID, PASSWORDS, ConsoleUnderTest, _seed
from tests.unit.console.stack import console_client

PAGE = f"/accounts/{APPID}/referrals"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Site(ConsoleUnderTest):
    records: CampaignRecords
    variants: InMemoryPosterVariants
    campaigns: InMemoryCampaigns

    async def as_(self, name: str) -> None:
        self.client.cookies.clear()
        self.client.cookies.set("scrm_lang", "en")
        answer = await self.client.post("/login", data={"name": name, "password": PASSWORDS[name], "next": "/"})
        assert answer.status_code == 303, answer.text

    async def post(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(path, data={"csrf_token": await self.csrf(), **(data or {})})


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    records, campaigns = CampaignRecords(), InMemoryCampaigns()
    variants = InMemoryPosterVariants(records)
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records, campaigns, variants=variants))
    directory = cheap_directory()
    await _seed(directory)
    app = create_campaigns_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=identity_config(directory))
    async with console_client(directory, {Api.CAMPAIGNS: app}, locale="en") as client:
        yield Site(client, directory, records, variants, campaigns)


def ring(records: CampaignRecords) -> None:
    for n, (inviter, invitee, campaign) in enumerate(
        (("o_A", "o_B", "c1"), ("o_B", "o_A", "c2"), ("o_A", "o_C", "c1"))
    ):
        records.edges[f"{campaign}:{invitee}"] = Edge(APPID, campaign, inviter, invitee, NOW - timedelta(hours=n))


async def test_the_page_shows_flags_and_retention_and_a_reviewer_freezes_and_releases(site: Site) -> None:
    await site.as_("rita")
    empty = await site.client.get(PAGE)
    assert empty.status_code == 200 and 'data-testid="graph-no-flags"' in empty.text
    assert 'data-testid="graph-empty"' in empty.text and 'data-testid="graph-export-csv"' not in empty.text

    ring(site.records)
    page = await site.client.get(PAGE)
    assert page.text.count('data-testid="graph-flag"') == 1 and "Ring across campaigns" in page.text
    assert page.text.count('data-testid="graph-freeze"') == 2
    frozen = await site.post(f"{PAGE}/o_A/freeze", {"reason": "ring"})
    assert frozen.status_code == 303, frozen.text
    page = await site.client.get(PAGE)
    assert page.text.count('data-testid="graph-freeze"') == 1 and 'data-testid="graph-release"' in page.text
    again = await site.post(f"{PAGE}/o_A/freeze", {"reason": "ring"})
    assert again.status_code == 200 and "frozen already" in again.text
    assert (await site.post(f"{PAGE}/o_A/release")).status_code == 303
    assert 'data-testid="graph-release"' not in (await site.client.get(PAGE)).text

    await site.as_("ada")  # an admin may export
    page = await site.client.get(PAGE)
    assert 'data-testid="graph-export-csv"' in page.text
    exported = await site.client.get(f"{PAGE}/export.csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and exported.headers["content-type"].startswith("text/csv")
    assert (await site.client.get(f"{PAGE}/export.json")).json()["nodes"] == ["o_A", "o_B", "o_C"]

    await site.as_("otto")  # a campaign operator reads the graph but decides nothing
    page = await site.client.get(PAGE)
    assert page.status_code == 200 and 'data-testid="graph-freeze"' not in page.text


async def test_a_reviewer_dismisses_a_flag_and_it_stays_out_of_the_open_list(site: Site) -> None:
    await site.as_("rita")
    ring(site.records)
    page = await site.client.get(PAGE)
    assert (
        page.text.count('data-testid="graph-flag-dismiss"') == 1
        and 'data-testid="graph-reviewed-list"' not in page.text
    )
    dismissed = await site.post(f"{PAGE}/flags/ring:o_A/review", {"status": "dismissed", "note": "cousins"})
    assert dismissed.status_code == 303, dismissed.text
    page = await site.client.get(PAGE)
    assert 'data-testid="graph-flag"' not in page.text and 'data-testid="graph-no-flags"' in page.text
    assert page.text.count('data-testid="graph-flag-reviewed"') == 1 and "cousins" in page.text
    again = await site.post(f"{PAGE}/flags/ring:o_A/review", {"status": "dismissed"})
    assert again.status_code == 200 and "dismissed already" in again.text
    assert (await site.post(f"{PAGE}/flags/ring:o_A/review", {"status": "open"})).status_code == 303
    assert (await site.client.get(PAGE)).text.count('data-testid="graph-flag"') == 1

    await site.as_("otto")  # a campaign operator reads the flags but reviews none
    page = await site.client.get(PAGE)
    assert 'data-testid="graph-flag-dismiss"' not in page.text
    refused = await site.post(f"{PAGE}/flags/ring:o_A/review", {"status": "dismissed"})
    assert refused.status_code == 403


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (750, 1334), (250, 240, 230)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_the_variant_page_shows_each_variant_and_saves_weights(site: Site) -> None:
    await site.as_("otto")
    campaign = Campaign.create(
        appid=APPID,
        name="海报 A/B",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=7),
        now=NOW,
        campaign_id="cab",
        template=PosterTemplate("img-a", 750, 1334, QrBox(10, 10, 240)),
    )
    await site.campaigns.add(campaign)
    await site.variants.save_plan(
        APPID, VariantPlan("cab", (PosterVariant("b", PosterTemplate("img-b", 750, 1334, QrBox(10, 10, 240))),))
    )
    site.variants.counters["cab"] = {
        "members:a": 10,
        "members:b": 10,
        "follows:a": 2,
        "follows:b": 5,
        "confirmed:b": 3,
    }
    page = await site.client.get(f"/accounts/{APPID}/campaigns/cab/variants")
    assert page.status_code == 200
    assert 'data-testid="variant-a"' in page.text and 'data-testid="variant-b"' in page.text
    assert "Leading" in page.text and "Thompson" in page.text
    assert 'data-testid="variant-confirmed-b">3<' in page.text and "Confirmed per member" in page.text
    saved = await site.post(
        f"/accounts/{APPID}/campaigns/cab/variants",
        {"weight_a": "1", "weight_b": "3", "auto_shift": "on", "min_sample": "40"},
    )
    assert saved.status_code == 303, saved.text
    plan = await site.variants.plan("cab")
    assert plan is not None and plan.weights() == {"a": 1, "b": 3} and plan.auto_shift.min_sample == 40
    refused = await site.post(f"/accounts/{APPID}/campaigns/cab/variants", {"weight_a": "x", "min_sample": "0"})
    assert refused.status_code == 422 and "A whole number from 0 to 1000." in refused.text
    none_left = await site.post(f"/accounts/{APPID}/campaigns/cab/variants", {"weight_a": "0", "weight_b": "0"})
    assert none_left.status_code == 422
