"""``GET /accounts/{appid}/profiles/coverage`` over the in-memory store: figures from the counters the
profile writes keep, the previous period, CSV with a BOM, and refusals naming the field."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.domain.profile import Profile
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http import create_app
from services.profiles.settings import ProfilesSettings
from shared.identity import Role
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, StageDeclaration, load_taxonomy
from tests.accounts import account
from tests.identities import Callers

APPID = "wx1"
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
def http(callers: Callers) -> Iterator[TestClient]:
    store = InMemoryProfileStore()
    clock = [NOW - timedelta(days=20)]
    store.clock = lambda: clock[0]

    def seed(openid: str, *, toys: bool, due: bool) -> None:
        profile = Profile(APPID, openid)
        changes = profile.followed(clock[0], "test")
        if toys:
            changes += profile.add_tag(TAXONOMY, "interest.toys", TagSource.OPS, clock[0], actor="t")
        if due:
            declaration = StageDeclaration(Basis.DUE_DATE, clock[0].date(), NOW.date() + timedelta(days=100))
            changes += profile.declare_stage(declaration, clock[0])
        asyncio.run(store.save(profile, changes))

    seed("o1", toys=True, due=True)  # 20 days ago: before the range
    clock[0] = NOW - timedelta(days=2)
    seed("o2", toys=True, due=False)
    seed("o3", toys=False, due=True)
    settings = ProfilesSettings(environment="development", wechat_accounts=[account(APPID)])
    app = create_app(settings, identity=callers.config, store=store, publish=False, clock=lambda: NOW)
    with TestClient(app, headers=callers.headers(Role.ANALYST)) as client:
        yield client


def test_coverage_of_following_members_with_the_previous_period(http: TestClient) -> None:
    reply = http.get(f"/accounts/{APPID}/profiles/coverage", params={"from": "2026-03-04", "to": "2026-03-10"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["range"] == {"from": "2026-03-04", "to": "2026-03-10"}
    assert body["previous"] == {"from": "2026-02-25", "to": "2026-03-03"}
    assert body["following"] == {"count": 3, "previous": 1, "delta": 2}
    toys = next(row for row in body["tags"] if row["code"] == "interest.toys")
    assert toys | {"name": None, "name_en": None} == {
        "code": "interest.toys",
        "name": None,
        "name_en": None,
        "family": "interest",
        "count": 2,
        "share": round(2 / 3, 4),
        "previous": 1,
        "previous_share": 1.0,
        "delta": 1,
    }
    assert toys["name"] == TAXONOMY.tags["interest.toys"].name
    assert toys["name_en"] == TAXONOMY.tags["interest.toys"].english  # both names, as every tag listing
    kinds = {row["kind"]: row["count"] for row in body["kinds"]}
    assert kinds == {"planning": 0, "pregnant": 2, "parenting": 0, "unknown": 1}
    cross = {(row["kind"], row["code"]): (row["count"], row["base"]) for row in body["cross"]}
    assert cross[("pregnant", "interest.toys")] == (1, 2) and cross[("unknown", "interest.toys")] == (1, 1)
    stages = {row["stage"]: row["count"] for row in body["stages"]["rows"]}
    assert stages["stage.pregnancy.mid"] == 2 and body["stages"]["on"] == "2026-03-10"
    assert [day["following"] for day in body["series"]] == [1, 1, 1, 1, 3, 3, 3]
    assert body["series"][-1]["tags"]["interest.toys"] == 2


def test_the_default_range_is_the_last_30_days(http: TestClient) -> None:
    body = http.get(f"/accounts/{APPID}/profiles/coverage").json()
    assert body["range"] == {"from": "2026-02-09", "to": "2026-03-10"} and len(body["series"]) == 30
    assert body["previous"]["to"] == "2026-02-08"


def test_csv_carries_the_same_figures_with_a_bom(http: TestClient) -> None:
    reply = http.get(f"/accounts/{APPID}/profiles/coverage", params={"from": "2026-03-04", "format": "csv"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    assert reply.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    toys = next(row for row in rows if row["figure"] == "tag" and row["code"] == "interest.toys")
    assert (toys["count"], toys["previous"], toys["delta"]) == ("2", "1", "1")
    assert sum(row["figure"] == "daily_following" for row in rows) == 7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-03-10"}, "from"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_bad_ranges_are_refused_naming_the_field(http: TestClient, params: dict[str, str], field: str) -> None:
    reply = http.get(f"/accounts/{APPID}/profiles/coverage", params=params)
    assert reply.status_code == 422
    assert any(problem["loc"][-1] == field for problem in reply.json()["detail"])


def test_stats_keep_their_shape_and_read_the_counters(http: TestClient) -> None:
    stats = http.get(f"/accounts/{APPID}/profiles/stats").json()
    assert stats == {
        "profiles": 3,
        "following": 3,
        "tagged": 3,
        "by_stage": {"stage.pregnancy.mid": 2},
        "consented_marketing": 0,
    }
