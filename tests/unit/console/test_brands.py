"""The console's brand, project and business pages over the REAL brands API (its routers, use cases and
rules, an in-memory unit of work), signed in through the real identity API: a manager sees their own
brands and nothing else (the API decides, the page shows its refusal), a sales head their team's; the
forms, deals, payments, the audited hand-over, a project's progress, its value report and CSV, the
business view, and the push composer's project select."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from services.brands.adapters.memory import InMemoryBrandsUnitOfWork
from services.brands.bootstrap import Brands
from services.brands.domain.progress import DeliveryFact
from services.brands.domain.rules import Viewer
from services.brands.entrypoints.http import create_app as create_brands_app
from services.brands.settings import BrandsSettings
from services.console.domain.brands import (
    BrandForm,
    ProjectForm,
    fen_of,
    funnel_chart,
    next_stages,
    progress_chart,
    yuan,
)
from services.console.domain.formatting import BEIJING
from services.console.service_layer.ports import Api
from services.segments.domain.rules import MemberFacts
from services.segments.entrypoints.http import app as segments_app_module
from services.segments.settings import SegmentsSettings
from shared.identity import ALL_ACCOUNTS, CLI_ACTOR, AuditQuery, Directory
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.segments_api import InMemorySegmentsApi
from tests.unit.console.stack import APPID, console_client

#: name: (role, account, password)
OPERATORS = {
    "ada": ("admin", ALL_ACCOUNTS),
    "hana": ("sales_head", ALL_ACCOUNTS),
    "mia": ("account_manager", ALL_ACCOUNTS),
    "max": ("account_manager", ALL_ACCOUNTS),
    "olga": ("account_manager", ALL_ACCOUNTS),
    "pete": ("project_manager", APPID),
    "rita": ("reviewer", APPID),
}


FORMULA = "interest.feeding.formula"


def _password(name: str) -> str:
    return f"{name}-password-brands-0"


class Clock:
    """The brands API's clock: now, until a test moves it on."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


@dataclass
class BrandsConsole:
    client: httpx.AsyncClient
    directory: Directory
    service: Brands
    clock: Clock
    ids: dict[str, str] = field(default_factory=dict)

    async def sign_in(self, name: str) -> None:
        self.client.cookies.clear()
        answer = await self.client.post("/login", data={"name": name, "password": _password(name), "next": "/"})
        assert answer.status_code == 303, answer.text

    async def csrf(self) -> str:
        page = await self.client.get("/brands")
        marker = 'name="csrf-token" content="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]

    async def post(self, url: str, **fields: str) -> httpx.Response:
        """A plain form's post (the hidden CSRF field, as the browser sends it)."""
        return await self.client.post(url, data={"csrf_token": await self.csrf(), **fields})


@pytest.fixture
def segments_api(monkeypatch: pytest.MonkeyPatch) -> InMemorySegmentsApi:
    """The segments API's stores (the push composer's pages), over two members of a formula segment."""
    api = InMemorySegmentsApi(lambda: [MemberFacts(appid=APPID, openid=f"o_{i}", tags={FORMULA: 1.0}) for i in (1, 2)])
    monkeypatch.setattr(segments_app_module, "bootstrap_api", api.bootstrap)
    return api


@pytest.fixture
async def console(segments_api: InMemorySegmentsApi) -> AsyncIterator[BrandsConsole]:
    directory = cheap_directory()
    ids: dict[str, str] = {}
    for name, (role, appid) in OPERATORS.items():
        operator = await directory.create_operator(CLI_ACTOR, name, password=_password(name))
        await directory.grant(CLI_ACTOR, name, role, appid)
        ids[name] = operator.id
    uow = InMemoryBrandsUnitOfWork()
    clock = Clock()
    brands = create_brands_app(
        BrandsSettings(environment="development"), clock=clock, identity=identity_config(directory), uow=lambda: uow
    )
    segments = segments_app_module.create_app(
        SegmentsSettings(environment="development", wechat_accounts=[account(APPID)]),
        identity=identity_config(directory),
    )
    async with console_client(directory, {Api.BRANDS: brands, Api.SEGMENTS: segments}) as client:
        service: Brands = brands.state.service
        # Hana heads the East team: Mia and Max. Olga is in no team of hers.
        await service.use_cases.create_team("East", ids["hana"], [ids["mia"], ids["max"]])
        yield BrandsConsole(client, directory, service, clock, ids)


