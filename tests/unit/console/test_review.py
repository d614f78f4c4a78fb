"""The review queue and desk: the console over the real identity and campaigns APIs, in process, the
campaigns API on its in-memory adapters (submissions in review arranged as the worker leaves them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryReferrals,
    InMemoryShareScreenshots,
)
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app as create_campaigns_app
from services.campaigns.service_layer import review as review_service
from services.campaigns.service_layer.management import NewCampaign, create_campaign
from services.campaigns.settings import CampaignsSettings
from services.console.domain.review import QUEUE_PAGE, SERVICE_LEVEL_SECONDS, overdue, picture_path, qr_owner
from services.console.service_layer.ports import Api
from services.screenshots import Fingerprint
from shared.identity import Directory
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.campaigns_api import in_memory_bootstrap
from tests.unit.console.conftest import APPID, PASSWORDS, _seed
from tests.unit.console.stack import console_site

DESK = f"/accounts/{APPID}/review"
PICTURE = b"\xff\xd8picture"
HTMX = {"HX-Request": "true"}


@dataclass
class Stack:
    """The console, the identity API and the campaigns API, sharing one in-memory directory."""

    transport: httpx.ASGITransport
    directory: Directory
    campaigns: InMemoryCampaigns
    records: CampaignRecords
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def screenshots(self) -> InMemoryShareScreenshots:
        return InMemoryShareScreenshots(self.records)

    async def signed_in(self, name: str) -> Reviewer:
        client = httpx.AsyncClient(transport=self.transport, base_url="http://console.test")
        self.clients.append(client)
        answer = await client.post("/login", data={"name": name, "password": PASSWORDS[name], "next": "/"})
        assert answer.status_code == 303, answer.text
        page = await client.get(f"/accounts/{APPID}")
        marker = 'name="csrf-token" content="'
        start = page.text.index(marker) + len(marker)
        return Reviewer(client, page.text[start : page.text.index('"', start)])

    async def campaign(self, name: str = "晒图有礼") -> Campaign:
        now = datetime.now(UTC)
        new = NewCampaign(
            name=name, starts_at=now, ends_at=now + timedelta(days=7), share_screenshot_task=True, share_reward_pool="S"
        )
        return await create_campaign(self.campaigns, APPID, new, now)

    async def shot(
        self,
        campaign: Campaign,
        name: str,
        *,
        minutes_ago: int,
        status: str = "review",
        openid: str | None = None,
        reasons: tuple[str, ...] = ("possibly_reused",),
        evidence: dict[str, Any] | None = None,
    ) -> str:
        at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        record = SubmissionRecord(
            id=f"{APPID}:{name}",
            campaign_id=campaign.id,
            appid=APPID,
            openid=openid or f"o_{name}",
            received_at=at,
            status=status,
            decision={"review": "review", "approved": "approve", "rejected": "reject"}[status],
            reasons=list(reasons),
            evidence=evidence or {"boxes": {}},
            fingerprint=Fingerprint(f"sha-{name}", None),
            decided_by="auto",
            decided_at=at,
        )
        assert await self.screenshots.add(record)
        await self.screenshots.keep_image(record.id, PICTURE, "image/jpeg")
        return record.id

    async def status(self, submission: str) -> SubmissionRecord:
        found = await self.screenshots.get(submission)
        assert found is not None
        return found


@dataclass
class Reviewer:
    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params or None)

    async def post(self, path: str, htmx: bool = False, **data: str) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **(HTMX if htmx else {})}
        return await self.client.post(path, data=data, headers=headers)


@asynccontextmanager
async def review_stack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    """The three apps wired together (a browser check can serve ``stack.transport``'s app too)."""
    directory = cheap_directory()
    await _seed(directory)

    records, campaigns = CampaignRecords(), InMemoryCampaigns()
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records, campaigns))
    campaigns_api = create_campaigns_app(
        CampaignsSettings(wechat_accounts=[account(APPID)]), identity=identity_config(directory)
    )
    async with console_site(directory, {Api.CAMPAIGNS: campaigns_api}) as transport:
        stack = Stack(transport, directory, campaigns, records)
        try:
            yield stack
        finally:
            for client in stack.clients:
                await client.aclose()


