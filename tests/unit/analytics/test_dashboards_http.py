"""The dashboards API through its bootstrap, over rollups in memory: shapes, ranges, CSV, permissions."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.analytics.adapters.memory_reader import InMemoryRollupReader
from services.analytics.entrypoints.http import create_app
from services.analytics.entrypoints.http.schemas import (
    CampaignDashboard,
    CampaignList,
    Overview,
    ProjectDashboard,
    PushDashboard,
    PushList,
    Screenshots,
)
from services.analytics.settings import AnalyticsSettings
from shared.identity import CLI_ACTOR, ROLE_PERMISSIONS, Permission, Role
from tests.accounts import account
from tests.identities import Callers

APPID = "wx1"
#: 12:00 in Beijing on 2026-03-15 (04:00 UTC): "today" for every request here.
NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
def reader() -> InMemoryRollupReader:
    return InMemoryRollupReader()


@pytest.fixture
def client(callers: Callers, reader: InMemoryRollupReader) -> Iterator[TestClient]:
    settings = AnalyticsSettings(wechat_accounts=[account(APPID)])
    app = create_app(settings, identity=callers.config, clock=lambda: NOW, reader=reader)
    with TestClient(app, headers=callers.headers(Role.ANALYST)) as test_client:
        yield test_client


def _model(path: str) -> type[BaseModel]:
    """The documented shape of a dashboard's answer."""
    route, _, item = path.partition("/")
    if item:
        detailed: dict[str, type[BaseModel]] = {
            "campaigns": CampaignDashboard,
            "pushes": PushDashboard,
            "projects": ProjectDashboard,
        }
        return detailed[route]
    listed: dict[str, type[BaseModel]] = {
        "overview": Overview,
        "screenshots": Screenshots,
        "campaigns": CampaignList,
        "pushes": PushList,
    }
    return listed[route]


def _get(client: TestClient, path: str, **params: str) -> dict[str, Any]:
    """A dashboard's JSON, checked against its documented shape (no key missing, none undeclared)."""
    response = client.get(f"/accounts/{APPID}/dashboards/{path}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    _model(path).model_validate(body)
    return body


def test_overview_totals_previous_change_series_sources_and_month(
    client: TestClient, reader: InMemoryRollupReader
) -> None:
    reader.add(APPID, "account", "2026-03-01", {"follows": 5, "follows:poster": 3, "follows:qr": 2, "unfollows": 1})
    reader.add(APPID, "account", "2026-03-01", {"unfollows:poster": 1, "pushes_delivered": 100})
    reader.add(APPID, "account", "2026-03-10", {"follows": 4, "follows:direct": 4, "project_delivered": 40})
    reader.add(APPID, "account", "2026-02-20", {"follows": 2, "follows:qr": 2, "pushes_delivered": 10})
    reader.add(APPID, "account", "2026-02-01", {"follows": 6, "pushes_delivered": 7})  # the previous period
    reader.add(APPID, "account", "2025-12-01", {"follows": 1000})  # before both: never counted
    reader.add("wx_other", "account", "2026-03-01", {"follows": 1000})  # another account

    body = _get(client, "overview", **{"from": "2026-02-20", "to": "2026-03-15"})

    assert body["range"] == {"from": "2026-02-20", "to": "2026-03-15", "days": 24}
    assert body["previous"] == {"from": "2026-01-27", "to": "2026-02-19", "days": 24}
    totals = body["totals"]
    assert totals["follows"] == 11 and totals["unfollows"] == 1 and totals["net_follows"] == 10
    assert totals["pushes_delivered"] == 110 and totals["project_delivered"] == 40
    assert body["previous_totals"] == {
        **dict.fromkeys(totals, 0),
        "follows": 6,
        "net_follows": 6,
        "pushes_delivered": 7,
    }
    change = body["change"]
    assert change["follows"] == {"delta": 5, "percent": 83.3}
    assert change["project_delivered"] == {"delta": 40, "percent": None}  # nothing to compare with
    series = body["series"]
    assert len(series) == 24
    assert series[0]["day"] == "2026-02-20" and series[0]["follows"] == 2
    assert series[-1]["day"] == "2026-03-15" and series[-1]["follows"] == 0  # a day without rollups: zeros
    assert [entry["follows"] for entry in series if entry["day"] == "2026-03-01"] == [5]
    assert body["follows_by_source"] == {"direct": 4, "poster": 3, "qr": 4}
    assert body["unfollows_by_source"] == {"poster": 1}
    assert body["month"] == {
        "from": "2026-03-01",
        "to": "2026-03-15",
        "days": 15,
        "pushes_delivered": 100,
        "project_delivered": 40,
        "follows": 9,
        "unfollows": 1,
    }


def test_the_default_range_is_the_last_30_days_and_the_month_is_read_even_when_the_range_is_older(
    client: TestClient, reader: InMemoryRollupReader
) -> None:
    assert _get(client, "overview")["range"] == {"from": "2026-02-14", "to": "2026-03-15", "days": 30}
    reader.add(APPID, "account", "2026-03-02", {"pushes_delivered": 3, "follows": 1})
    body = _get(client, "overview", **{"from": "2025-06-01", "to": "2025-06-30"})
    totals = body["totals"]
    assert totals["follows"] == 0
    month = body["month"]
    assert month["pushes_delivered"] == 3 and month["follows"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
        ({"to": "2026-03-16"}, "to"),  # tomorrow in Beijing
        ({"from": "2025-01-01", "to": "2026-03-01"}, "from"),  # longer than 400 days
        ({"format": "xml"}, "format"),
    ],
)
def test_a_bad_range_or_format_is_422_naming_the_field(client: TestClient, params: dict[str, str], field: str) -> None:
    response = client.get(f"/accounts/{APPID}/dashboards/overview", params=params)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [["query", field]]