def _today() -> date:
    return datetime.now(UTC).astimezone(BEIJING).date()


async def _brand(console: BrandsConsole, name: str, **fields: str) -> str:
    answer = await console.post("/brands/new", name=name, **fields)
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/brands/(\w+)\?done=brand_created", answer.headers["location"])
    assert match, answer.headers["location"]
    return match.group(1)


async def _project(console: BrandsConsole, brand_id: str, **fields: str) -> str:
    today = _today()
    form = {
        "name": "二段奶粉春季",
        "appid": APPID,
        "target_deliveries": "100",
        "target_clicks": "",
        "starts_on": (today - timedelta(days=3)).isoformat(),
        "ends_on": (today + timedelta(days=6)).isoformat(),
        "price": "12,000.50",
        "manager": "",
        "status": "active",
    } | fields
    answer = await console.post(f"/brands/{brand_id}/projects/new", **form)
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/brands/projects/(\w+)\?done=project_created", answer.headers["location"])
    assert match, answer.headers["location"]
    return match.group(1)


def _deliveries(project_id: str) -> list[tuple[str, DeliveryFact]]:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return [
        *[(f"d{i}", DeliveryFact("delivered", project_id, "push_a", "seg_1", yesterday)) for i in range(30)],
        *[(f"e{i}", DeliveryFact("delivered", project_id, "push_b", "seg_2", yesterday)) for i in range(10)],
        ("c1", DeliveryFact("clicked", project_id, "push_a", "seg_1", yesterday, True)),
        ("c2", DeliveryFact("clicked", project_id, "push_a", "seg_1", yesterday, True)),
        ("c3", DeliveryFact("clicked", project_id, "push_a", "seg_1", yesterday, False)),
    ]


# -- pure helpers --------------------------------------------------------------------------------------


def test_money_is_typed_in_yuan_and_kept_in_fen() -> None:
    assert fen_of("12,000.50") == 1_200_050 and fen_of("¥800") == 80_000 and fen_of("") == 0
    assert fen_of("12.345") == "12.345" and fen_of("lots") == "lots"  # the API names the field
    assert yuan(1_200_050) == "¥12,000.50" and yuan(80_000) == "¥800" and yuan(None) == "—"


def test_deals_move_forward_or_to_lost_and_stop_when_closed() -> None:
    assert next_stages("proposal") == ["signed", "delivering", "renewed", "lost"]
    assert next_stages("renewed") == [] and next_stages("lost") == []


def test_the_forms_become_the_api_bodies() -> None:
    form = ProjectForm.parse({"name": " x ", "appid": "wx1", "target_deliveries": "1,000", "price": "9.9"})
    body = form.body()
    assert body["target_deliveries"] == 1000 and body["price_fen"] == 990 and body["target_clicks"] is None
    assert body["status"] == "draft" and "manager_id" not in body
    edited = ProjectForm.parse({"name": "x", "target_clicks": "", "status": "ended", "version": "3"}).patch()
    assert edited["target_clicks"] is None and edited["status"] == "ended" and edited["version"] == 3
    assert BrandForm.parse({"name": "贝贝", "owner": "mia"}).body() == {
        "name": "贝贝",
        "industry": None,
        "owner_id": "mia",
    }
    chart = funnel_chart([{"stage": "lead", "count": 2, "value_fen": 100}], {"lead": "线索"})
    assert chart["stages"][0] == "线索" and chart["counts"] == [2, 0, 0, 0, 0, 0] and chart["keys"][-1] == "lost"


# -- brands ---------------------------------------------------------------------------------------------


