"""The dashboard pages over the REAL analytics API (its app through its bootstrap, rollups in memory),
signed in through the real identity API, all in process. The campaigns and segments APIs, asked only
for names here, answer from fixed JSON in their own shapes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from services.analytics.adapters.memory_reader import InMemoryRollupReader
from services.analytics.entrypoints.http import create_app as create_analytics_app
from services.analytics.settings import AnalyticsSettings
from services.console.domain.dashboards import beijing_today
from services.console.entrypoints.http import dashboards as console_dashboards
from services.console.service_layer.ports import Api
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.conftest import APPID, PASSWORDS, _seed
from tests.unit.console.stack import Mounted, console_client

TODAY = beijing_today(datetime.now(UTC))


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


CAMPAIGN = {
    "id": "camp1",
    "name": "春季邀请有礼",
    "status": "active",
    "starts_at": f"{day(20)}T00:00:00Z",
    "ends_at": f"{(TODAY + timedelta(days=10)).isoformat()}T00:00:00Z",
}
CAMPAIGNS: dict[str, Any] = {
    "items": [
        CAMPAIGN,
        {
            "id": "camp0",
            "name": "冬季活动",
            "status": "ended",
            "starts_at": f"{day(80)}T00:00:00Z",
            "ends_at": f"{day(45)}T00:00:00Z",
        },
        {"id": "draft", "name": "草稿", "status": "draft", "starts_at": None, "ends_at": None},
    ],
    "limit": 200,
    "offset": 0,
}
REASONS = {"reasons": [{"code": "blurry", "zh": "截图模糊", "en": "Blurry screenshot"}]}
PUSHES = [{"id": "push1", "name": "奶粉试用推送", "segment_id": "seg1", "status": "finished", "send_at": None}]
SEGMENTS = [{"id": "seg1", "name": "孕晚期妈妈"}]


def _names(request: httpx.Request) -> httpx.Response:
    """The campaigns and segments APIs' answers to what the dashboards ask them (names)."""
    found: Mapping[str, Any] = {
        f"/accounts/{APPID}/campaigns": CAMPAIGNS,
        f"/accounts/{APPID}/campaigns/camp1": CAMPAIGN,
        f"/accounts/{APPID}/screenshots/reasons": REASONS,
        f"/accounts/{APPID}/pushes": PUSHES,
        f"/accounts/{APPID}/segments": SEGMENTS,
    }
    if request.url.path not in found:
        return httpx.Response(404, json={"detail": "not found"})
    return httpx.Response(200, json=found[request.url.path])


@dataclass
class Dashboards:
    client: httpx.AsyncClient
    rollups: InMemoryRollupReader

    async def page(self, path: str, **params: str) -> str:
        answer = await self.client.get(f"/accounts/{APPID}{path}", params=params)
        assert answer.status_code == 200, answer.text
        return answer.text


@pytest.fixture
async def boards() -> AsyncIterator[Dashboards]:
    """The console signed in as an admin, over the analytics API with no rollups yet."""
    directory = cheap_directory()
    await _seed(directory)
    rollups = InMemoryRollupReader()
    analytics = create_analytics_app(
        AnalyticsSettings(wechat_accounts=[account(APPID)]), identity=identity_config(directory), reader=rollups
    )
    names = httpx.MockTransport(_names)
    mounted: dict[Api, Mounted] = {Api.ANALYTICS: analytics, Api.CAMPAIGNS: names, Api.SEGMENTS: names}
    async with console_client(directory, mounted) as client:
        answer = await client.post("/login", data={"name": "ada", "password": PASSWORDS["ada"], "next": "/"})
        assert answer.status_code == 303
        yield Dashboards(client, rollups)


def charts(page: str) -> dict[str, Any]:
    """The page's chart data (its JSON block)."""
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert found, "no chart data on the page"
    drawn: dict[str, Any] = json.loads(found.group(1))["charts"]
    return drawn