def test_csv_download_is_utf8_with_a_bom_and_names_the_dashboard_and_range(
    client: TestClient, reader: InMemoryRollupReader
) -> None:
    reader.add(APPID, "account", "2026-03-01", {"follows": 5, "follows:poster": 5})
    response = client.get(
        f"/accounts/{APPID}/dashboards/overview", params={"from": "2026-03-01", "to": "2026-03-02", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="overview_wx1_2026-03-01_2026-03-02.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["totals 2026-03-01 to 2026-03-02 vs 2026-02-27 to 2026-02-28"]
    assert rows[1] == ["figure", "value", "previous", "change", "change_percent"]
    assert rows[2] == ["follows", "5", "0", "5", ""]
    daily = rows.index(["daily"])
    assert rows[daily + 1][:3] == ["day", "follows", "unfollows"]
    assert [row[:2] for row in rows[daily + 2 : daily + 4]] == [["2026-03-01", "5"], ["2026-03-02", "0"]]
    assert ["poster", "5"] in rows


def test_campaign_funnel_tiers_and_retention(client: TestClient, reader: InMemoryRollupReader) -> None:
    scope = "campaign:c1"
    # Credited on 2026-02-01 (its 7- and 30-day windows have closed by 2026-03-15) and on 2026-03-10 (not yet).
    reader.add(APPID, scope, "2026-02-01", {"poster_sent": 100, "poster_scans": 40, "poster_follows": 20})
    reader.add(APPID, scope, "2026-02-01", {"credited": 10, "invitees_lost_7d": 2, "invitees_lost_30d": 5})
    reader.add(APPID, scope, "2026-02-01", {"tier:1": 4, "tier:2": 1, "rewards": 5, "rewards:1": 4, "rewards:2": 1})
    reader.add(APPID, scope, "2026-03-10", {"poster_sent": 100, "credited": 10, "invitees_lost_7d": 1})
    reader.add(APPID, "campaign:c2", "2026-02-01", {"poster_sent": 999})

    body = _get(client, "campaigns/c1", **{"from": "2026-02-01", "to": "2026-03-15"})

    assert body["campaign_id"] == "c1"
    steps = {step["step"]: step for step in body["funnel"]}
    assert list(steps) == [
        "poster_sent",
        "poster_scans",
        "poster_follows",
        "credited",
        "retained_7d",
        "retained_30d",
        "tier_reached",
        "rewards",
    ]
    assert steps["poster_sent"] == {"step": "poster_sent", "count": 200, "from_previous": None, "from_first": 1.0}
    assert steps["poster_scans"]["from_previous"] == 0.2 and steps["credited"]["count"] == 20
    # 7 days: credit days up to 2026-03-07 count (2026-02-01 only): 10 credited, 2 lost.
    assert steps["retained_7d"]["count"] == 8 and steps["retained_7d"]["from_previous"] == 0.8
    assert steps["retained_7d"]["cohort"] == {"from": "2026-02-01", "to": "2026-03-07", "days": 35}
    # 30 days: credit days up to 2026-02-12: 10 credited, 5 lost; compared with the 8 kept a week.
    assert steps["retained_30d"]["count"] == 5 and steps["retained_30d"]["from_previous"] == 0.625
    assert steps["tier_reached"]["count"] == 4 and steps["tier_reached"]["from_previous"] == 0.2
    assert steps["rewards"]["count"] == 5
    assert body["retention"] == {
        "7d": {
            "window_days": 7,
            "cohort": {"from": "2026-02-01", "to": "2026-03-07", "days": 35},
            "credited": 10,
            "retained": 8,
            "rate": 0.8,
        },
        "30d": {
            "window_days": 30,
            "cohort": {"from": "2026-02-01", "to": "2026-02-12", "days": 12},
            "credited": 10,
            "retained": 5,
            "rate": 0.5,
        },
    }
    assert body["tiers"] == [{"tier": 1, "reached": 4, "rewards": 4}, {"tier": 2, "reached": 1, "rewards": 1}]
    totals = body["totals"]
    assert totals["poster_sent"] == 200 and totals["tier_reached"] == 4


def test_campaign_list_one_row_per_campaign_with_account_totals(
    client: TestClient, reader: InMemoryRollupReader
) -> None:
    reader.add(APPID, "account", "2026-03-01", {"poster_sent": 7, "credited": 3})
    reader.add(APPID, "campaign:c1", "2026-03-01", {"poster_sent": 5, "poster_scans": 2, "credited": 2})
    reader.add(APPID, "campaign:c2", "2026-03-05", {"poster_sent": 2, "credited": 1})
    reader.add(APPID, "campaign:c3", "2026-01-01", {"poster_sent": 2})  # outside the range
    body = _get(client, "campaigns", **{"from": "2026-03-01", "to": "2026-03-10"})
    assert [row["campaign_id"] for row in body["campaigns"]] == ["c2", "c1"]
    first = body["campaigns"][1]
    assert first["poster_sent"] == 5 and first["scan_rate"] == 0.4 and first["first_day"] == "2026-03-01"
    assert body["totals"] == {"poster_sent": 7, "credited": 3, "revoked": 0, "rewards": 0}


def test_screenshots_rates_reasons_and_waits(client: TestClient, reader: InMemoryRollupReader) -> None:
    reader.add(
        APPID,
        "account",
        "2026-03-01",
        {
            "screenshots:approved": 8,
            "screenshots:rejected": 2,
            "screenshots:queued": 4,
            "review_wait:lt1h": 3,
            "review_wait:ge24h": 1,
            "screenshot_reason:no_poster": 2,
            "screenshot_reason:cropped": 1,
        },
    )
    body = _get(client, "screenshots", **{"from": "2026-03-01", "to": "2026-03-01"})
    assert body["totals"] == {
        "submitted": 10,
        "approved": 8,
        "rejected": 2,
        "queued": 4,
        "reviewed": 4,
        "approval_rate": 0.8,
        "rejection_rate": 0.2,
        "review_rate": 0.4,
    }
    assert body["reasons"] == {"no_poster": 2, "cropped": 1}
    assert body["review_waits"] == {"lt1h": 3, "lt4h": 0, "lt24h": 0, "ge24h": 1}


def test_pushes_list_and_one_push_per_variant(client: TestClient, reader: InMemoryRollupReader) -> None:
    reader.add(APPID, "account", "2026-03-01", {"pushes_delivered": 90, "pushes_failed": 10, "push_clickers": 9})
    counters = {
        "delivered": 90,
        "failed": 10,
        "failed:45015": 6,
        "failed:-1": 4,
        "clicks": 12,
        "clickers": 9,
        "delivered:v:A": 50,
        "delivered:v:B": 40,
        "clickers:v:A": 5,
        "clickers:v:B": 4,
        "failed:v:A": 10,
    }
    reader.add(APPID, "push:p1", "2026-03-01", counters)
    reader.add(APPID, "push:p1", "2026-03-02", {"delivered": 10})
    reader.add(APPID, "pushx", "2026-03-01", {"delivered": 1})  # not under "push:"
    body = _get(client, "pushes", **{"from": "2026-03-01", "to": "2026-03-02"})
    assert body["totals"] == {"delivered": 90, "failed": 10, "clicks": 0, "clickers": 9, "click_rate": 0.1}
    [row] = body["pushes"]
    assert row["push_id"] == "p1" and row["delivered"] == 100 and row["click_rate"] == 0.09
    assert row["failures_by_errcode"] == {"45015": 6, "-1": 4}
    assert row["variants"][0] == {
        "variant": "A",
        "delivered": 50,
        "failed": 10,
        "clicks": 0,
        "clickers": 5,
        "click_rate": 0.1,
    }
    one = _get(client, "pushes/p1", **{"from": "2026-03-01", "to": "2026-03-02"})
    assert one["push_id"] == "p1" and [v["variant"] for v in one["variants"]] == ["A", "B"]
    assert [day["delivered"] for day in one["series"]] == [90, 10]


def test_project_by_segment_and_push(client: TestClient, reader: InMemoryRollupReader) -> None:
    reader.add(
        APPID,
        "project:pr1",
        "2026-03-01",
        {
            "delivered": 30,
            "clicks": 4,
            "clickers": 3,
            "delivered:seg:s1": 20,
            "delivered:seg:s2": 10,
            "delivered:push:p1": 30,
            "clicks:push:p1": 4,
        },
    )
    body = _get(client, "projects/pr1", **{"from": "2026-03-01", "to": "2026-03-01"})
    assert body["totals"] == {"delivered": 30, "clicks": 4, "clickers": 3, "click_rate": 0.1}
    assert body["by_segment"] == [{"segment_id": "s1", "delivered": 20}, {"segment_id": "s2", "delivered": 10}]
    assert body["by_push"] == [{"push_id": "p1", "delivered": 30, "clicks": 4}]


ROUTES = [
    "overview",
    "campaigns",
    "campaigns/c1",
    "screenshots",
    "pushes",
    "pushes/p1",
    "projects/pr1",
]


@pytest.mark.parametrize("path", ROUTES)
def test_every_dashboard_needs_a_caller_with_stats_view_on_the_account(
    client: TestClient, callers: Callers, path: str
) -> None:
    url = f"/accounts/{APPID}/dashboards/{path}"
    assert client.get(url, headers={"Authorization": ""}).status_code == 401
    assert client.get(url, headers=callers.headers_other_account()).status_code == 403
    for role in Role:  # the roles on accounts hold stats:view; the brand roles hold none on accounts
        expected = 200 if Permission.STATS_VIEW in ROLE_PERMISSIONS[role] else 403
        assert client.get(url, headers=callers.headers(role)).status_code == expected, role

    async def scoped_token() -> str:
        token, _ = await callers.directory.create_token(
            CLI_ACTOR, f"{Role.ADMIN.value}-op", label="no stats", scopes=frozenset({Permission.CAMPAIGN_VIEW})
        )
        return token

    token = asyncio.run(scoped_token())
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert client.get(url, params={"format": "csv"}, headers={"Authorization": ""}).status_code == 401


def test_an_unknown_account_is_404(client: TestClient, callers: Callers) -> None:
    response = client.get("/accounts/wx_unknown/dashboards/overview")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown account 'wx_unknown'"}


def test_the_push_list_pages_newest_first_and_the_csv_holds_every_push(
    client: TestClient, reader: InMemoryRollupReader
) -> None:
    for n in range(1, 6):
        reader.add(APPID, f"push:p{n}", f"2026-03-0{n}", {"delivered": n})
    params = {"from": "2026-03-01", "to": "2026-03-10"}
    body = _get(client, "pushes", **params, limit="2", offset="1")
    assert [row["push_id"] for row in body["pushes"]] == ["p4", "p3"]
    assert body["pushes_in_range"] == 5
    assert [row["push_id"] for row in _get(client, "pushes", **params)["pushes"]] == ["p5", "p4", "p3", "p2", "p1"]
    response = client.get(f"/accounts/{APPID}/dashboards/pushes", params={**params, "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    listed = rows.index(["pushes"])
    assert [row[0] for row in rows[listed + 2 : listed + 7]] == ["p5", "p4", "p3", "p2", "p1"]
    assert client.get(f"/accounts/{APPID}/dashboards/pushes", params={"limit": "0"}).status_code == 422


def test_the_docs_describe_each_dashboard(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    answer = paths["/accounts/{appid}/dashboards/overview"]["get"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"] == {"$ref": "#/components/schemas/Overview"}
    assert "text/csv" in answer
