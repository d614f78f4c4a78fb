"""The Tag coverage page over the real identity and profiles APIs, in process with the profiles API's
in-memory store: tables and chart data from the API's coverage route, presets, the previous period,
a bad date shown beside its field, the CSV passed through, English, and the navigation link."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.console.service_layer.ports import Api
from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.domain.profile import Profile
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http import create_app as create_profiles_app
from services.profiles.settings import ProfilesSettings
from shared.identity import CLI_ACTOR
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, StageDeclaration, load_taxonomy
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.stack import console_client

APPID = "wx1"
PASSWORDS = {"ana": ("analyst", "ana-password-0001")}
NOW = datetime.now(UTC).replace(microsecond=0)
TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)


async def _seed(store: InMemoryProfileStore) -> None:
    clock = [NOW - timedelta(days=40)]
    store.clock = lambda: clock[0]

    async def member(openid: str, *codes: str, due: bool = False) -> None:
        profile = Profile(APPID, openid)
        changes = profile.followed(clock[0], "test")
        for code in codes:
            changes += profile.add_tag(TAXONOMY, code, TagSource.DECLARED, clock[0])
        if due:
            on = NOW.date() + timedelta(days=60)
            changes += profile.declare_stage(StageDeclaration(Basis.DUE_DATE, clock[0].date(), on), clock[0])
        await store.save(profile, changes)

    await member("o1", "interest.toys", due=True)
    clock[0] = NOW - timedelta(days=3)
    await member("o2", "interest.toys", "interest.feeding.formula")
    await member("o3", due=True)
    store.clock = lambda: datetime.now(UTC)


async def _client(locale: str | None = None, *, seeded: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    directory = cheap_directory()
    for name, (role, password) in PASSWORDS.items():
        await directory.create_operator(CLI_ACTOR, name, password=password)
        await directory.grant(CLI_ACTOR, name, role, APPID)
    store = InMemoryProfileStore()
    if seeded:
        await _seed(store)
    settings = ProfilesSettings(environment="development", wechat_accounts=[account(APPID)])
    profiles = create_profiles_app(settings, identity=identity_config(directory), store=store, publish=False)
    async with console_client(directory, {Api.PROFILES: profiles}, locale=locale) as client:
        reply = await client.post("/login", data={"name": "ana", "password": PASSWORDS["ana"][1], "next": "/"})
        assert reply.status_code == 303, reply.text
        yield client


@pytest.fixture
async def console() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client():
        yield client


@pytest.fixture
async def english() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client("en"):
        yield client


def _chart(page: str) -> dict[str, object]:
    marker = '<script type="application/json" id="coverage-data">'
    start = page.index(marker) + len(marker)
    data: dict[str, object] = json.loads(page[start : page.index("</script>", start)])
    return data


async def test_the_page_shows_coverage_with_the_previous_period(console: httpx.AsyncClient) -> None:
    page = await console.get(f"/accounts/{APPID}/coverage", params={"from": "", "to": ""})
    assert page.status_code == 200, page.text
    text = page.text
    assert "标签覆盖" in text and 'data-nav="coverage"' in text
    assert 'data-testid="coverage-tags"' in text and 'data-code="interest.toys"' in text
    assert "+1 (+" in text  # interest.toys: 1 follower a month ago, 2 now
    assert "孕中期" in text or "孕晚期" in text  # the stage table as of today
    chart = _chart(text)
    assert TAXONOMY.tags["interest.toys"].name in chart["interests"]  # type: ignore[operator]
    assert len(chart["days"]) == 30  # type: ignore[arg-type]
    for preset in (7, 30, 90):
        assert f'data-testid="coverage-preset-{preset}"' in text
    assert "/static/coverage.js" in text and "echarts" in text


async def test_a_range_and_its_export(console: httpx.AsyncClient) -> None:
    today = (NOW + timedelta(hours=8)).date()
    first = (today - timedelta(days=6)).isoformat()
    page = await console.get(f"/accounts/{APPID}/coverage", params={"from": first, "to": today.isoformat()})
    assert page.status_code == 200
    assert len(_chart(page.text)["days"]) == 7  # type: ignore[arg-type]
    export = f"/accounts/{APPID}/coverage/export.csv?from={first}&amp;to={today.isoformat()}"
    assert export in page.text
    csv = await console.get(export.replace("&amp;", "&"))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode()) and "attachment" in csv.headers["content-disposition"]
    assert "interest.toys" in csv.content.decode("utf-8-sig")


async def test_a_bad_date_is_shown_beside_its_field(console: httpx.AsyncClient) -> None:
    page = await console.get(f"/accounts/{APPID}/coverage", params={"from": "2026-02-30"})
    assert page.status_code == 200
    assert 'class="field-error"' in page.text and 'data-testid="coverage-tags"' not in page.text


async def test_in_english(english: httpx.AsyncClient) -> None:
    page = await english.get(f"/accounts/{APPID}/coverage")
    assert page.status_code == 200
    assert "Tag coverage" in page.text and "Toys and early learning" in page.text
    bars = _chart(page.text)["bars"]
    assert [bar["name"] for bar in bars] == [  # type: ignore[attr-defined]
        "Trying to conceive",
        "Pregnant (due date)",
        "Parenting (birthday)",
        "Stage unknown",
    ]


async def test_an_account_without_counted_profiles_says_how_to_count_them() -> None:
    async for client in _client(seeded=False):
        page = await client.get(f"/accounts/{APPID}/coverage")
        assert page.status_code == 200
        assert 'data-testid="coverage-uncounted"' in page.text and "rebuild-coverage" in page.text
        assert 'data-testid="coverage-empty"' in page.text and 'id="coverage-data"' not in page.text