@pytest.fixture
async def stack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    async with review_stack(monkeypatch) as built:
        yield built


def count_ids(page: httpx.Response, name: str) -> int:
    return page.text.count(f'data-testid="{name}"')


# -- the queue ------------------------------------------------------------------------------------------


async def test_the_queue_lists_what_waits_oldest_first_with_ages_claims_counts_and_filters(stack: Stack) -> None:
    spring, autumn = await stack.campaign("春季晒图"), await stack.campaign("秋季晒图")
    await stack.shot(spring, "late", minutes_ago=45)
    await stack.shot(autumn, "fresh", minutes_ago=3, reasons=("qr_unreadable",))
    await stack.shot(spring, "done", minutes_ago=90, status="approved")
    rita = await stack.signed_in("rita")

    page = await rita.get(DESK)
    assert page.status_code == 200
    assert count_ids(page, "queue-row") == 2
    assert page.text.index('title="o_late"') < page.text.index('title="o_fresh"')  # who waited longest first
    assert count_ids(page, "overdue") == 1  # only the 45-minute-old item is over the service level
    assert "春季晒图" in page.text and "秋季晒图" in page.text  # the campaign filter's names
    assert 'data-testid="count-review"' in page.text and 'data-testid="start-reviewing"' in page.text
    assert 'src="/static/review.js"' in page.text and "<kbd>J</kbd>" in page.text  # the ? dialog lists J/K

    only = await rita.get(DESK, campaign_id=autumn.id)
    assert count_ids(only, "queue-row") == 1 and 'title="o_fresh"' in only.text
    by_reason = await rita.get(DESK, reason="qr_unreadable")
    assert count_ids(by_reason, "queue-row") == 1 and 'title="o_fresh"' in by_reason.text

    # The list refreshes itself: HTMX gets the rows only.
    rows = await rita.client.get(DESK, headers=HTMX)
    assert count_ids(rows, "queue-row") == 2 and "<html" not in rows.text


async def test_an_empty_queue_says_so_and_start_reviewing_comes_back_to_it(stack: Stack) -> None:
    rita = await stack.signed_in("rita")
    page = await rita.get(DESK)
    assert count_ids(page, "queue-empty") == 1 and count_ids(page, "queue-row") == 0

    started = await rita.post(DESK + "/start")
    assert started.status_code == 303 and started.headers["location"] == DESK + "?empty=1"
    back = await rita.get(started.headers["location"])
    assert "没有待审核的了，辛苦了" in back.text and "flash-info" in back.text


# -- the desk -------------------------------------------------------------------------------------------


