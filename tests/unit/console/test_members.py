"""The Members pages over the real identity, members and profiles APIs, in process with their in-memory
adapters: look-up, the masked profile and the audited reveal (refused to an analyst by the API), ops tags
added and removed through the profiles API. Campaigns and segments are not mounted: their sections say so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.campaigns.domain.campaign import CampaignStatus
from services.campaigns.entrypoints.http.schemas import (
    InviteeOut,
    MemberCampaignOut,
    MemberCampaignsOut,
    MemberRewardOut,
)
from services.console.service_layer.ports import Api
from services.members.adapters.memory import InMemoryMembersUnitOfWork, InMemoryMemberViews
from services.members.domain.model import Member
from services.members.entrypoints.http import create_app as create_members_app
from services.members.settings import MembersSettings
from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.domain.profile import ConsentKind, Profile
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http import create_app as create_profiles_app
from services.profiles.settings import ProfilesSettings
from shared.identity import CLI_ACTOR, Directory, InMemoryAuditLog
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, StageDeclaration, load_taxonomy
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.stack import console_client

APPID = "wx1"
ALICE = "oAlice000000000000000000001"  # follows, has a profile with a due date and consents
BOB = "oBob00000000000000000000002"  # followed, no profile yet
PASSWORDS = {
    "ada": ("admin", "*", "ada-password-0001"),
    "otto": ("campaign_operator", APPID, "otto-password-001"),
    "ana": ("analyst", APPID, "ana-password-0001"),
}
NOW = datetime.now(UTC).replace(microsecond=0)
DUE = NOW.date() + timedelta(days=100)


@dataclass
class MembersConsole:
    client: httpx.AsyncClient
    directory: Directory
    profiles: InMemoryProfileStore

    async def sign_in(self, name: str) -> None:
        reply = await self.client.post("/login", data={"name": name, "password": PASSWORDS[name][2], "next": "/"})
        assert reply.status_code == 303, reply.text

    async def csrf(self) -> str:
        page = await self.client.get(f"/accounts/{APPID}/members")
        marker = 'name="csrf-token" content="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]

    async def post(self, path: str, data: dict[str, str] | None = None, *, htmx: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": await self.csrf()}
        if htmx:
            headers["HX-Request"] = "true"
        return await self.client.post(path, data=data or {}, headers=headers)

    def audited(self, action: str) -> list[str | None]:
        log = self.directory.audit_log
        assert isinstance(log, InMemoryAuditLog)
        return [e.actor_name for e in log.entries if e.action == action]


async def _seed_profiles(store: InMemoryProfileStore) -> None:
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    alice = Profile(APPID, ALICE, unionid="uAlice-union-0001")
    changes = alice.followed(NOW - timedelta(days=3), "qrscene_spring")
    changes += alice.declare_stage(StageDeclaration(Basis.DUE_DATE, NOW.date(), DUE), NOW, "member")
    changes += alice.set_consent(ConsentKind.MARKETING, True, NOW, "h5_form")
    changes += alice.add_tag(taxonomy, "interest.feeding.formula", TagSource.DECLARED, NOW)
    changes += alice.add_tag(taxonomy, "interest.diapers", TagSource.OPS, NOW, 2.0, actor="otto#1")
    await store.save(alice, changes)


def _seed_members(uow: InMemoryMembersUnitOfWork, more: int = 0) -> None:
    alice = Member(APPID, ALICE)
    alice.follow(NOW - timedelta(days=3), "qrscene_spring")
    bob = Member(APPID, BOB)
    bob.follow(NOW - timedelta(days=1), None)
    bob.unfollow(NOW - timedelta(hours=2))
    uow.committed = {(APPID, ALICE): alice, (APPID, BOB): bob}
    for n in range(more):  # followed before Alice and Bob, one a minute
        member = Member(APPID, f"oMore{n:03d}")
        member.follow(NOW - timedelta(days=10, minutes=n), None)
        uow.committed[(APPID, member.openid)] = member
    # Seeded around the write path (which counts as it writes): counted as a rebuild would.
    members = uow.committed.values()
    uow.counters = {APPID: {"members": len(members), "following": sum(m.following for m in members)}}


def _activity_apis() -> dict[Api, FastAPI]:
    """The campaigns and segments APIs' answers for Alice, in their own response models' shapes (their
    stores need MongoDB; these pages only read the two routes)."""
    campaigns, segments = FastAPI(), FastAPI()
    joined = MemberCampaignsOut(
        openid=ALICE,
        items=[
            MemberCampaignOut(
                campaign_id="c1",
                name="春季任务宝",
                status=CampaignStatus.ACTIVE,
                joined_at=NOW - timedelta(days=2),
                joined_via="poster",
                invites_credited=3,
                invites_revoked=1,
                invitees=[InviteeOut(openid=BOB, status="revoked", rule=None, at=NOW - timedelta(days=1))],
                invitees_more=False,
                tiers_reached=[3],
                rewards=[
                    MemberRewardOut(
                        tier=3, kind="tier", pool="p1", granted_at=NOW, status="issued", code_masked="****WXYZ"
                    )
                ],
                share_submissions=1,
            )
        ],
    )

    @campaigns.get("/accounts/{appid}/members/{openid}/campaigns")
    async def member_campaigns(appid: str, openid: str) -> MemberCampaignsOut:
        return joined

    @segments.get("/accounts/{appid}/members/{openid}/pushes")
    async def member_pushes(appid: str, openid: str) -> list[dict[str, object]]:
        return [
            {
                "push_id": "p1",
                "name": "育儿周刊",
                "variant": "a",
                "channel": "template",
                "status": "delivered",
                "reason": None,
                "errcode": None,
                "at": NOW.isoformat(),
                "clicks": {"count": 2, "first_at": NOW.isoformat(), "links": ["https://shop.example/formula"]},
            },
            {
                "push_id": "p2",
                "name": "周末促销",
                "variant": "a",
                "channel": None,
                "status": "skipped",
                "reason": "outside_window",
                "errcode": None,
                "at": NOW.isoformat(),
                "clicks": {"count": 0, "first_at": None, "links": []},
            },
        ]

    @segments.get("/accounts/{appid}/members/{openid}/subscriptions")
    async def member_subscriptions(appid: str, openid: str) -> dict[str, object]:
        consent = {"credits": 2, "long_term": False, "usable": True, "last_answer": "accept"}
        return {
            "openid": openid,
            "consents": [
                consent | {"template_id": "TPL_CHECKUP", "status": "accepted", "updated_at": NOW.isoformat()},
                consent
                | {"template_id": "TPL_OFF", "status": "cancelled", "credits": 0, "updated_at": NOW.isoformat()},
            ],
        }

    return {Api.CAMPAIGNS: campaigns, Api.SEGMENTS: segments}


@asynccontextmanager
async def _console(extra: dict[Api, FastAPI] | None = None, *, more: int = 0) -> AsyncIterator[MembersConsole]:
    directory = cheap_directory()
    for name, (role, appid, password) in PASSWORDS.items():
        await directory.create_operator(CLI_ACTOR, name, password=password)
        await directory.grant(CLI_ACTOR, name, role, appid)
    identity = identity_config(directory)
    store = InMemoryProfileStore()
    await _seed_profiles(store)
    members_uow = InMemoryMembersUnitOfWork()
    _seed_members(members_uow, more)
    apps = {
        Api.PROFILES: create_profiles_app(
            ProfilesSettings(environment="development", wechat_accounts=[account(APPID)]),
            identity=identity,
            store=store,
            publish=False,
        ),
        Api.MEMBERS: create_members_app(
            MembersSettings(environment="development", wechat_accounts=[account(APPID)]),
            identity=identity,
            uow=lambda: members_uow,
            views=InMemoryMemberViews(members_uow),
        ),
        **(extra or {}),
    }
    async with console_client(directory, apps) as client:
        yield MembersConsole(client, directory, store)


@pytest.fixture
async def console() -> AsyncIterator[MembersConsole]:
    """Campaigns and segments are not mounted: their sections say they are unavailable."""
    async with _console() as built:
        yield built


def _lang(console: MembersConsole) -> None:
    console.client.cookies.set("scrm_lang", "en")


async def test_the_list_shows_recent_followers_and_says_nicknames_are_not_known(console: MembersConsole) -> None:
    await console.sign_in("ana")
    _lang(console)
    page = await console.client.get(f"/accounts/{APPID}/members")
    assert page.status_code == 200
    assert "data-search" in page.text
    assert page.text.index(BOB) < page.text.index(ALICE)  # newest follow first
    assert "nicknames" in page.text
    following = await console.client.get(f"/accounts/{APPID}/members", params={"following": "false"})
    assert BOB in following.text and ALICE not in following.text


async def test_lookup_by_openid_opens_the_member_or_says_it_is_unknown(console: MembersConsole) -> None:
    await console.sign_in("ana")
    _lang(console)
    found = await console.client.get(f"/accounts/{APPID}/members", params={"q": f"  {ALICE} "})
    assert found.status_code == 303
    assert found.headers["location"] == f"/accounts/{APPID}/members/{ALICE}"
    # Bob has no profile, but the members API knows him.
    assert (await console.client.get(f"/accounts/{APPID}/members", params={"q": BOB})).status_code == 303
    unknown = await console.client.get(f"/accounts/{APPID}/members", params={"q": "oNobody"})
    assert unknown.status_code == 200
    assert 'data-testid="lookup-not-found"' in unknown.text and "oNobody" in unknown.text
    junk = await console.client.get(f"/accounts/{APPID}/members", params={"q": "<script>"})
    assert junk.status_code == 200 and 'data-testid="lookup-invalid"' in junk.text
    assert "<script>" not in junk.text
    page = await console.client.get(f"/accounts/{APPID}/members/oNobody")
    assert page.status_code == 404 and "oNobody" in page.text


async def test_the_profile_is_masked_and_an_analyst_cannot_reveal_it(console: MembersConsole) -> None:
    await console.sign_in("ana")
    _lang(console)
    page = await console.client.get(f"/accounts/{APPID}/members/{ALICE}")
    assert page.status_code == 200
    text = page.text
    assert "qrscene_spring" in text  # first scene, from the members API
    assert "Formula" in text and "interest.diapers" in text  # tags with their English names
    assert 'data-testid="personal-masked"' in text
    assert DUE.isoformat() not in text and "uAlice-union-0001" not in text and "h5_form" not in text
    assert 'data-testid="history-masked"' in text
    assert 'data-testid="reveal-pii"' not in text  # no button without member:reveal_pii
    assert 'data-testid="tag-add-form"' not in text and 'data-testid="tag-remove"' not in text
    assert "The campaigns API is unavailable right now." in text  # not mounted here
    # The API decides: posting anyway is refused by the profiles API and the page says so.
    refused = await console.post(f"/accounts/{APPID}/members/{ALICE}/reveal")
    assert refused.status_code == 200
    assert 'data-testid="reveal-error"' in refused.text and "member:reveal_pii" in refused.text
    assert DUE.isoformat() not in refused.text
    assert console.audited("member.pii_revealed") == []
    plain = await console.post(f"/accounts/{APPID}/members/{ALICE}/reveal", htmx=False)
    assert plain.status_code == 403 and 'data-testid="reveal-error"' in plain.text


async def test_an_admin_reveals_personal_data_and_the_reveal_is_audited(console: MembersConsole) -> None:
    await console.sign_in("ada")
    _lang(console)
    page = await console.client.get(f"/accounts/{APPID}/members/{ALICE}")
    assert 'data-testid="reveal-pii"' in page.text and DUE.isoformat() not in page.text
    revealed = await console.post(f"/accounts/{APPID}/members/{ALICE}/reveal")
    assert revealed.status_code == 200
    text = revealed.text
    assert 'data-testid="personal-revealed"' in text and 'data-testid="reveal-audited"' in text
    assert f"Due date {DUE.isoformat()}" in text
    assert "pregnancy week" in text and "uAlice-union-0001" in text
    assert "Marketing messages" in text and "via h5_form" in text
    assert 'hx-swap-oob="true"' in text and 'data-testid="history-masked"' not in text  # the history, in full
    # Two reads, each audited by the profiles API under the operator's name.
    assert console.audited("member.pii_revealed") == ["ada", "ada"]
    whole = await console.post(f"/accounts/{APPID}/members/{ALICE}/reveal", htmx=False)
    assert whole.status_code == 200 and "<html" in whole.text and f"Due date {DUE.isoformat()}" in whole.text


async def test_ops_add_and_remove_a_tag_through_the_profiles_api(console: MembersConsole) -> None:
    await console.sign_in("otto")
    _lang(console)
    page = await console.client.get(f"/accounts/{APPID}/members/{BOB}")
    assert page.status_code == 200 and 'data-testid="tag-add-form"' in page.text
    assert 'value="interest.toys"' in page.text and 'value="stage.preparing"' not in page.text
    added = await console.post(f"/accounts/{APPID}/members/{BOB}/tags", {"code": "interest.toys", "weight": "3"})
    assert added.status_code == 204
    assert added.headers["HX-Redirect"] == f"/accounts/{APPID}/members/{BOB}"
    page = await console.client.get(f"/accounts/{APPID}/members/{BOB}")
    assert 'data-code="interest.toys" data-source="ops"' in page.text and "3.00" in page.text
    assert "otto#" in page.text  # the history names the operator
    assert console.audited("profile.tag_added") == ["otto"]

    removed = await console.post(f"/accounts/{APPID}/members/{BOB}/tags/interest.toys/remove")
    assert removed.status_code == 204
    page = await console.client.get(f"/accounts/{APPID}/members/{BOB}")
    assert 'data-code="interest.toys"' not in page.text
    assert console.audited("profile.tag_removed") == ["otto"]


async def test_tag_errors_are_shown_beside_the_form(console: MembersConsole) -> None:
    await console.sign_in("otto")
    _lang(console)
    unknown = await console.post(f"/accounts/{APPID}/members/{ALICE}/tags", {"code": "interest.nope", "weight": "1"})
    assert unknown.status_code == 200 and 'data-testid="tag-error"' in unknown.text
    assert "unknown tag code" in unknown.text and 'id="tags"' in unknown.text
    heavy = await console.post(f"/accounts/{APPID}/members/{ALICE}/tags", {"code": "interest.toys", "weight": "50"})
    assert 'data-testid="tag-error"' in heavy.text and "weight" in heavy.text
    plain = await console.post(
        f"/accounts/{APPID}/members/{ALICE}/tags", {"code": "stage.preparing", "weight": "1"}, htmx=False
    )
    assert plain.status_code == 422 and "<html" in plain.text and "life stages" in plain.text
    # Only an ops tag can be removed: a declared one is not there as an ops tag.
    gone = await console.post(f"/accounts/{APPID}/members/{ALICE}/tags/interest.feeding.formula/remove")
    assert 'data-testid="tag-error"' in gone.text
    assert 'data-code="interest.feeding.formula" data-source="declared"' in gone.text


async def test_an_analyst_may_not_edit_tags_the_api_refuses(console: MembersConsole) -> None:
    await console.sign_in("ana")
    refused = await console.post(f"/accounts/{APPID}/members/{ALICE}/tags", {"code": "interest.toys", "weight": "1"})
    assert 'data-testid="tag-error"' in refused.text
    assert console.audited("profile.tag_added") == []
    assert ("interest.toys", "ops") not in {
        (t["code"], t["source"]) for t in console.profiles.documents[(APPID, ALICE)].get("tags", [])
    }


async def test_the_profile_page_in_chinese(console: MembersConsole) -> None:
    await console.sign_in("ada")
    page = await console.client.get(f"/accounts/{APPID}/members/{ALICE}")
    assert page.status_code == 200
    assert "奶粉" in page.text  # the taxonomy's own name


async def test_campaigns_invites_and_pushes_of_the_member() -> None:
    async with _console(_activity_apis()) as console:
        await console.sign_in("ada")
        _lang(console)
        page = await console.client.get(f"/accounts/{APPID}/members/{ALICE}")
        assert page.status_code == 200
        text = page.text
        campaigns = text[text.index('data-testid="member-campaigns"') : text.index('data-testid="member-pushes"')]
        assert "春季任务宝" in campaigns and 'href="/accounts/wx1/campaigns/c1"' in campaigns
        assert "****WXYZ" in campaigns and "issued" in campaigns and "1 invitees" in campaigns
        assert f"/accounts/{APPID}/members/{BOB}" in campaigns and BOB not in campaigns.replace(f"members/{BOB}", "")
        pushes = text[text.index('data-testid="member-pushes"') : text.index('data-testid="member-history"')]
        assert "育儿周刊" in pushes and "template message" in pushes and "https://shop.example/formula" in pushes
        assert "outside the 48-hour window" in pushes
        consents = text[text.index('data-testid="member-subscriptions"') : text.index('data-testid="member-history"')]
        assert "TPL_CHECKUP" in consents and "accepted" in consents and "TPL_OFF" in consents
        assert "cancelled" in consents and ">2<" in consents


async def test_the_list_pages_through_followers() -> None:
    async with _console(more=30) as console:
        await console.sign_in("ana")
        _lang(console)
        first = await console.client.get(f"/accounts/{APPID}/members")
        assert first.text.count('data-testid="member-link"') == 25
        assert 'data-testid="members-next"' in first.text and "oMore022" in first.text
        assert "oMore023" not in first.text and 'rel="prev"' not in first.text
        assert "32" in first.text  # the count tile
        second = await console.client.get(f"/accounts/{APPID}/members", params={"offset": "25"})
        assert second.text.count('data-testid="member-link"') == 7
        assert "oMore023" in second.text and "oMore029" in second.text
        assert 'rel="prev"' in second.text and 'data-testid="members-next"' not in second.text
        junk = await console.client.get(f"/accounts/{APPID}/members", params={"offset": "-3", "following": "maybe"})
        assert junk.status_code == 200 and junk.text.count('data-testid="member-link"') == 25


async def test_the_overview_fills_its_member_tiles_after_the_page(console: MembersConsole) -> None:
    """The profile counts come from a request of their own, so the overview never waits for them."""
    await console.sign_in("ana")
    page = await console.client.get(f"/accounts/{APPID}")
    assert page.status_code == 200 and f'hx-get="/accounts/{APPID}/overview/members"' in page.text
    assert 'data-testid="tile-profiles"' not in page.text
    tiles = await console.client.get(f"/accounts/{APPID}/overview/members")
    assert tiles.status_code == 200 and 'data-testid="tile-profiles"' in tiles.text
    assert '<div class="tile-value">1</div>' in tiles.text  # Alice's, the one profile of this account
