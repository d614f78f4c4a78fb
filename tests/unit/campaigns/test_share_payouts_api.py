"""The share-payout option and routes of the campaigns API, on its in-memory adapters: the campaign
form's ``share_payout`` (validated, 422 naming the field), the payouts listing, one member's payout,
the stats' counts and the member's campaigns view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.campaigns.adapters.memory import CampaignRecords
from services.campaigns.domain.payouts import PayoutState, RecheckMode, SharePayout, SharePayoutPolicy, open_payout
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import Role
from tests.accounts import account
from tests.identities import Callers
from tests.unit.console.campaigns_api import in_memory_bootstrap

APPID = "wx1"
BASE = f"/accounts/{APPID}/campaigns"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
async def api(
    monkeypatch: pytest.MonkeyPatch, callers: Callers
) -> AsyncIterator[tuple[httpx.AsyncClient, CampaignRecords]]:
    records = CampaignRecords()
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records))
    app = create_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://campaigns", headers=callers.headers(Role.ADMIN)
        ) as client,
    ):
        yield client, records


def body(**changes: object) -> dict[str, object]:
    return {
        "name": "晒图有礼",
        "starts_at": "2026-01-01T00:00:00+08:00",
        "ends_at": "2099-01-01T00:00:00+08:00",
        "tiers": [{"count": 3, "pool": "A"}],
        "share_screenshot_task": True,
        "share_reward_pool": "S",
    } | changes


async def test_the_campaign_form_takes_the_payout_policy(api: tuple[httpx.AsyncClient, CampaignRecords]) -> None:
    client, _ = api
    plain = await client.post(BASE, json=body())
    assert plain.status_code == 201, plain.text
    assert plain.json()["share_payout"] == {
        "delay_hours": 0,
        "recheck": "none",
        "recheck_percent": 10,
        "recheck_after_hours": 24,
        "recheck_deadline_hours": 24,
    }
    policy = {"delay_hours": 48, "recheck": "sample", "recheck_percent": 20, "recheck_after_hours": 24}
    created = await client.post(BASE, json=body(share_payout=policy))
    assert created.status_code == 201, created.text
    assert created.json()["share_payout"] == policy | {"recheck_deadline_hours": 24}
    # Bad input names the field.
    wrong = await client.post(BASE, json=body(share_payout={"recheck": "sometimes"}))
    assert wrong.status_code == 422 and "share_payout" in wrong.text and "recheck" in wrong.text
    too_many = await client.post(BASE, json=body(share_payout={"recheck_percent": 101}))
    assert too_many.status_code == 422 and "recheck_percent" in too_many.text
    no_pool = await client.post(BASE, json=body(share_reward_pool=None, share_payout={"delay_hours": 24}))
    assert no_pool.status_code == 422 and "share_payout" in no_pool.text
    # A draft's policy is replaced whole by a PATCH.
    cid = created.json()["id"]
    patched = await client.patch(
        f"{BASE}/{cid}", json={"share_payout": {"recheck": "all"}}, headers={"If-Match": created.headers["etag"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["share_payout"]["recheck"] == "all" and patched.json()["share_payout"]["delay_hours"] == 0


async def test_payouts_are_listed_counted_and_shown_per_member(api: tuple[httpx.AsyncClient, CampaignRecords]) -> None:
    client, records = api
    created = await client.post(BASE, json=body(share_payout={"delay_hours": 6, "recheck": "all"}))
    cid = created.json()["id"]
    policy = SharePayoutPolicy(delay_hours=6, recheck=RecheckMode.ALL, recheck_after_hours=2)

    def payout(openid: str, minutes: int) -> SharePayout:
        return open_payout(
            policy,
            campaign_id=cid,
            appid=APPID,
            openid=openid,
            pool="S",
            submission_id=f"{APPID}:{openid}",
            approved_at=T0 + timedelta(minutes=minutes),
        )

    waiting, asked, failed = (payout(m, n) for n, m in enumerate(("o_wait", "o_asked", "o_failed")))
    asked = asked.ask(T0 + timedelta(hours=2), 24)
    failed = failed.ask(T0, 24).fail_recheck(T0, "wx1:9", ("posted_again",))
    for each in (waiting, asked, failed):
        records.payouts[each.id] = each

    page = (await client.get(f"{BASE}/{cid}/share-payouts")).json()
    assert [item["openid"] for item in page["items"]] == ["o_wait", "o_asked", "o_failed"]
    expected = {
        "pending": 2,
        "paid": 0,
        "rechecks_requested": 2,
        "rechecks_awaited": 1,
        "rechecks_passed": 0,
        "rechecks_failed": 1,
        "rechecks_expired": 0,
    }
    assert page["counts"] == expected
    only = (await client.get(f"{BASE}/{cid}/share-payouts", params={"state": "recheck_failed"})).json()
    assert [(i["openid"], i["recheck_reasons"]) for i in only["items"]] == [("o_failed", ["posted_again"])]
    one = await client.get(f"{BASE}/{cid}/share-payouts/o_asked")
    assert one.status_code == 200 and one.json()["state"] == PayoutState.RECHECK_REQUESTED.value
    assert (await client.get(f"{BASE}/{cid}/share-payouts/o_nobody")).status_code == 404
    assert (await client.get(f"{BASE}/nope/share-payouts")).status_code == 404
    assert (await client.get(f"{BASE}/{cid}/share-payouts", params={"state": "lost"})).status_code == 422
    stats = (await client.get(f"{BASE}/{cid}/stats")).json()
    assert stats["share_payouts"] == expected