async def test_start_reviewing_claims_the_oldest_and_the_desk_shows_its_evidence(stack: Stack) -> None:
    campaign = await stack.campaign()
    members = InMemoryReferrals(stack.records)
    for openid in ("o_mom", "o_dad"):
        joined = datetime.now(UTC)
        await members.add_participant(
            Participant(campaign.id, APPID, openid, f"c-{openid}", joined, "qr", qr_url=f"https://qr/{openid}")
        )
    earlier = await stack.shot(campaign, "dad1", minutes_ago=120, status="approved", openid="o_dad")
    mom = await stack.shot(
        campaign,
        "mom1",
        minutes_ago=40,
        openid="o_mom",
        evidence={
            "qr": "foreign",
            "qr_payloads": ["https://qr/o_mom", "https://qr/o_dad", "https://elsewhere"],
            "artwork_score": 0.91,
            "poster_share": 0.4,
            "moments_checked": True,
            "time_word": "5分钟前",
            "delete_word": True,
            "lock_marker": True,
            "ocr_text": "妈妈的朋友圈 5分钟前 删除",
            "reuse": "near",
            "reuse_similarity": 0.97,
            "reused_from": earlier,
            "boxes": {},
        },
    )
    await stack.shot(campaign, "later", minutes_ago=5)
    rita = await stack.signed_in("rita")

    started = await rita.post(DESK + "/start")
    assert started.status_code == 303 and started.headers["location"] == f"{DESK}/{mom}"
    claim = (await stack.status(mom)).claim
    assert claim is not None and claim.holder_name == "rita"

    page = await rita.get(started.headers["location"])
    assert page.status_code == 200
    assert [count_ids(page, f"qr-{owner}") for owner in ("submitter", "other", "unknown")] == [1, 1, 1]
    assert f'href="/accounts/{APPID}/members/o_dad"' in page.text  # whose code it is, to look them up
    assert "91.0%" in page.text and "5分钟前" in page.text and count_ids(page, "locked") == 1
    assert "<details><summary>" in page.text and "妈妈的朋友圈" in page.text  # OCR text, collapsed
    assert "97.0%" in page.text and f"{DESK}/pictures/{campaign.id}/{earlier}" in page.text  # side by side
    assert f'src="{DESK}/pictures/{campaign.id}/{mom}"' in page.text and 'class="zoomable"' in page.text
    assert count_ids(page, "claim-mine") == 1 and f'hx-post="{DESK}/{mom}/claim"' in page.text
    assert 'hx-trigger="load, every 120s"' in page.text  # the claim is renewed while the desk is open
    for code in ("private_post", "reused_screenshot", "foreign_qr"):
        assert f'data-testid="reason-{code}"' in page.text
    assert "私密" in page.text or "仅自己可见" in page.text or "Private" in page.text
    assert f'data-next="{DESK}/{mom.replace("mom1", "later")}"' in page.text  # J goes down the queue
    assert "<kbd>A</kbd>" in page.text and "<kbd>R</kbd>" in page.text


