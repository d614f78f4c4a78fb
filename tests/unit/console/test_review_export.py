"""The review queue's labelled export in the console: the section on the queue page, the download
passed through from the campaigns API (which checks ``screenshot:export`` and audits it)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator

import pytest

from services.campaigns.adapters.memory import CampaignRecords, InMemoryCampaigns, InMemoryTemplates
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app as create_campaigns_app
from services.campaigns.settings import CampaignsSettings
from services.console.service_layer.ports import Api
from shared.identity import AuditQuery
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.campaigns.test_review_export import seed
from tests.unit.console.campaigns_api import in_memory_bootstrap
from tests.unit.console.conftest import APPID, _seed
from tests.unit.console.stack import console_site
from tests.unit.console.test_review import Stack

QUEUE = f"/accounts/{APPID}/review"


@pytest.fixture
async def stack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    """The console, identity and campaigns APIs; a campaign with a poster template and three reviewer
    decisions (two with their pictures kept), as in the API's own export test."""
    directory = cheap_directory()
    await _seed(directory)
    records, campaigns, templates = CampaignRecords(), InMemoryCampaigns(), InMemoryTemplates()
    await seed(records, campaigns, templates)
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records, campaigns, templates))
    api = create_campaigns_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=identity_config(directory))
    async with console_site(directory, {Api.CAMPAIGNS: api}) as transport:
        built = Stack(transport, directory, campaigns, records)
        try:
            yield built
        finally:
            for client in built.clients:
                await client.aclose()


async def test_the_queue_offers_the_export_and_the_download_is_the_apis_zip(stack: Stack) -> None:
    rita = await stack.signed_in("rita")
    page = await rita.get(QUEUE)
    assert page.status_code == 200
    assert 'data-testid="labels-export"' in page.text and 'data-testid="export-labels"' in page.text
    assert "scrm verify-screenshots --labels" in page.text and "下载标注样本（zip）" in page.text
    assert f'action="/accounts/{APPID}/review/export"' in page.text

    (campaign,) = await stack.campaigns.list(APPID, limit=10)
    download = await rita.get(QUEUE + "/export", campaign_id=campaign.id, since="2026-11-20", limit="200")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith('attachment; filename="screenshot-labels-wx1-')
    assert download.headers["x-export-count"] == "2"
    with zipfile.ZipFile(io.BytesIO(download.content)) as bundle:
        lines = [json.loads(line) for line in bundle.read("labels.jsonl").decode().splitlines()]
    assert [(line["user"], line["label"]) for line in lines] == [("o_mom", "approve"), ("o_dad", "reject")]

    # The day is Beijing's: decisions of 20 Nov after 16:00 UTC are on the 21st there.
    later = await rita.get(QUEUE + "/export", since="2026-11-21")
    assert later.status_code == 200 and later.headers["x-export-count"] == "0"

    entries = await stack.directory.audit_entries(AuditQuery(action="screenshot.labels_exported"))
    assert [entry.actor_name for entry in entries] == ["rita", "rita"]


async def test_the_export_is_refused_without_the_permission_and_bad_days_are_named(stack: Stack) -> None:
    otto = await stack.signed_in("otto")  # campaign operator: no screenshot:export
    refused = await otto.get(QUEUE + "/export")
    assert refused.status_code == 403
    rita = await stack.signed_in("rita")
    bad = await rita.get(QUEUE + "/export", since="2026-13-45")
    assert bad.status_code == 422 and "2026-13-45" in bad.text
    assert (await rita.get(QUEUE + "/export", since="yesterday")).status_code == 422


async def test_a_picture_whose_analysis_timed_out_waits_at_the_desk_with_its_reason(stack: Stack) -> None:
    (campaign,) = await stack.campaigns.list(APPID, limit=10)
    waiting = await stack.shot(campaign, "slow", minutes_ago=2, reasons=("analysis_timeout",), evidence={})
    rita = await stack.signed_in("rita")
    queue = await rita.get(QUEUE)
    assert "截图识别超时，已转人工审核" in queue.text  # the reason's text, as the API gives it
    desk = await rita.get(f"{QUEUE}/{waiting}")
    assert desk.status_code == 200 and 'data-testid="reason-private_post"' in desk.text  # decidable as any other
