"""The profiles operator API over its in-memory store (``bootstrap(settings, store=...)``): what the console
reads, without MongoDB: the taxonomy, the masked and the revealed profile with its stage's dates, the
history newest first, the account's counts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.domain.profile import ConsentKind, Profile
from services.profiles.entrypoints.http import create_app
from services.profiles.settings import ProfilesSettings
from shared.identity import Role
from shared.maternal_infant import Basis, StageDeclaration
from tests.accounts import account
from tests.identities import Callers

APPID = "wx1"
NOW = datetime.now(UTC).replace(microsecond=0)
BIRTHDAY = NOW.date() - timedelta(days=200)


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
def http(callers: Callers) -> Iterator[TestClient]:
    store = InMemoryProfileStore()
    profile = Profile(APPID, "oMum", unionid="uMum")
    changes = profile.followed(NOW - timedelta(days=1), "qrscene_1")
    changes += profile.declare_stage(StageDeclaration(Basis.BIRTHDAY, date(2026, 1, 2), BIRTHDAY), NOW)
    changes += profile.set_consent(ConsentKind.MARKETING, True, NOW + timedelta(seconds=1), "h5_form")
    asyncio.run(store.save(profile, changes))
    settings = ProfilesSettings(environment="development", wechat_accounts=[account(APPID)])
    with TestClient(create_app(settings, identity=callers.config, store=store, publish=False)) as client:
        yield client


def test_the_taxonomy_says_which_tags_ops_may_set(http: TestClient, callers: Callers) -> None:
    reply = http.get(f"/accounts/{APPID}/profiles/taxonomy", headers=callers.headers(Role.ANALYST))
    assert reply.status_code == 200
    tags = {row["code"]: row for row in reply.json()}
    assert tags["interest.feeding.formula"] == {
        "code": "interest.feeding.formula",
        "name": "奶粉",
        "parent": "interest.feeding",
        "ops": True,
        "name_zh": "奶粉",
        "name_en": "Formula",
        "family": "interest",
        "depth": 2,
    }
    assert not tags["stage.baby.6_12m"]["ops"] and not tags["stage"]["ops"]
    assert all(row["name_en"] and row["name_en"] != row["code"] for row in tags.values())  # the shipped file


def test_the_taxonomy_lists_one_family_and_names_a_bad_one(http: TestClient, callers: Callers) -> None:
    path = f"/accounts/{APPID}/profiles/taxonomy"
    spend = http.get(path, params={"family": "spend"}, headers=callers.headers(Role.ANALYST)).json()
    assert [(row["code"], row["name_en"]) for row in spend] == [
        ("spend", "Spend level"),
        ("spend.a", "High spend (A)"),
        ("spend.b", "Mid spend (B)"),
        ("spend.c", "Low spend (C)"),
    ]
    refused = http.get(path, params={"family": "nope"}, headers=callers.headers(Role.ANALYST))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "family"]


def test_the_revealed_stage_carries_its_dates_the_masked_one_nothing(http: TestClient, callers: Callers) -> None:
    path = f"/accounts/{APPID}/members/oMum/profile"
    masked = http.get(path, headers=callers.headers(Role.ANALYST)).json()
    assert masked["stage"] is None and masked["consents"] == {} and masked["masked"] is True
    full = http.get(path + "/reveal", headers=callers.headers(Role.ADMIN)).json()
    assert full["stage"]["basis"] == "birthday"
    assert full["stage"]["on"] == BIRTHDAY.isoformat() and full["stage"]["declared_on"] == "2026-01-02"
    assert full["stage"]["age_months"] >= 6 and full["unionid"] == "uMum"
    assert (full["stage"]["name"], full["stage"]["name_en"]) == ("6-12个月", "6-12 months")  # both names
    assert http.get(path + "/reveal", headers=callers.headers(Role.ANALYST)).status_code == 403


def test_history_newest_first_and_counts(http: TestClient, callers: Callers) -> None:
    history = http.get(
        f"/accounts/{APPID}/members/oMum/profile/history/reveal", headers=callers.headers(Role.ADMIN)
    ).json()
    assert [entry["kind"] for entry in history] == ["consent", "stage_declared", "followed"]
    masked = http.get(f"/accounts/{APPID}/members/oMum/profile/history", headers=callers.headers(Role.ANALYST))
    assert [entry.get("masked", False) for entry in masked.json()] == [True, True, False]
    stats = http.get(f"/accounts/{APPID}/profiles/stats", headers=callers.headers(Role.ANALYST)).json()
    assert stats["profiles"] == 1 and stats["following"] == 1 and stats["consented_marketing"] == 1
    assert stats["tagged"] == 1 and sum(stats["by_stage"].values()) == 1