async def test_approving_swaps_in_the_next_claimed_item_without_a_page_load(stack: Stack) -> None:
    campaign = await stack.campaign()
    first = await stack.shot(campaign, "first", minutes_ago=20)
    second = await stack.shot(campaign, "second", minutes_ago=10)
    rita = await stack.signed_in("rita")

    approved = await rita.post(f"{DESK}/{first}/approve", htmx=True, campaign_id="", note="清晰")
    assert approved.status_code == 200 and approved.headers["X-Status"] == "200"
    assert "<html" not in approved.text and 'id="desk"' in approved.text
    assert f'data-submission="{second}"' in approved.text and "已通过" in approved.text
    assert approved.headers["HX-Push-Url"] == f"{DESK}/{second}"
    settled = await stack.status(first)
    assert settled.status == "approved" and settled.decided_by == "rita" and settled.note == "清晰"
    claim = (await stack.status(second)).claim
    assert claim is not None and claim.holder_name == "rita"  # the next one is already hers

    # The browser's Back to a pushed address asks HTMX for it again: the whole page comes back.
    restored = await rita.client.get(f"{DESK}/{first}", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert restored.text.startswith("<!doctype html>") and count_ids(restored, "decided") == 1

    # The last one: the desk says there is nothing left, and the address goes back to the queue.
    done = await rita.post(f"{DESK}/{second}/approve", htmx=True)
    assert count_ids(done, "desk-empty") == 1 and done.headers["HX-Push-Url"] == DESK


async def test_a_plain_form_decision_goes_to_the_next_item_by_redirect(stack: Stack) -> None:
    campaign = await stack.campaign()
    first = await stack.shot(campaign, "first", minutes_ago=20)
    second = await stack.shot(campaign, "second", minutes_ago=10)
    rita = await stack.signed_in("rita")
    answer = await rita.client.post(f"{DESK}/{first}/approve", data={"csrf_token": rita.csrf})
    assert answer.status_code == 303 and answer.headers["location"] == f"{DESK}/{second}"
    assert (await stack.status(first)).status == "approved"


async def test_rejecting_needs_a_reason_and_sends_the_member_its_code(stack: Stack) -> None:
    campaign = await stack.campaign()
    shot = await stack.shot(campaign, "shot", minutes_ago=20)
    rita = await stack.signed_in("rita")

    missing = await rita.post(f"{DESK}/{shot}/reject", htmx=True, note="看不清")
    assert missing.status_code == 200 and missing.headers["X-Status"] == "422"
    assert 'class="field-error"' in missing.text and "看不清" in missing.text  # the note is kept
    assert (await stack.status(shot)).status == "review"

    rejected = await rita.post(f"{DESK}/{shot}/reject", htmx=True, reason="private_post", note="")
    assert rejected.headers["X-Status"] == "200" and count_ids(rejected, "desk-empty") == 1
    assert "已拒绝" in rejected.text
    settled = await stack.status(shot)
    assert settled.status == "rejected" and settled.review_reason == "private_post" and settled.decided_by == "rita"


async def test_two_reviewers_never_decide_the_same_item(stack: Stack) -> None:
    campaign = await stack.campaign()
    shot = await stack.shot(campaign, "shot", minutes_ago=20)
    other = await stack.shot(campaign, "other", minutes_ago=5)
    rita, ada = await stack.signed_in("rita"), await stack.signed_in("ada")
    assert (await rita.post(DESK + "/start")).headers["location"] == f"{DESK}/{shot}"

    # Ada sees who holds it, in the queue and at the desk...
    queue = await ada.get(DESK)
    assert count_ids(queue, "row-claim") == 1 and ">rita<" in queue.text
    page = await ada.get(f"{DESK}/{shot}")
    assert count_ids(page, "claim-held") == 1 and "rita" in page.text
    renewed = await ada.post(f"{DESK}/{shot}/claim", htmx=True)
    assert count_ids(renewed, "claim-held") == 1
    # ...cannot decide it (the API's 409, shown on the same item)...
    refused = await ada.post(f"{DESK}/{shot}/approve", htmx=True)
    assert refused.status_code == 200 and refused.headers["X-Status"] == "409"
    assert f'data-submission="{shot}"' in refused.text and "未处理：rita 正在审核此条" in refused.text
    assert (await stack.status(shot)).status == "review"
    # ...nor take it with "Start reviewing", which gives her the next free one.
    assert (await ada.post(DESK + "/start")).headers["location"] == f"{DESK}/{other}"

    # Rita leaves it: released, Ada may take it now.
    left = await rita.post(f"{DESK}/{shot}/release")
    assert left.status_code == 303 and left.headers["location"] == DESK
    assert (await stack.status(shot)).claim is None
    assert count_ids(await ada.post(f"{DESK}/{shot}/claim", htmx=True), "claim-mine") == 1


async def test_a_decided_item_shows_its_decision_instead_of_the_form(stack: Stack) -> None:
    campaign = await stack.campaign()
    done = await stack.shot(campaign, "done", minutes_ago=20, status="rejected")
    rita = await stack.signed_in("rita")
    page = await rita.get(f"{DESK}/{done}")
    assert count_ids(page, "decided") == 1 and count_ids(page, "decision-form") == 0
    assert count_ids(await rita.post(f"{DESK}/{done}/claim", htmx=True), "claim-gone") == 1
    again = await rita.post(f"{DESK}/{done}/approve", htmx=True)
    assert again.headers["X-Status"] == "409" and "未处理：自动审核 已处理过此条" in again.text
    assert (await stack.status(done)).status == "rejected"


async def test_the_picture_passes_through_the_console_for_reviewers_only(stack: Stack) -> None:
    campaign = await stack.campaign()
    shot = await stack.shot(campaign, "shot", minutes_ago=20)
    rita, otto = await stack.signed_in("rita"), await stack.signed_in("otto")
    picture = await rita.get(f"{DESK}/pictures/{campaign.id}/{shot}")
    assert picture.status_code == 200 and picture.content == PICTURE
    assert picture.headers["content-type"] == "image/jpeg"
    assert (await rita.get(f"{DESK}/pictures/{campaign.id}/{APPID}:nope")).status_code == 404
    # A campaign operator (campaign:view, no review:decide): no queue page, no pictures, no claims.
    assert (await otto.get(f"{DESK}/pictures/{campaign.id}/{shot}")).status_code == 403
    refused = await otto.get(DESK)
    assert refused.status_code == 403 and count_ids(refused, "queue-row") == 0 and "review:decide" in refused.text
    assert (await otto.post(DESK + "/start")).status_code == 403
    assert (await otto.get(f"{DESK}/{shot}")).status_code == 403


async def test_writes_need_the_pages_csrf_token(stack: Stack) -> None:
    campaign = await stack.campaign()
    shot = await stack.shot(campaign, "shot", minutes_ago=20)
    rita = await stack.signed_in("rita")
    refused = await rita.client.post(f"{DESK}/{shot}/approve", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and (await stack.status(shot)).status == "review"


# -- the rules the pages show ---------------------------------------------------------------------------


def test_pictures_are_served_by_the_console_only_for_the_account_on_screen() -> None:
    api = f"/accounts/{APPID}/campaigns/c1/screenshots/{APPID}:m1/image"
    assert picture_path(APPID, api) == f"/accounts/{APPID}/review/pictures/c1/{APPID}:m1"
    assert picture_path("wx2", api) is None and picture_path(APPID, None) is None
    assert picture_path(APPID, "https://evil.example/x.jpg") is None


@pytest.mark.parametrize(
    ("code", "owner"),
    [
        ({"is_submitter": True, "owner_openid": "o1"}, "submitter"),
        ({"is_submitter": False, "owner_openid": "o2"}, "other"),
        ({"is_submitter": False, "owner_openid": None}, "unknown"),
    ],
)
def test_whose_qr_code(code: dict[str, Any], owner: str) -> None:
    assert qr_owner(code) == owner


def test_the_service_level_applies_to_waiting_items_only() -> None:
    late = SERVICE_LEVEL_SECONDS + 1
    assert overdue({"status": "review", "age_seconds": late})
    assert not overdue({"status": "review", "age_seconds": SERVICE_LEVEL_SECONDS})
    assert not overdue({"status": "approved", "age_seconds": late})


async def test_a_decision_stands_when_the_next_item_cannot_be_taken(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = await stack.campaign()
    shot = await stack.shot(campaign, "shot", minutes_ago=20)
    await stack.shot(campaign, "next", minutes_ago=10)
    rita = await stack.signed_in("rita")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise review_service.SubmissionNotFound("any", None, appid=APPID)

    monkeypatch.setattr(review_service, "claim_next", broken)
    answer = await rita.post(f"{DESK}/{shot}/approve", htmx=True)
    assert answer.headers["X-Status"] == "200" and count_ids(answer, "desk-empty") == 1
    assert "已通过" in answer.text and "无法打开下一条" in answer.text
    assert (await stack.status(shot)).status == "approved"


async def test_the_queue_pages_keep_the_filters_and_speak_english_too(stack: Stack) -> None:
    campaign = await stack.campaign()
    for n in range(QUEUE_PAGE + 2):
        await stack.shot(campaign, f"m{n:03d}", minutes_ago=200 - n)
    rita = await stack.signed_in("rita")
    first = await rita.get(DESK, campaign_id=campaign.id)
    assert count_ids(first, "queue-row") == QUEUE_PAGE
    assert f'href="{DESK}?campaign_id={campaign.id}&amp;offset={QUEUE_PAGE}"' in first.text
    second = await rita.get(DESK, campaign_id=campaign.id, offset=str(QUEUE_PAGE))
    assert count_ids(second, "queue-row") == 2  # and the page refreshes itself as the page it is:
    assert f'hx-get="{DESK}?campaign_id={campaign.id}&amp;offset={QUEUE_PAGE}"' in second.text

    rita.client.cookies.set("scrm_lang", "en")
    english = await rita.get(DESK)
    assert "Start reviewing" in english.text and "over 30 min" in english.text and ">possibly reused<" in english.text
    desk = await rita.get(f"{DESK}/{APPID}:m000")
    assert "Reject with a reason" in desk.text and "Private or restricted post" in desk.text