async def test_a_manager_opens_the_business_view_and_creates_a_brand(console: BrandsConsole) -> None:
    await console.sign_in("mia")
    home = await console.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/business"
    empty = await console.client.get("/brands")
    assert empty.status_code == 200 and 'data-testid="brand-list-empty"' in empty.text
    assert 'data-nav="business"' in empty.text and 'data-nav="brands"' in empty.text and "业务看板" in empty.text

    brand_id = await _brand(console, "贝亲", industry="婴幼儿奶粉")
    page = await console.client.get(f"/brands/{brand_id}?done=brand_created")
    assert page.status_code == 200 and "品牌已创建" in page.text
    assert 'data-testid="brand-title"' in page.text and "贝亲" in page.text
    assert ">mia<" in page.text  # the owner by name
    assert 'data-testid="handover"' not in page.text  # no brand:assign

    listing = await console.client.get("/brands")
    assert 'data-testid="brand-row"' in listing.text and "tier-C" in listing.text and "婴幼儿奶粉" in listing.text
    assert "¥0" in listing.text  # no payment received yet


async def test_a_manager_sees_only_their_brands_and_the_api_refusal_is_shown(console: BrandsConsole) -> None:
    await console.sign_in("max")
    theirs = await _brand(console, "Kidsy")
    await console.sign_in("mia")
    await _brand(console, "贝亲")
    listing = await console.client.get("/brands")
    assert "贝亲" in listing.text and "Kidsy" not in listing.text
    refused = await console.client.get(f"/brands/{theirs}")
    assert refused.status_code == 404 and 'data-testid="error-message"' in refused.text
    # A sales head sees the brands of the managers of their team.
    await console.sign_in("hana")
    listing = await console.client.get("/brands")
    assert "贝亲" in listing.text and "Kidsy" in listing.text
    by_owner = await console.client.get("/brands", params={"owner": console.ids["max"]})
    assert "Kidsy" in by_owner.text and "贝亲" not in by_owner.text
    # Without brand:view: no navigation entry, and the API's 403 as the page.
    await console.sign_in("rita")
    page = await console.client.get(f"/accounts/{APPID}")
    assert 'data-nav="business"' not in page.text
    forbidden = await console.client.get("/brands")
    assert forbidden.status_code == 403 and "没有执行此操作的权限" in forbidden.text


async def test_a_brand_is_edited_and_a_taken_name_is_shown_by_the_field(console: BrandsConsole) -> None:
    await console.sign_in("mia")
    first = await _brand(console, "贝亲")
    await _brand(console, "Kidsy")
    form = await console.client.get(f"/brands/{first}/edit")
    assert form.status_code == 200 and 'value="贝亲"' in form.text
    taken = await console.post(f"/brands/{first}/edit", name="Kidsy", industry="", version="1")
    assert taken.status_code == 409 and "field-error" in taken.text
    saved = await console.post(f"/brands/{first}/edit", name="贝贝", industry="奶粉", version="1")
    assert saved.status_code == 303 and saved.headers["location"] == f"/brands/{first}?done=brand_saved"
    stale = await console.post(f"/brands/{first}/edit", name="贝贝2", industry="", version="1")
    assert stale.status_code == 409 and 'value="贝贝2"' in stale.text  # what was typed stays


async def test_deals_move_through_the_funnel_and_payments_are_marked_received(console: BrandsConsole) -> None:
    await console.sign_in("mia")
    brand_id = await _brand(console, "贝亲")
    added = await console.post(f"/brands/{brand_id}/deals", stage="proposal", value="50000", expected_close_on="")
    assert added.status_code == 303
    page = await console.client.get(f"/brands/{brand_id}")
    deal_id = re.search(r'data-deal-id="(\w+)" data-stage="proposal"', page.text)
    assert deal_id and "¥50,000" in page.text
    moved = await console.post(f"/brands/{brand_id}/deals/{deal_id.group(1)}/stage", stage="signed", version="1")
    assert moved.status_code == 303
    page = await console.client.get(f"/brands/{brand_id}")
    assert 'data-stage="signed"' in page.text and "已签约" in page.text
    backwards = await console.post(f"/brands/{brand_id}/deals/{deal_id.group(1)}/stage", stage="lead")
    assert backwards.status_code == 409 and "冲突" in backwards.text  # the API's refusal, on the page

    overdue = (_today() - timedelta(days=5)).isoformat()
    assert (await console.post(f"/brands/{brand_id}/payments", amount="8000", due_on=overdue)).status_code == 303
    page = await console.client.get(f"/brands/{brand_id}")
    payment_id = re.search(r'data-payment-id="(\w+)" class="overdue"', page.text)
    assert payment_id and 'data-testid="overdue"' in page.text and "¥8,000" in page.text
    bad = await console.post(f"/brands/{brand_id}/payments", amount="-5", due_on=overdue)
    assert bad.status_code == 422 and "field-error" in bad.text
    received = await console.post(
        f"/brands/{brand_id}/payments/{payment_id.group(1)}/received", received_on=_today().isoformat()
    )
    assert received.status_code == 303
    page = await console.client.get(f"/brands/{brand_id}")
    assert 'class="overdue"' not in page.text and "已回款" in page.text


