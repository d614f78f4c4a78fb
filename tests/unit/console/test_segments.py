"""The console's segment pages over the real segments API (its routers, use cases and live index, with
the in-memory stores and a fixed set of members), in process, signed in through the real identity API."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from services.console.domain import segment_rules as rules
from services.console.service_layer.ports import Api
from services.segments.domain.rules import MemberFacts
from services.segments.entrypoints.http import app as segments_app_module
from services.segments.settings import SegmentsSettings
from shared.identity import CLI_ACTOR
from tests.accounts import account
from tests.identities import cheap_directory, identity_config
from tests.unit.console.conftest import APPID, ConsoleUnderTest, _seed
from tests.unit.console.segments_api import InMemorySegmentsApi
from tests.unit.console.stack import console_client

FORMULA = "interest.feeding.formula"
TOYS = "interest.toys"
ANALYST_PASSWORD = "ana-password-0001"
CAMPAIGNS = [{"id": "camp_spring", "name": "春季拉新", "status": "active", "ends_at": "2026-12-31T00:00:00Z"}]


def _members() -> list[MemberFacts]:
    """Six members of wx1 like formula, the first two also toys; one of wx2 likes formula."""
    members = [
        MemberFacts(
            appid=APPID,
            openid=f"o_member_{i}",
            tags={FORMULA: 1.0, **({TOYS: 2.0} if i < 2 else {})},
            consents=frozenset({"marketing"}) if i % 2 == 0 else frozenset(),
        )
        for i in range(6)
    ]
    return [*members, MemberFacts(appid="wx2", openid="o_other", tags={FORMULA: 1.0})]


class SegmentsApi(InMemorySegmentsApi):
    """The stores behind the segments API under test, to look at or seed (pushes)."""

    def __init__(self) -> None:
        super().__init__(_members)

    async def add_push(self, segment_id: str, status: str) -> None:
        await self.pushes.insert(
            {
                "_id": f"push_{status}",
                "appid": APPID,
                "name": f"{status} push",
                "segment_id": segment_id,
                "status": status,
                "created_at": datetime.now(UTC),
                "send_at": datetime.now(UTC),
                "variants": [{"name": "A", "weight": 1, "message": {"kind": "text", "text": "hi"}}],
                "cap": {"per_day": 1, "per_week": 3},
            }
        )


def _campaigns(request: httpx.Request) -> httpx.Response:
    if request.url.path == f"/accounts/{APPID}/campaigns":
        return httpx.Response(200, json={"items": CAMPAIGNS, "limit": 200, "offset": 0})
    return httpx.Response(404, json={"detail": "not found"})


@pytest.fixture
def segments_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SegmentsApi]:
    api = SegmentsApi()
    monkeypatch.setattr(segments_app_module, "bootstrap_api", api.bootstrap)
    yield api


@pytest.fixture
async def console(segments_api: SegmentsApi) -> AsyncIterator[ConsoleUnderTest]:
    directory = cheap_directory()
    await _seed(directory)
    await directory.create_operator(CLI_ACTOR, "ana", password=ANALYST_PASSWORD)
    await directory.grant(CLI_ACTOR, "ana", "analyst", APPID)

    segments = segments_app_module.create_app(
        SegmentsSettings(environment="development", wechat_accounts=[account(APPID), account("wx2")]),
        identity=identity_config(directory),
    )
    apps: dict[Api, FastAPI | httpx.AsyncBaseTransport] = {
        Api.SEGMENTS: segments,
        Api.CAMPAIGNS: httpx.MockTransport(_campaigns),
    }
    accounts = [{"appid": APPID, "name": "贝贝母婴"}, {"appid": "wx2"}]
    async with console_client(directory, apps, official_accounts=accounts) as client:
        yield ConsoleUnderTest(client, directory)


async def _htmx(console: ConsoleUnderTest) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": await console.csrf()}


async def _post(console: ConsoleUnderTest, url: str, items: list[tuple[str, str]] | None = None) -> httpx.Response:
    """An HTMX post of the form's fields, repeated names and all, in the page's order."""
    headers = {**await _htmx(console), "Content-Type": "application/x-www-form-urlencoded"}
    return await console.client.post(url, content=urlencode(items or []), headers=headers)


def _form(tree: rules.Node, **fields: str) -> list[tuple[str, str]]:
    """The form fields the builder renders for ``tree`` (as a browser would post them)."""
    items: list[tuple[str, str]] = list(fields.items())

    def walk(node: rules.Node, place: str) -> None:
        items.extend([("node", place), (f"k.{place}", node.kind)])
        for name, value in node.params.items():
            for one in value if isinstance(value, list) else [value]:
                items.append((f"v.{place}.{name}", one))
        for i, child in enumerate(node.children):
            walk(child, f"{place}.{i}")

    walk(tree, rules.ROOT)
    return items


def _tree(*conditions: rules.Node, kind: str = "all") -> rules.Node:
    return rules.Node(kind, children=list(conditions))


def _tag(code: str) -> rules.Node:
    return rules.Node("has_tag", params={"code": code})


def _size(html: str) -> int:
    found = re.search(r'data-testid="segment-size">([\d,]+)<', html)
    assert found, html
    return int(found.group(1).replace(",", ""))


async def _create(console: ConsoleUnderTest, name: str, tree: rules.Node) -> str:
    reply = await _post(console, f"/accounts/{APPID}/segments/new", _form(tree, name=name))
    assert reply.status_code == 204, reply.text
    location = reply.headers["HX-Redirect"]
    assert location.startswith(f"/accounts/{APPID}/segments/seg")
    return location.rsplit("/", 1)[1]


# -- the model ------------------------------------------------------------------------------------------


def test_a_rule_goes_to_the_form_and_back_unchanged() -> None:
    rule = {
        "all": [
            {"has_tag": FORMULA},
            {"any": [{"tag_weight": {"code": TOYS, "min": 1.5}}, {"stage_in": ["stage.pregnancy.late"]}]},
            {"not": {"any": [{"consent": "marketing"}, {"spend_tier": ["spend.a", "spend.b"]}]}},
            {"not": {"all": [{"account": "wx1"}, {"followed_before": "2026-01-01"}]}},
            {"pregnancy_week": {"min": 28}},
            {"invited_at_least": {"count": 3, "campaign": "c1"}},
            {"invited_at_least": {"count": 1}},
            {"active_within_days": 7},
            {"joined_campaign": "c1"},
            {"future_predicate": {"x": 1}},
        ]
    }
    tree = rules.from_rule(rule)
    assert rules.to_rule(rules.from_form(_form(tree))).rule == rule


def test_edits_add_and_remove_conditions_and_groups() -> None:
    tree = rules.apply(rules.apply(rules.new_tree(), "add:r"), "group:r")
    assert [child.kind for child in tree.children] == ["has_tag", "has_tag", "any"]
    assert [child.kind for child in tree.children[2].children] == ["has_tag"]
    tree = rules.apply(rules.apply(tree, "remove:r.0"), "remove:r")  # the root stays
    assert [child.kind for child in tree.children] == ["has_tag", "any"]
    assert rules.apply(tree, "remove:r.9") is tree and len(tree.children) == 2


def test_the_apis_problems_land_on_their_conditions() -> None:
    built = rules.to_rule(_tree(_tag(FORMULA), _tree(_tag(""), kind="not")))
    assert built.rule == {"all": [{"has_tag": FORMULA}, {"not": {"has_tag": ""}}]}
    detail = [
        {
            "loc": ["body", "rule", "all[1]", "not", "has_tag"],
            "msg": "expected a tag code",
            "path": "rule.all[1].not.has_tag",
        }
    ]
    assert rules.problems_by_place(detail, built.places) == {"r.1.0": ["expected a tag code"]}


# -- the pages ------------------------------------------------------------------------------------------


async def test_the_list_shows_size_version_and_the_summary_in_the_operators_language(
    console: ConsoleUnderTest,
) -> None:
    await console.sign_in("ada")
    empty = await console.client.get(f"/accounts/{APPID}/segments")
    assert empty.status_code == 200 and "还没有人群" in empty.text, empty.text[-1500:]
    await _create(console, "奶粉妈妈", _tree(_tag(FORMULA)))
    page = (await console.client.get(f"/accounts/{APPID}/segments")).text
    assert "奶粉妈妈" in page and '<td class="num">6</td>' in page and "v1" in page
    assert '<td class="num" data-testid="segment-reachable">0</td>' in page  # none of them follows
    assert "有标签「奶粉」" in page
    await console.client.get("/lang/en")
    # Names and codes in both languages (issue 22: English showed codes, Chinese names).
    assert "有标签「奶粉」(interest.feeding.formula)" in page
    english = (await console.client.get(f"/accounts/{APPID}/segments")).text
    assert f"has tag &#34;Formula&#34; ({FORMULA})" in english or f'has tag "Formula" ({FORMULA})' in english


async def test_the_builder_adds_and_removes_conditions_from_the_form_state(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    new = await console.client.get(f"/accounts/{APPID}/segments/new")
    assert new.status_code == 200 and 'data-testid="node-r.0"' in new.text and 'hx-sync="this:replace"' in new.text
    added = await _post(
        console, f"/accounts/{APPID}/segments/builder", [*_form(_tree(_tag(FORMULA))), ("op", "group:r")]
    )
    assert added.status_code == 200
    assert 'data-testid="node-r.1"' in added.text and 'data-testid="node-r.1.0"' in added.text
    assert f'value="{FORMULA}" selected' in added.text  # the first condition kept its tag
    assert 'hx-swap-oob="true"' in added.text  # the preview comes along
    removed = await _post(
        console, f"/accounts/{APPID}/segments/builder", [*_form(_tree(_tag(FORMULA), _tag(TOYS))), ("op", "remove:r.0")]
    )
    assert 'data-testid="node-r.1"' not in removed.text and f'value="{TOYS}" selected' in removed.text
    assert _size(removed.text) == 2
    # A kind changed to a campaign condition: the campaigns API's list fills its select.
    campaign = await _post(
        console, f"/accounts/{APPID}/segments/builder", [*_form(_tree(rules.Node("joined_campaign"))), ("op", "kind")]
    )
    assert "春季拉新" in campaign.text and 'name="v.r.0.campaign"' in campaign.text


async def test_the_preview_follows_the_rule_and_names_what_is_incomplete(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    url = f"/accounts/{APPID}/segments/preview"
    wide = await _post(console, url, _form(_tree(_tag(FORMULA))))
    narrow = await _post(console, url, _form(_tree(_tag(FORMULA), _tag(TOYS))))
    assert (_size(wide.text), _size(narrow.text)) == (6, 2)
    assert f"有标签「奶粉」({FORMULA}) 且 有标签「玩具早教」({TOYS})" in narrow.text and "毫秒" in narrow.text
    # Whom a push would reach of them: none of these members follows the account.
    assert re.search(r'data-testid="reach-reachable">0\b', wide.text)
    assert re.search(r'data-testid="reach-not-following">6<', wide.text)
    assert f'href="/accounts/{APPID}/members/o_member_0"' in narrow.text
    either = _tree(_tag(TOYS), rules.Node("consent", params={"value": "marketing"}), kind="any")
    assert _size((await _post(console, url, _form(either))).text) == 4
    none_of = _tree(_tag(TOYS), kind="not")
    assert _size((await _post(console, url, _form(none_of))).text) == 4
    weight = rules.Node("tag_weight", params={"code": TOYS, "min": "abc"})
    incomplete = await _post(console, url, _form(_tree(weight)))
    assert 'data-testid="preview-incomplete"' in incomplete.text and "in tenths" in incomplete.text


async def test_saving_shows_422s_beside_the_fields_then_saves_versions(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    unnamed = await _post(console, f"/accounts/{APPID}/segments/new", _form(_tree(_tag(FORMULA)), name=""))
    assert unnamed.status_code == 200 and 'id="editor"' in unnamed.text
    assert re.search(r'id="segment-name"[^>]*aria-invalid="true"', unnamed.text)
    untagged = await _post(console, f"/accounts/{APPID}/segments/new", _form(_tree(_tag("")), name="x"))
    beside = r'data-testid="node-r.0".*?class="field-error" role="alert">expected a tag code'
    assert re.search(beside, untagged.text, re.S)
    segment_id = await _create(console, "奶粉妈妈", _tree(_tag(FORMULA)))
    taken = await _post(console, f"/accounts/{APPID}/segments/new", _form(_tree(_tag(FORMULA)), name="奶粉妈妈"))
    assert "exists" in taken.text
    edit = await console.client.get(f"/accounts/{APPID}/segments/{segment_id}/edit")
    assert f'value="{FORMULA}" selected' in edit.text and _size(edit.text) == 6
    saved = await _post(
        console,
        f"/accounts/{APPID}/segments/{segment_id}/edit",
        _form(_tree(_tag(FORMULA), _tag(TOYS)), name="奶粉玩具"),
    )
    assert saved.headers["HX-Redirect"] == f"/accounts/{APPID}/segments/{segment_id}"
    page = (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}")).text
    assert "v2" in page and 'data-testid="view-version-1"' in page and "o_m" in page
    assert re.search(r'data-testid="segment-skipped">\s*<div class="tile-value">2<', page)  # o_member_0/1 follow none
    old = (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}", params={"version": 1})).text
    assert 'data-testid="old-version"' in old and "6 members if used today" not in old  # zh by default
    assert "如今天使用，有 6 人" in old
    from_old = await console.client.get(f"/accounts/{APPID}/segments/{segment_id}/edit", params={"version": 1})
    assert f'value="{TOYS}" selected' not in from_old.text and "从版本 1 开始" in from_old.text


async def test_why_a_member_is_in_the_segment(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    segment_id = await _create(console, "玩具", _tree(_tag(FORMULA), _tag(TOYS)))
    url = f"/accounts/{APPID}/segments/{segment_id}/explain"
    inside = (await console.client.get(url, params={"openid": "o_member_1"})).text
    assert "o_member_1 在此人群中" in inside and inside.count('class="why held"') == 3, inside
    outside = (await console.client.get(url, params={"openid": "o_member_4"})).text
    assert "不在此人群中" in outside and 'class="why not-held"' in outside
    unknown = (await console.client.get(url, params={"openid": "o_nobody"})).text
    assert 'data-testid="explain-problem"' in unknown


async def test_deleting_a_segment_in_use_is_refused_with_the_apis_reason(
    console: ConsoleUnderTest, segments_api: SegmentsApi
) -> None:
    await console.sign_in("ada")
    segment_id = await _create(console, "奶粉妈妈", _tree(_tag(FORMULA)))
    await segments_api.add_push(segment_id, "scheduled")
    page = (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}")).text
    assert 'data-testid="used-by"' in page and "scheduled push" in page
    refused = await _post(console, f"/accounts/{APPID}/segments/{segment_id}/delete")
    assert 'data-testid="delete-refused"' in refused.text and "push_scheduled" in refused.text
    segments_api.pushes.pushes["push_scheduled"]["status"] = "finished"
    deleted = await _post(console, f"/accounts/{APPID}/segments/{segment_id}/delete")
    assert deleted.headers["HX-Redirect"] == f"/accounts/{APPID}/segments"
    assert segment_id not in (await console.client.get(f"/accounts/{APPID}/segments")).text


async def test_an_operator_without_segment_edit_sees_no_edit_buttons_and_the_api_refuses(
    console: ConsoleUnderTest,
) -> None:
    await console.sign_in("ada")
    segment_id = await _create(console, "奶粉妈妈", _tree(_tag(FORMULA)))
    await console.client.post("/logout", data={"csrf_token": await console.csrf()})
    # An analyst: may view segments, not edit them.
    await console.client.post("/login", data={"name": "ana", "password": ANALYST_PASSWORD, "next": "/"})
    page = await console.client.get(f"/accounts/{APPID}/segments/{segment_id}")
    assert page.status_code == 200 and 'data-testid="edit-segment"' not in page.text
    refused = await _post(console, f"/accounts/{APPID}/segments/new", _form(_tree(_tag(FORMULA)), name="x"))
    assert refused.headers.get("X-Status") == "403"


def test_the_form_fields_round_trip_is_stable_for_json_values() -> None:
    raw = rules.from_rule({"all": [{"odd": [1, 2]}]})
    assert json.loads(raw.children[0].raw()) == {"odd": [1, 2]}


EVERY_PREDICATE = {
    "any": [
        {"has_tag": FORMULA},
        {"tag_weight": {"code": TOYS, "min": 1.5}},
        {"stage_in": ["stage.pregnancy.late", "stage.baby.0_6m"]},
        {"pregnancy_week": {"min": 28, "max": 36}},
        {"baby_age_months": {"max": 6}},
        {"followed_since": "2026-01-01"},
        {"followed_before": "2026-06-01"},
        {"active_within_days": 2},
        {"joined_campaign": "camp_spring"},
        {"invited_at_least": {"count": 3, "campaign": "camp_spring"}},
        {"spend_tier": ["spend.a"]},
        {"consent": "data_use"},
        {"not": {"all": [{"account": APPID}, {"consent": "marketing"}]}},
    ]
}


async def test_every_predicate_has_its_inputs_in_the_builder_and_its_words_on_the_page(
    console: ConsoleUnderTest,
) -> None:
    await console.sign_in("ada")
    segment_id = await _create(console, "全部条件", rules.from_rule(EVERY_PREDICATE))
    edit = (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}/edit")).text
    for shown in (
        f'value="{TOYS}" selected',
        'name="v.r.1.min" value="1.5"',
        'value="stage.pregnancy.late" checked',
        'name="v.r.3.max" value="36"',
        'name="v.r.4.min" value=""',
        'type="date" name="v.r.5.day" value="2026-01-01"',
        'name="v.r.7.days" value="2"',
        '<option value="camp_spring" selected>春季拉新',
        'name="v.r.9.count" value="3"',
        'value="spend.a" checked',
        '<option value="data_use" selected>',
        '<option value="wx1" selected>贝贝母婴',
    ):
        assert shown in edit, shown
    page = (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}")).text
    assert "孕晚期（第28周至分娩）, 0-6个月宝宝" in page and "28 – 36" in page and "0 – 6" in page
    # The saved rule is the one built: the form round trip changes nothing.
    saved = await _post(
        console,
        f"/accounts/{APPID}/segments/{segment_id}/edit",
        _form(rules.from_rule(EVERY_PREDICATE), name="全部条件"),
    )
    assert saved.status_code == 204
    versions = (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}", params={"version": 1})).text
    assert "v2" in versions


async def test_without_the_campaign_list_a_campaign_is_typed_by_its_id(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    tree = _tree(rules.Node("joined_campaign", params={"campaign": "camp_x"}))
    builder = await _post(console, "/accounts/wx2/segments/builder", [*_form(tree), ("op", "kind")])
    assert builder.status_code == 200  # the campaigns API answered 404 for wx2: no select, a text box
    assert (
        'name="v.r.0.campaign" value="camp_x" placeholder=' in builder.text
        and '<select name="v.r.0.campaign"' not in builder.text
    )


async def test_two_people_editing_one_segment_get_a_conflict_not_a_silent_overwrite(
    console: ConsoleUnderTest,
) -> None:
    await console.sign_in("ada")
    segment_id = await _create(console, "奶粉妈妈", _tree(_tag(FORMULA)))
    url = f"/accounts/{APPID}/segments/{segment_id}/edit"
    opened = (await console.client.get(url)).text
    assert re.search(r'name="base_version" value="1"', opened)
    mine = await _post(console, url, [*_form(_tree(_tag(TOYS)), name="玩具妈妈"), ("base_version", "1")])
    assert mine.headers["HX-Redirect"] == f"/accounts/{APPID}/segments/{segment_id}"
    # The other editor opened version 1 too: the API refuses (If-Match "1"), the console says why.
    theirs = await _post(console, url, [*_form(_tree(_tag(FORMULA)), name="奶粉妈妈2"), ("base_version", "1")])
    assert theirs.status_code == 200 and "已有人保存了这个人群" in theirs.text
    assert re.search(r'name="base_version" value="2"', theirs.text)  # shown against the newest version
    assert "玩具妈妈" in (await console.client.get(f"/accounts/{APPID}/segments/{segment_id}")).text
    again = await _post(console, url, [*_form(_tree(_tag(FORMULA)), name="奶粉妈妈2"), ("base_version", "2")])
    assert again.headers["HX-Redirect"] == f"/accounts/{APPID}/segments/{segment_id}"
