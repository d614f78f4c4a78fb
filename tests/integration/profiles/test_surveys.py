"""Surveys against SecantusDB: definitions checked, answers becoming tags and a stage, exactly one draw
per member per survey, and prize stock that concurrent draws never oversell."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.profiles.bootstrap import Profiles, bootstrap
from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyOption,
    SurveyStatus,
)
from services.profiles.entrypoints.http import create_app, create_public_app
from services.profiles.service_layer.surveys import submit_survey
from services.profiles.settings import ProfilesSettings
from shared.identity import AuditQuery, Role
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DEFINITION: dict[str, Any] = {
    "title": "宝宝喂养小调查",
    "questions": [
        {
            "id": "feeding",
            "kind": "single",
            "text": "宝宝现在怎么喂养？",
            "options": [
                {"id": "formula", "label": "奶粉", "tags": ["interest.feeding.formula"]},
                {"id": "breast", "label": "母乳", "tags": ["interest.feeding.breastfeeding"]},
            ],
        },
        {"id": "birthday", "kind": "date", "text": "宝宝生日", "stage_basis": "birthday"},
        {"id": "wish", "kind": "text", "text": "想看什么内容？", "required": False},
    ],
    "prizes": [{"id": "c10", "name": "10元券", "kind": "coupon", "probability": 1.0, "stock": 1}],
}


@pytest.fixture
def settings(service_settings: LoadSettings) -> ProfilesSettings:
    return service_settings(
        ProfilesSettings, mall_webhook_secret="mall-webhook-for-tests", h5_link_secret="h5-links-for-tests-0"
    )


@pytest.fixture
def callers() -> Callers:
    return Callers.on("wx1")


@pytest.fixture
def http(settings: ProfilesSettings, callers: Callers) -> Iterator[TestClient]:
    app = create_app(settings, clock=lambda: datetime.now(UTC), publish=False, messaging=False, identity=callers.config)
    with TestClient(app, headers=callers.headers(Role.ADMIN)) as client:
        yield client


def follow(http: TestClient, openid: str) -> None:
    """``openid`` follows wx1 (as the worker records it from the platform's push)."""
    service: Profiles = http.app.state.service  # type: ignore[attr-defined]

    async def store() -> None:
        async with service.uow() as uow:
            profile = await uow.profiles.get_or_new("wx1", openid)
            await uow.profiles.save(profile, profile.followed(NOW, via="test"))
            await uow.commit()

    assert http.portal is not None
    http.portal.call(store)


@pytest.fixture
def public(settings: ProfilesSettings) -> Iterator[TestClient]:
    """The public app members' browsers reach (the survey pages), over the same database."""
    app = create_public_app(settings, clock=lambda: datetime.now(UTC), publish=False, messaging=False)
    with TestClient(app) as client:
        yield client


def test_ops_define_publish_and_members_answer_once(http: TestClient, public: TestClient) -> None:
    bad = dict(DEFINITION, prizes=[{"id": "p", "name": "x", "kind": "coupon", "probability": 0.8, "stock": 1}] * 2)
    refused = http.post("/accounts/wx1/surveys", json=bad)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "prizes"]
    unknown_tag = json.loads(json.dumps(DEFINITION))
    unknown_tag["questions"][0]["options"][0]["tags"] = ["interest.nope"]
    assert http.post("/accounts/wx1/surveys", json=unknown_tag).json()["detail"][0]["loc"][:3] == [
        "body",
        "questions",
        "0",
    ]

    created = http.post("/accounts/wx1/surveys", json=DEFINITION)
    assert created.status_code == 201, created.text
    survey_id = created.json()["id"]
    link = f"/accounts/wx1/surveys/{survey_id}/link"
    assert http.get(link, params={"openid": "o_mom"}).status_code == 404  # links only for followers
    follow(http, "o_mom")
    url = http.get(link, params={"openid": "o_mom"}).json()["url"]
    path = url.split("8013", 1)[1]
    assert public.get(path).status_code == 410  # a draft is not open yet
    assert http.post(f"/accounts/wx1/surveys/{survey_id}/publish").json()["status"] == "published"
    assert "宝宝现在怎么喂养" in public.get(path).text

    birthday = (datetime.now(UTC) - timedelta(days=100)).date().isoformat()
    missing = public.post(path, content=b"wish=hi", headers=FORM)
    assert missing.status_code == 422 and "needs an answer" in missing.text
    answered = public.post(path, content=f"feeding=formula&birthday={birthday}".encode(), headers=FORM)
    assert answered.status_code == 200 and "10元券" in answered.text
    again = public.post(path, content=f"feeding=breast&birthday={birthday}".encode(), headers=FORM)
    assert "已参与过" in again.text and "10元券" in again.text  # the first draw, not a second

    profile = http.get("/accounts/wx1/members/o_mom/profile/reveal").json()
    assert ("interest.feeding.formula", "survey") in {(t["code"], t["source"]) for t in profile["tags"]}
    assert not any(t["code"] == "interest.feeding.breastfeeding" for t in profile["tags"])
    assert profile["stage"]["code"] == "stage.baby.0_6m" and profile["stage"]["age_months"] == 3
    results = http.get(f"/accounts/wx1/surveys/{survey_id}").json()["results"]
    assert results == {"responses": 1, "draws": {"c10": 1}, "remaining": {"c10": 0}}