async def test_a_sales_head_hands_a_brand_over_with_a_reason_and_it_is_audited(console: BrandsConsole) -> None:
    await console.sign_in("mia")
    brand_id = await _brand(console, "贝亲")
    refused = await console.post(f"/brands/{brand_id}/handover", to="max", reason="leave")
    assert refused.status_code == 403 and "没有执行此操作的权限" in refused.text  # brand:assign is the head's
    await console.sign_in("hana")
    page = await console.client.get(f"/brands/{brand_id}")
    assert 'data-testid="handover-form"' in page.text and "data-confirm=" in page.text
    outside = await console.post(f"/brands/{brand_id}/handover", to="olga", reason="rebalance")
    # Posted past the choices (only the head's team is offered): the API's 422, beside the field.
    assert outside.status_code == 422 and "field-error" in outside.text and ">olga<" not in outside.text
    assert re.search(r'<option value="op_\w+" >max</option>', page.text)
    done = await console.post(f"/brands/{brand_id}/handover", to="max", reason="mia is on leave")
    assert done.status_code == 303 and "done=handed_over" in done.headers["location"]
    page = await console.client.get(f"/brands/{brand_id}?done=handed_over")
    assert "品牌已移交" in page.text and re.search(r'data-testid="brand-owner"><span[^>]*>max<', page.text)
    (entry,) = await console.directory.audit_log.query(AuditQuery(action="brand.handed_over"))
    assert entry.actor_id == console.ids["hana"] and entry.after is not None
    assert entry.after["reason"] == "mia is on leave"


# -- projects -------------------------------------------------------------------------------------------


async def test_a_project_is_created_shows_its_progress_and_its_value_report(console: BrandsConsole) -> None:
    await console.sign_in("mia")
    brand_id = await _brand(console, "贝亲")
    form = await console.client.get(f"/brands/{brand_id}/projects/new")
    assert form.status_code == 200 and f'value="{APPID}"' in form.text
    invalid = await console.post(
        f"/brands/{brand_id}/projects/new",
        name="x",
        appid=APPID,
        target_deliveries="0",
        starts_on="2026-01-10",
        ends_on="2026-01-01",
        price="1",
    )
    assert invalid.status_code == 422 and "field-error" in invalid.text
    project_id = await _project(console, brand_id)
    page = await console.client.get(f"/brands/projects/{project_id}")
    assert page.status_code == 200 and "二段奶粉春季" in page.text and "¥12,000.50" in page.text
    assert 'id="progress-chart-data"' in page.text and "还没有送达" in page.text

    assert await console.service.record_deliveries(_deliveries(project_id)) == 43
    page = await console.client.get(f"/brands/projects/{project_id}")
    assert re.search(r'data-testid="tile-delivered">\s*<div class="tile-value">40<', page.text)
    assert "40.0%" in page.text and "push_a" in page.text and "seg_2" in page.text
    chart = re.search(r'<script type="application/json" id="progress-chart-data">(.*?)</script>', page.text, re.S)
    assert chart and '"target": 100' in chart.group(1) and "40" in chart.group(1)

    report = await console.client.get(f"/brands/projects/{project_id}/report")
    assert report.status_code == 200
    for expected in ("价值报告", "贝亲", "二段奶粉春季", "生成时间", "@page" if False else "report-by-day"):
        assert expected in report.text
    assert re.search(r'data-testid="report-delivered">40<', report.text)
    assert re.search(r'data-testid="report-click-rate">5.0%<', report.text)  # 2 clickers / 40
    assert 'href="/static/brands.css"' in report.text and "data-print" in report.text

    csv = await console.client.get(f"/brands/projects/{project_id}/report.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff") and "贝亲" in text and "push_a,30,3,2" in text

    edit = await console.client.get(f"/brands/projects/{project_id}/edit")
    assert edit.status_code == 200 and 'value="12000.50"' in edit.text
    saved = await console.post(
        f"/brands/projects/{project_id}/edit",
        **{
            "name": "二段奶粉春季",
            "appid": APPID,
            "target_deliveries": "200",
            "target_clicks": "10",
            "starts_on": (_today() - timedelta(days=3)).isoformat(),
            "ends_on": (_today() + timedelta(days=6)).isoformat(),
            "price": "12000.50",
            "manager": "mia",
            "status": "active",
            "version": "1",
        },
    )
    assert saved.status_code == 303, saved.text
    page = await console.client.get(f"/brands/projects/{project_id}")
    assert "20.0%" in page.text and "目标 10" in page.text