class _Text(HTMLParser):
    """The text inside the first element with a given ``data-testid``."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr"})

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.depth, self.done, self.parts = name, 0, False, list[str]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done or tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif ("data-testid", self.name) in attrs:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in self.VOID:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(page: str, name: str) -> str:
    """The text of the element with ``data-testid=name``, spaces squeezed."""
    parser = _Text(name)
    parser.feed(page)
    assert parser.done, f"no {name} on the page"
    return " ".join(" ".join(parser.parts).split())


def series_named(chart: Mapping[str, Any], name: str) -> list[Any]:
    return next(list(s["data"]) for s in chart["series"] if s["name"] == name)


def seed_overview(rollups: InMemoryRollupReader) -> None:
    rollups.add(APPID, "account", day(2), {"follows": 5, "follows:poster": 3, "follows:qr": 2})
    rollups.add(APPID, "account", day(2), {"unfollows": 1, "unfollows:poster": 1, "pushes_delivered": 100})
    rollups.add(APPID, "account", day(0), {"project_delivered": 40})
    rollups.add(APPID, "account", day(40), {"follows": 2, "follows:direct": 2, "pushes_delivered": 10})  # before
    first_of_last_month = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
    rollups.add(APPID, "account", first_of_last_month.isoformat(), {"project_delivered": 10})


async def test_the_overview_shows_each_figure_against_the_previous_period(boards: Dashboards) -> None:
    seed_overview(boards.rollups)
    page = await boards.page("", preset="30d")

    follows = text_of(page, "tile-follows")
    assert follows.startswith("5 新增关注") and "+3 (+150.0%)" in follows
    assert "+1" in text_of(page, "tile-unfollows") and 'class="delta delta-bad"' in page  # more unfollows: bad
    assert "+2 (+100.0%)" in text_of(page, "tile-net_follows")
    # camp1 ran in these 30 days, camp0 in the 30 before; the draft never ran.
    assert text_of(page, "tile-campaigns").startswith("1 期间内进行的活动")
    assert "+90 (+900.0%)" in text_of(page, "tile-pushes_delivered")
    value = text_of(page, "tile-value")
    assert value.startswith("40 本月交付价值") and "+30 (+300.0%)" in value
    assert text_of(page, "source-poster") == "邀请海报 3 0 +3 60.0% 1"
    assert text_of(page, "source-direct") == "搜索及其他 0 2 -2 (-100.0%) 0.0% 0"

    drawn = charts(page)
    followers = drawn["followers"]
    assert len(followers["x"]) == 30 and followers["x"][-1] == TODAY.isoformat()
    assert sum(series_named(followers, "新增关注")) == 5
    assert sum(series_named(followers, "新增关注（上一周期）")) == 2
    assert [s["dashed"] for s in followers["series"]] == [False, False, True, True]
    assert drawn["sources"]["x"][:2] == ["邀请海报", "其他二维码"]
    # The rest of the overview is still there: active campaigns (with their funnels), member tiles.
    assert f'href="/accounts/{APPID}/dashboards/campaigns/camp1?from=' in page
    assert f'hx-get="/accounts/{APPID}/overview/members"' in page


async def test_the_range_control_offers_presets_dates_and_the_previous_period(boards: Dashboards) -> None:
    week = await boards.page("", preset="7d")
    assert f'value="{day(6)}" max="{TODAY.isoformat()}" data-testid="range-from"' in week
    assert 'data-testid="preset-7d" aria-current="true"' in week
    assert f"对比 {day(13)} – {day(7)}" in text_of(week, "range-compare")
    # Tabs and links keep the range.
    assert f'href="/accounts/{APPID}/dashboards/pushes?from={day(6)}&amp;to={TODAY.isoformat()}"' in week

    typed = await boards.page("", **{"from": day(9), "to": day(0)})
    assert f'value="{day(9)}"' in typed and 'aria-current="true"' not in typed.split('data-testid="range"')[1][:1500]
    for path in ("/dashboards/campaigns", "/dashboards/screenshots", "/dashboards/pushes/push1"):
        board = await boards.page(path, **{"from": day(9), "to": day(2)})
        assert f'value="{day(2)}" max="{TODAY.isoformat()}" data-testid="range-to"' in board, path
    month = await boards.page("", preset="month")
    assert f'value="{TODAY.replace(day=1).isoformat()}"' in month

    refused = await boards.page("", **{"from": "2026-02-30"})
    assert text_of(refused, "range-error") == "从: 请按 YYYY-MM-DD 格式输入日期。"
    assert f'value="{day(29)}"' in refused  # the last 30 days meanwhile
    later = await boards.page("", **{"from": day(3), "to": (TODAY + timedelta(days=1)).isoformat()})
    assert text_of(later, "range-error") == "到: 结束日期不能晚于今天（北京时间）。"


async def test_an_account_without_rollups_shows_empty_states(boards: Dashboards) -> None:
    page = await boards.page("")
    assert text_of(page, "empty-followers") == "此期间暂无关注或取消关注。"
    assert text_of(page, "empty-sources") == "此期间暂无关注。"
    assert text_of(page, "empty-pushes") == "此期间没有推送送达。"
    assert "无上一周期数据" not in page and text_of(page, "tile-follows").startswith("0 新增关注")
    rates = await boards.page("/dashboards/pushes")
    assert 'data-testid="empty-pushes"' in rates
    shots = await boards.page("/dashboards/campaigns")
    assert text_of(shots, "tile-credited").startswith("0 有效邀请")
    for path, empty in [
        ("/dashboards/campaigns", "empty-campaigns"),
        ("/dashboards/campaigns/camp1", "empty-funnel"),
        ("/dashboards/screenshots", "empty-screenshots"),
        ("/dashboards/pushes", "empty-pushes"),
        ("/dashboards/pushes/push1", "empty-push"),
    ]:
        assert f'data-testid="{empty}"' in await boards.page(path), path


async def test_the_overview_without_the_analytics_api_still_shows_the_rest(console: Any) -> None:
    """``console`` mounts no analytics API: the figures say so, the campaigns and member tiles stay."""
    await console.sign_in("ada")
    page = await console.client.get(f"/accounts/{APPID}")
    assert page.status_code == 200
    assert "看板数据暂时无法加载。" in page.text and 'data-testid="member-tiles"' in page.text


async def test_csv_exports_pass_the_api_s_file_through_whole_or_one_chart_s_table(boards: Dashboards) -> None:
    seed_overview(boards.rollups)
    whole = await boards.client.get(f"/accounts/{APPID}/dashboards/overview.csv", params={"preset": "7d"})
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/csv")
    assert whole.headers["content-disposition"] == f'attachment; filename="overview_{APPID}_{day(6)}_{day(0)}.csv"'
    text = whole.content.decode("utf-8")
    assert text.startswith("\ufefftotals ") and "\r\ndaily\r\n" in text and "follows by source" in text

    daily = await boards.client.get(
        f"/accounts/{APPID}/dashboards/overview.csv", params={"preset": "7d", "table": "daily"}
    )
    lines = daily.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "daily" and lines[1].startswith("day,follows,unfollows,net_follows") and len(lines) == 2 + 7
    assert daily.headers["content-disposition"].endswith(f'filename="overview-daily_{APPID}_{day(6)}_{day(0)}.csv"')

    sources = await boards.client.get(
        f"/accounts/{APPID}/dashboards/overview.csv",
        params=[("table", "follows by source"), ("table", "unfollows by source")],
    )
    assert sources.content.decode("utf-8-sig").split("\r\n")[:3] == ["follows by source", "source,count", "poster,3"]
    for path in [
        "campaigns.csv",
        "campaigns/camp1/export.csv",
        "screenshots.csv",
        "pushes.csv",
        "pushes/push1/export.csv",
    ]:
        answer = await boards.client.get(f"/accounts/{APPID}/dashboards/{path}")
        assert answer.status_code == 200 and answer.content.startswith("\ufefftotals".encode()), path
    typed = await boards.client.get(f"/accounts/{APPID}/dashboards/pushes.csv", params={"from": day(9), "to": day(2)})
    assert typed.headers["content-disposition"] == f'attachment; filename="pushes_{APPID}_{day(9)}_{day(2)}.csv"'
    refused = await boards.client.get(f"/accounts/{APPID}/dashboards/pushes/bad%20id/export.csv")
    assert refused.status_code == 422


def seed_campaign(rollups: InMemoryRollupReader) -> None:
    scope = "campaign:camp1"
    rollups.add(APPID, scope, day(20), {"poster_sent": 100, "poster_scans": 40, "poster_follows": 20, "credited": 10})
    rollups.add(APPID, scope, day(20), {"invitees_lost_7d": 2, "tier:1": 5, "tier:2": 2, "rewards": 6, "rewards:1": 5})
    rollups.add(APPID, scope, day(3), {"poster_sent": 50, "poster_scans": 10, "poster_follows": 5, "credited": 4})
    rollups.add(APPID, scope, day(45), {"poster_sent": 30, "credited": 1})  # the previous period
    rollups.add(APPID, scope, day(3), {"screenshots:approved": 3, "screenshots:queued": 1})
    rollups.add(APPID, scope, day(3), {"screenshots:rejected": 1, "screenshot_reason:blurry": 1})


async def test_a_campaign_funnel_converts_step_by_step_with_retention_tiers_and_days(boards: Dashboards) -> None:
    seed_campaign(boards.rollups)
    page = await boards.page("/dashboards/campaigns/camp1", preset="30d")

    assert text_of(page, "funnel-title").startswith("漏斗 · 春季邀请有礼")
    assert text_of(page, "step-poster_sent") == "已发海报 150 30 +120 (+400.0%)"
    assert text_of(page, "step-poster_scans") == "海报被扫码 50 0 +50 33.3%"
    assert text_of(page, "conversion-poster_follows") == "50.0%"
    assert text_of(page, "conversion-credited") == "56.0%"  # 14 of 25
    # Invitees credited more than 7 days ago: the 10 of day 20, of whom 2 left within 7 days.
    week = text_of(page, "retention-7d")
    assert (
        week.startswith("80.0% 7 天后") and "10 位被邀请人中 8 位" in week and f"计入时间 {day(29)} – {day(8)}" in week
    )
    assert text_of(page, "step-retained_7d").startswith("7 天后仍关注 8 ")

    drawn = charts(page)
    assert [row["value"] for row in drawn["funnel"]["series"][0]["data"]][:4] == [150, 50, 25, 14]
    assert drawn["tiers"]["x"] == ["第 1 档", "第 2 档"] and drawn["tiers"]["series"][0]["data"] == [5, 2]
    daily = drawn["daily"]
    assert sum(series_named(daily, "有效邀请")) == 14 and sum(series_named(daily, "有效邀请（上一周期）")) == 1
    assert f'href="/accounts/{APPID}/campaigns/camp1" data-testid="live-page"' in page
    assert f"/dashboards/campaigns/camp1/export.csv?from={day(29)}&amp;to={day(0)}&amp;table=funnel" in page

    assert text_of(page, "campaign-screenshots") == "已通过 3 已拒绝 1 转人工审核 1 原因 截图模糊 × 1"
    listed = await boards.page("/dashboards/campaigns", preset="30d")
    row = text_of(listed, "campaign-row-camp1")
    assert row.startswith("春季邀请有礼 进行中 150 50 33.3% 25 50.0% 14 1 +13")
    assert "+13 (+1300.0%) 5 6" in row


async def test_screenshot_decisions_show_rates_reasons_waits_and_the_review_queue(boards: Dashboards) -> None:
    rollups = boards.rollups
    rollups.add(
        APPID, "account", day(1), {"screenshots:approved": 6, "screenshots:rejected": 2, "screenshots:queued": 3}
    )
    rollups.add(APPID, "account", day(1), {"screenshot_reason:blurry": 2, "screenshot_reason:qr_missing": 1})
    rollups.add(APPID, "account", day(1), {"review_wait:lt1h": 2, "review_wait:ge24h": 1})
    rollups.add(APPID, "account", day(10), {"screenshots:approved": 1})
    rollups.add(APPID, "account", day(35), {"screenshots:approved": 1, "screenshots:rejected": 1})  # before
    page = await boards.page("/dashboards/screenshots", preset="30d")

    # 12 decisions, 3 of them reviewers' (queued first): 9 screenshots submitted.
    assert text_of(page, "tile-submitted").startswith("9 ")
    assert text_of(page, "tile-approval_rate").startswith("77.8% 通过率")  # 7 of 9 approved or rejected
    assert "上一周期：50.0%" in text_of(page, "tile-approval_rate")
    assert text_of(page, "tile-review_rate").startswith("33.3% 转人工审核")
    reasons = text_of(page, "reasons-table")
    assert "截图模糊 2 0 +2" in reasons and "qr_missing 1 0 +1" in reasons  # names from the campaigns API
    assert "1 小时内 2 0 +2 66.7%" in text_of(page, "waits-table")
    assert f'href="/accounts/{APPID}/review" data-testid="review-queue"' in page
    rates = charts(page)["rates"]
    assert rates["percent"] and series_named(rates, "通过率")[-2] == 0.75 and series_named(rates, "通过率")[-1] is None


async def test_push_results_per_push_and_variant_with_names_from_the_segments_api(boards: Dashboards) -> None:
    rollups = boards.rollups
    scope = "push:push1"
    rollups.add(APPID, scope, day(2), {"delivered": 90, "failed": 10, "failed:45015": 7, "failed:43004": 3})
    rollups.add(APPID, scope, day(2), {"clicks": 30, "clickers": 18, "delivered:v:A": 50, "delivered:v:B": 40})
    rollups.add(APPID, scope, day(2), {"clicks:v:A": 20, "clickers:v:A": 12, "clicks:v:B": 10, "clickers:v:B": 6})
    rollups.add(APPID, "account", day(2), {"pushes_delivered": 90, "pushes_failed": 10, "push_clicks": 30})
    rollups.add(APPID, "account", day(2), {"push_clickers": 18})
    rollups.add(APPID, "push:push0", day(1), {"delivered": 5})  # a push the segments API no longer lists
    listed = await boards.page("/dashboards/pushes", preset="7d")

    row = text_of(listed, "push-row-push1")
    assert row.startswith("奶粉试用推送 孕晚期妈妈 90 10 45015 × 7 43004 × 3 30 18 20.0%")
    assert "A: 50 / 20" in row and "B: 40 / 10" in row
    assert text_of(listed, "push-row-push0").startswith("push0 5 0 — 0 0 0.0%")
    assert text_of(listed, "tile-click_rate").startswith("20.0% 点击率")
    assert f'href="/accounts/{APPID}/dashboards/pushes/push1?from={day(6)}&amp;to={day(0)}"' in listed

    page = await boards.page("/dashboards/pushes/push1", preset="7d")
    assert text_of(page, "push-title").startswith("奶粉试用推送 孕晚期妈妈")
    variants = text_of(page, "variant-results")
    assert "A 50 0 20 12 24.0%" in variants and "B 40 0 10 6 15.0%" in variants
    failures = text_of(page, "failure-codes")
    assert "45015 会员 48 小时内未互动，客服消息无法送达。 7" in failures and "43004 会员未关注公众号。 3" in failures
    drawn = charts(page)
    assert drawn["variants"]["x"] == ["A", "B"] and series_named(drawn["variants"], "点击率") == [0.24, 0.15]
    assert sum(series_named(drawn["daily"], "已送达")) == 90


async def test_push_results_page_through_the_api_s_list(boards: Dashboards, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_dashboards, "PUSHES_PAGE", 2)
    for n in range(3):  # newest first: push2 (day 1), push1, push0
        boards.rollups.add(APPID, f"push:p{n}", day(3 - n), {"delivered": 10 + n})
    first = await boards.page("/dashboards/pushes", preset="7d")
    assert 'data-testid="push-row-p2"' in first and 'data-testid="push-row-p0"' not in first
    assert text_of(first, "push-pages").startswith("第 1–2 条，共 3 条")
    assert f'href="?from={day(6)}&amp;to={day(0)}&amp;offset=2" data-testid="next-pushes"' in first
    second = await boards.page("/dashboards/pushes", preset="7d", offset="2")
    assert 'data-testid="push-row-p0"' in second and text_of(second, "push-pages") == "第 3–3 条，共 3 条 上一页"


async def test_the_dashboards_speak_english_too(boards: Dashboards) -> None:
    seed_overview(boards.rollups)
    boards.client.cookies.set("scrm_lang", "en")
    page = await boards.page("", preset="30d")
    assert text_of(page, "tile-follows").startswith("5 Followers gained ▲ +3 (+150.0%) vs previous period")
    assert text_of(page, "source-poster").startswith("Invitation posters 3 0 +3")
    assert sum(series_named(charts(page)["followers"], "Followers gained (previous period)")) == 2
    assert "Compared with" in text_of(page, "range-compare")
    funnel = await boards.page("/dashboards/campaigns/camp1")
    assert "No activity for this campaign in this period yet" in text_of(funnel, "empty-funnel")