def test_survey_changes_and_links_are_audited_with_the_operator(http: TestClient, callers: Callers) -> None:
    editor = callers.headers(Role.CAMPAIGN_OPERATOR)
    survey_id = http.post("/accounts/wx1/surveys", json=DEFINITION, headers=editor).json()["id"]
    follow(http, "o_x")
    assert http.get(f"/accounts/wx1/surveys/{survey_id}/link", params={"openid": "o_x"}, headers=editor).is_success
    assert http.post(f"/accounts/wx1/surveys/{survey_id}/publish", headers=editor).is_success
    assert http.post(f"/accounts/wx1/surveys/{survey_id}/close", headers=editor).is_success
    # An analyst reads the results, but may not change the survey.
    analyst = callers.headers(Role.ANALYST)
    assert http.get(f"/accounts/wx1/surveys/{survey_id}", headers=analyst).json()["status"] == "closed"
    assert http.post(f"/accounts/wx1/surveys/{survey_id}/publish", headers=analyst).status_code == 403

    assert http.portal is not None
    query = AuditQuery(appid="wx1", object_type="survey", object_id=survey_id)
    entries = http.portal.call(callers.directory.audit_entries, query)
    assert [(e.action, e.actor_name) for e in reversed(entries)] == [
        ("survey.defined", "campaign_operator-op"),
        ("survey.link_issued", "campaign_operator-op"),
        ("survey.published", "campaign_operator-op"),
        ("survey.closed", "campaign_operator-op"),
    ]
    assert entries[-1].after == {"title": DEFINITION["title"], "status": "draft"}
    assert entries[-2].after == {"openid": "o_x"}


@pytest.fixture
async def profiles(settings: ProfilesSettings) -> AsyncIterator[Profiles]:
    async with bootstrap(settings, publish=False) as ready:
        yield ready


async def test_concurrent_draws_never_oversell_and_each_member_draws_once(profiles: Profiles) -> None:
    survey = Survey(
        "s-rush",
        "wx1",
        "抢券",
        (Question("q", QuestionKind.SINGLE, "选一个", (SurveyOption("a", "A"), SurveyOption("b", "B"))),),
        (Prize("gift", "礼品", PrizeKind.COUPON, 1.0, 3),),
        SurveyStatus.PUBLISHED,
    )
    await profiles.surveys.add(survey, NOW)

    async def answer(openid: str) -> str | None:
        result = await submit_survey(
            profiles.uow, profiles.taxonomy, survey, "wx1", openid, {"q": ["a"]}, NOW, lambda: 0.5
        )
        return result.prize_id

    members = [f"o_{n}" for n in range(12)]
    won = await asyncio.gather(*(answer(openid) for openid in members), *(answer(openid) for openid in members[:4]))
    results = await profiles.surveys.results(survey.id)
    assert results["remaining"] == {"gift": 0} and results["draws"].get("gift") == 3
    assert results["responses"] == 12 and sum(results["draws"].values()) == 12  # one draw each
    firsts = won[:12]
    assert firsts.count("gift") == 3
    assert won[12:] == firsts[:4]  # a member answering twice gets their first draw back


def test_h5_links_are_refused_across_pages_with_a_plain_page(http: TestClient, public: TestClient) -> None:
    survey_id = http.post("/accounts/wx1/surveys", json=DEFINITION).json()["id"]
    http.post(f"/accounts/wx1/surveys/{survey_id}/publish")
    other_id = http.post("/accounts/wx1/surveys", json=DEFINITION).json()["id"]
    http.post(f"/accounts/wx1/surveys/{other_id}/publish")
    follow(http, "o_dad")
    url = http.get(f"/accounts/wx1/surveys/{survey_id}/link", params={"openid": "o_dad"}).json()["url"]
    token = url.split("?t=", 1)[1]
    assert public.get(f"/h5/wx1/surveys/{survey_id}?t={token}").status_code == 200
    hostile = [
        f"/h5/wx1/interests?t={token}",  # a survey's link on the interest page
        f"/h5/wx1/surveys/{other_id}?t={token}",  # on another survey
        f"/h5/wx2/surveys/{survey_id}?t={token}",  # for another account
        f"/h5/wx1/surveys/{survey_id}?t=short",  # too short for a token: still the page, not JSON
        f"/h5/wx1/surveys/{survey_id}?t=" + "x" * 700,
        f"/h5/wx1/surveys/{survey_id}",
        f"/h5/wx1/surveys/{'s' * 100}?t={token}",
    ]
    for path in hostile:
        for response in (public.get(path), public.post(path, content=b"feeding=formula", headers=FORM)):
            assert response.status_code == 403, path
            assert response.headers["content-type"].startswith("text/html") and "链接已失效" in response.text
    crowded = "&".join(f"f{i}=x" for i in range(300)).encode()
    too_many = public.post(f"/h5/wx1/surveys/{survey_id}?t={token}", content=crowded, headers=FORM)
    assert too_many.status_code == 413 and too_many.headers["content-type"].startswith("text/html")