async def test_the_project_page_and_the_report_name_pushes_and_segments_from_the_deliveries(
    console: BrandsConsole,
) -> None:
    # An account manager may not read the segments API: the names come with the deliveries.
    await console.sign_in("mia")
    project_id = await _project(console, await _brand(console, "贝亲"))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    facts = [
        (
            "n1",
            DeliveryFact(
                "delivered",
                project_id,
                "push_a",
                "seg_1",
                yesterday,
                push_name="十一月奶粉试用",
                segment_name="孕晚期妈妈",
            ),
        ),
        ("n2", DeliveryFact("delivered", project_id, "push_b", "seg_2", yesterday)),  # counted before names: the id
    ]
    assert await console.service.record_deliveries(facts) == 2

    page = await console.client.get(f"/brands/projects/{project_id}")
    by_push = re.search(r'data-testid="by-push">(.*?)</table>', page.text, re.S)
    by_segment = re.search(r'data-testid="by-segment">(.*?)</table>', page.text, re.S)
    assert by_push and by_segment
    assert '<td title="push_a">十一月奶粉试用 <small class="muted" data-testid="push-id">push_a</small></td>' in (
        by_push.group(1)
    )
    assert '<td title="push_b">push_b</td>' in by_push.group(1)  # no name known: the id, once
    assert '<td title="seg_1">孕晚期妈妈 <small class="muted" data-testid="segment-id">seg_1</small></td>' in (
        by_segment.group(1)
    )

    report = await console.client.get(f"/brands/projects/{project_id}/report")
    assert '<td title="push_a">十一月奶粉试用</td>' in report.text and '<td title="push_b">push_b</td>' in report.text
    assert '<td title="seg_1">孕晚期妈妈</td>' in report.text
    csv = (await console.client.get(f"/brands/projects/{project_id}/report.csv")).content.decode("utf-8-sig")
    assert "十一月奶粉试用,push_a,1,0,0" in csv and "孕晚期妈妈,seg_1,1,0" in csv


async def test_another_managers_project_and_its_report_are_refused(console: BrandsConsole) -> None:
    await console.sign_in("olga")
    project_id = await _project(console, await _brand(console, "Olga's"))
    await console.sign_in("mia")
    for path in ("", "/report", "/report.csv", "/edit"):
        answer = await console.client.get(f"/brands/projects/{project_id}{path}")
        assert answer.status_code == 404, path


# -- the business view ----------------------------------------------------------------------------------


