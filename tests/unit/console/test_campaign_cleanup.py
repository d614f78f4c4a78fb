"""Issue 21 item 6 in the console: a draft's Delete, an ended campaign's Archive, and ending with a
notice to every participant (the API decides and audits; the page shows the buttons that apply)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.campaigns.adapters.memory import InMemoryNotices, InMemoryReferrals
from services.campaigns.domain.participants import Participant
from tests.unit.console.conftest import APPID
from tests.unit.console.test_campaigns import (
    BASE,
    Campaigns,
    _version,
    activate,
    create_draft,
    in_memory,
    ready_campaign,
    site,
)

__all__ = ["in_memory", "site"]  # the fixtures, shared with test_campaigns


async def test_a_draft_is_deleted_after_confirming(site: Campaigns) -> None:
    await site.as_("otto")
    campaign_id = await create_draft(site)
    live = await site.client.get(f"{BASE}/{campaign_id}")
    assert 'data-testid="delete"' in live.text and 'data-testid="archive"' not in live.text
    unconfirmed = await site.post(f"{BASE}/{campaign_id}/delete", {"version": _version(live.text)})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm" in unconfirmed.text
    deleted = await site.post(f"{BASE}/{campaign_id}/delete", {"version": _version(live.text), "confirm": "yes"})
    assert deleted.status_code == 303 and deleted.headers["location"] == f"/accounts/{APPID}/campaigns"
    assert (await site.client.get(f"{BASE}/{campaign_id}")).status_code == 404


async def test_ending_can_notify_every_participant_then_the_campaign_is_archived(site: Campaigns) -> None:
    await site.as_("otto")
    campaign_id = await ready_campaign(site)
    assert (await activate(site, campaign_id)).status_code == 303
    await InMemoryReferrals(site.records).add_participant(
        Participant(campaign_id, APPID, "o_mom", "code1", datetime.now(UTC), "keyword")
    )
    live = await site.client.get(f"{BASE}/{campaign_id}")
    assert 'data-testid="end-notify"' in live.text and 'data-testid="delete"' not in live.text
    ended = await site.post(
        f"{BASE}/{campaign_id}/end", {"version": _version(live.text), "confirm": "yes", "notify": "yes"}
    )
    assert ended.status_code == 303
    [notice] = await InMemoryNotices(site.records).pending_of_kind("ended", 10)
    assert notice.openid == "o_mom" and "活动已结束" in notice.text

    live = await site.client.get(f"{BASE}/{campaign_id}")
    assert 'data-testid="archive"' in live.text
    archived = await site.post(f"{BASE}/{campaign_id}/archive", {"version": _version(live.text)})
    assert archived.status_code == 303
    live = await site.client.get(f"{BASE}/{campaign_id}")
    assert 'data-testid="campaign-archived"' in live.text and 'data-testid="archive"' not in live.text


async def test_the_live_page_shows_pending_and_confirmed_invites(site: Campaigns) -> None:
    await site.as_("otto")
    campaign_id = await ready_campaign(site)
    assert (await activate(site, campaign_id)).status_code == 303
    live = await site.client.get(f"{BASE}/{campaign_id}")
    assert 'data-testid="kpi-pending"' in live.text and 'data-testid="kpi-confirmed"' in live.text