async def test_the_business_view_shows_targets_payments_funnel_tiers_and_inactive_brands(
    console: BrandsConsole,
) -> None:
    await console.sign_in("mia")
    beibei = await _brand(console, "贝亲")
    project_id = await _project(console, beibei)
    await console.service.record_deliveries(_deliveries(project_id))
    await console.post(f"/brands/{beibei}/payments", amount="8000", due_on=(_today() - timedelta(days=2)).isoformat())
    await console.post(f"/brands/{beibei}/deals", stage="lead", value="1000")
    await console.sign_in("max")
    await _brand(console, "Kidsy")

    await console.sign_in("hana")
    page = await console.client.get("/business")
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="manager-ranking"' in text and ">mia<" in text and ">max<" in text
    assert 'data-testid="team-figures"' in text and "East" in text
    assert 'data-testid="payment-overdue"' in text and "tile-danger" in text
    assert 'id="funnel-chart-data"' in text and "线索" in text
    assert re.search(r'data-testid="tier-C">2<', text)
    assert 'data-testid="renewals"' in text and "二段奶粉春季" in text
    assert "aria-current" in text and 'data-testid="period-quarter"' in text
    quarter = await console.client.get("/business", params={"period": "quarter"})
    assert quarter.status_code == 200 and re.search(r"\d{4}-Q[1-4]", quarter.text)
    earlier = await console.client.get("/business", params={"period": "month", "at": "2026-01-15"})
    assert earlier.status_code == 200 and "2026-01" in earlier.text
    bad = await console.client.get("/business", params={"at": "someday"})
    assert bad.status_code == 422

    # Forty days without activity: every brand flagged for hand-over.
    console.clock.shift = timedelta(days=40)
    later = await console.client.get("/business")
    assert 'data-testid="inactive-brands"' in later.text and 'data-testid="hand-over-link"' in later.text
    listing = await console.client.get("/brands", params={"inactive": "1"})
    assert 'data-testid="inactive-flag"' in listing.text and "Kidsy" in listing.text


async def test_the_business_view_is_the_api_refusal_without_brand_view(console: BrandsConsole) -> None:
    await console.sign_in("pete")
    answer = await console.client.get("/business")
    assert answer.status_code == 403 and 'data-testid="error-message"' in answer.text


# -- the push composer ----------------------------------------------------------------------------------


async def test_a_push_is_composed_for_a_brand_project_and_shows_it(
    console: BrandsConsole, segments_api: InMemorySegmentsApi
) -> None:
    await console.sign_in("mia")
    brand_id = await _brand(console, "贝亲")
    active = await _project(console, brand_id)
    await _project(console, brand_id, name="草稿项目", status="draft")
    segment = (await segments_api.segments.create(APPID, "formula", "", {"has_tag": FORMULA})).id

    await console.sign_in("pete")  # a project manager: composes pushes, sees no brand
    composer = await console.client.get(f"/accounts/{APPID}/pushes/new")
    assert composer.status_code == 200 and 'data-testid="push-project"' in composer.text
    assert f'<option value="{active}" >贝亲 · 二段奶粉春季</option>' in composer.text
    assert "草稿项目" not in composer.text  # only active projects are offered
    base = f"/accounts/{APPID}/pushes"
    draft = {
        "name": "奶粉试用",
        "segment_id": segment,
        "project_id": active,
        "v-0-name": "A",
        "v-0-weight": "1",
        "v-0-kind": "text",
        "v-0-text": "新品试用",
        "when": "now",
        "quiet": "none",
        "action": "draft",
    }
    saved = await console.client.post(f"{base}/new", data={"csrf_token": await _account_csrf(console), **draft})
    assert saved.status_code == 303, saved.text
    push_id = saved.headers["location"].rsplit("/", 1)[1]
    assert segments_api.pushes.pushes[push_id]["project_id"] == active
    page = await console.client.get(f"{base}/{push_id}")
    assert re.search(r'data-testid="push-project">贝亲 · 二段奶粉春季<', page.text)  # named, no link for pete
    edit = await console.client.get(f"{base}/{push_id}/edit")
    assert f'<option value="{active}" selected>' in edit.text
    unlinked = draft | {"project_id": "", "version": "1"}
    again = await console.client.post(
        f"{base}/{push_id}/edit", data={"csrf_token": await _account_csrf(console), **unlinked}
    )
    assert again.status_code == 303, again.text
    assert segments_api.pushes.pushes[push_id].get("project_id") is None

    await console.sign_in("ada")  # who may see brands follows the link to the project
    linked = draft | {"name": "第二条"}
    second = await console.client.post(f"{base}/new", data={"csrf_token": await _account_csrf(console), **linked})
    page = await console.client.get(second.headers["location"])
    assert f'href="/brands/projects/{active}"' in page.text
    project_page = await console.client.get(f"/brands/projects/{active}")
    assert 'data-testid="project-pushes"' in project_page.text
    assert "第二条" in project_page.text and "奶粉试用" not in project_page.text  # the first one was unlinked
    await console.sign_in("mia")  # no push:view on the account: no such section
    assert 'data-testid="project-pushes"' not in (await console.client.get(f"/brands/projects/{active}")).text


async def _account_csrf(console: BrandsConsole) -> str:
    page = await console.client.get(f"/accounts/{APPID}/pushes")
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


async def test_the_brand_list_is_paged_and_keeps_its_filters(console: BrandsConsole) -> None:
    mia = Viewer(console.ids["mia"])
    for n in range(53):
        await console.service.use_cases.create_brand(
            mia, datetime.now(UTC), name=f"品牌{n:02d}", industry=None, owner_id=None
        )
    await console.sign_in("mia")
    first = await console.client.get("/brands", params={"tier": "C"})
    assert first.text.count('data-testid="brand-row"') == 50
    assert 'href="/brands?tier=C&amp;page=2"' in first.text and "第 1–50 条，共 53 条" in first.text
    second = await console.client.get("/brands", params={"tier": "C", "page": "2"})
    assert second.text.count('data-testid="brand-row"') == 3 and 'href="/brands?tier=C" rel="prev"' in second.text


async def test_the_pages_speak_english_too(console: BrandsConsole) -> None:
    await console.sign_in("hana")
    console.client.cookies.set("scrm_lang", "en")
    brand_id = await _brand(console, "Kidsy")
    project_id = await _project(console, brand_id, name="Spring")
    expected = {
        "/business": "Business view",
        "/brands": "Spend (12 months)",
        f"/brands/{brand_id}": "Hand over to another manager",
        f"/brands/{brand_id}/projects/new": "Target deliveries",
        f"/brands/projects/{project_id}": "Completion against target",
        f"/brands/projects/{project_id}/report": "Print or save as PDF",
    }
    for path, text in expected.items():
        page = await console.client.get(path)
        assert page.status_code == 200 and text in page.text and '<html lang="en">' in page.text, path
    assert "<kbd>g b</kbd>" in page.text


def test_the_completion_chart_runs_the_target_line_to_the_projects_last_day() -> None:
    progress = {
        "target": 10,
        "project": {"starts_on": "2026-12-01", "ends_on": "2026-12-05"},
        "series": [
            {
                "day": "2026-12-01",
                "delivered": 1,
                "clicks": 0,
                "delivered_total": 1,
                "clicks_total": 0,
                "target_line": 2,
            },
            {
                "day": "2026-12-02",
                "delivered": 3,
                "clicks": 1,
                "delivered_total": 4,
                "clicks_total": 1,
                "target_line": 4,
            },
        ],
    }
    chart = progress_chart(progress)
    assert chart["days"] == [f"2026-12-0{d}" for d in range(1, 6)]
    assert chart["target_line"] == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert chart["delivered_total"] == [1, 4, None, None, None] and chart["target"] == 10


async def test_every_project_in_ones_scope_is_listed_and_filtered(console: BrandsConsole) -> None:
    await console.sign_in("mia")
    brand_id = await _brand(console, "贝亲")
    await _project(console, brand_id, name="进行中的项目")
    await _project(console, brand_id, name="草稿项目", status="draft")
    await console.sign_in("olga")
    await _project(console, await _brand(console, "Olga's"), name="别人的项目")
    await console.sign_in("mia")
    listing = await console.client.get("/brands/projects")
    assert listing.status_code == 200 and listing.text.count('data-testid="all-projects-row"') == 2
    assert "别人的项目" not in listing.text and 'aria-current="page" data-testid="tab-projects"' in listing.text
    active = await console.client.get("/brands/projects", params={"status": "active"})
    assert "进行中的项目" in active.text and "草稿项目" not in active.text
