"""Fuzzing what operators send: the segments rule-tree parser, and the segment, push and campaign payloads
through their APIs (the real apps over their in-memory stores). Valid payloads are mutated (fields
replaced by any JSON, removed, added) and arbitrary JSON is sent; the answer is 2xx or 4xx naming the
problem, never 5xx and never an unhandled exception (the test client re-raises those)."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from services.campaigns.adapters.memory import CampaignRecords
from services.campaigns.domain.graph import Edge
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app as create_campaigns_app
from services.campaigns.settings import CampaignsSettings
from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.domain.profile import Profile
from services.profiles.entrypoints.http import create_app as create_profiles_app
from services.profiles.settings import ProfilesSettings
from services.segments.domain.rules import MemberFacts, RuleInvalid, explain, parse_rule, summarize
from services.segments.entrypoints.http import app as segments_app_module
from services.segments.entrypoints.http import create_app as create_segments_app
from services.segments.settings import SegmentsSettings
from shared.identity import Role
from tests.accounts import account
from tests.identities import Callers
from tests.unit.console.campaigns_api import in_memory_bootstrap
from tests.unit.console.segments_api import InMemorySegmentsApi

APPID = "wx1"
FORMULA = "interest.feeding.formula"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = (datetime.now(UTC) + timedelta(days=1)).isoformat()

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities too: Python's JSON reads and writes them
    st.text(max_size=40),
    st.sampled_from(["", "2026-01-01", "2026-02-30T00:00:00Z", "0001-01-01T00:00:00+14:00", FORMULA, "A" * 300]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a JSON document."""
    found: list[tuple[Any, Any]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += [(doc, key), *_slots(value)]
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += [(doc, index), *_slots(value)]
    return found


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with a few fields replaced by any JSON, removed, or added (or as it is)."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 4))):  # none now and then: the valid payload itself
        slots = _slots(doc)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            container[key] = draw(json_values)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.text(max_size=12))] = draw(json_values)
        else:
            container.append(draw(json_values))
    return doc


def _no_server_error(status: int) -> None:
    assert status < 500, f"answered {status}"


# -- the rule-tree parser, pure -------------------------------------------------------------------------

RULES = [
    {"has_tag": FORMULA},
    {
        "all": [
            {"tag_weight": {"code": FORMULA, "min": 1.5}},
            {"any": [{"stage_in": ["stage.pregnancy.late"]}, {"pregnancy_week": {"min": 28, "max": 36}}]},
            {"not": {"consent": "marketing"}},
            {"baby_age_months": {"max": 6}},
            {"followed_since": "2026-01-01"},
            {"active_within_days": 2},
            {"invited_at_least": {"count": 3, "campaign": "c1"}},
            {"spend_tier": ["spend.a"]},
            {"joined_campaign": "c1"},
            {"account": APPID},
        ]
    },
]
rules = st.one_of(json_values, st.sampled_from(RULES).flatmap(mutated))
MEMBER = MemberFacts(appid=APPID, openid="o1", tags={FORMULA: 2.0}, consents=frozenset({"marketing"}))


@given(rule=rules)
@example(rule={"not": {"not": {"not": {"has_tag": FORMULA}}}})
@example(rule={"tag_weight": {"code": FORMULA, "min": float("nan")}})
@example(rule={"pregnancy_week": {"min": 2**70}})
def test_any_json_is_a_rule_or_a_rule_invalid_with_paths(rule: Any) -> None:
    try:
        parsed = parse_rule(rule, frozenset({FORMULA}))
    except RuleInvalid as invalid:
        assert invalid.problems and all(p.path.startswith("rule") for p in invalid.problems)
        return
    for language in ("en", "zh"):
        assert summarize(parsed, language)
        explain(parsed, MEMBER, NOW, language)


def test_a_rule_nested_past_the_limit_is_invalid_not_a_recursion_error() -> None:
    deep: Any = {"has_tag": FORMULA}
    for _ in range(5000):
        deep = {"not": deep}
    with pytest.raises(RuleInvalid, match="nested deeper"):
        parse_rule(deep)


# -- the segments and campaigns APIs ---------------------------------------------------------------------


@dataclass
class Api:
    client: TestClient
    headers: dict[str, str]

    def send(self, method: str, path: str, body: Any, **headers: str) -> int:
        # As any client could: Python's JSON writes NaN and Infinity, which the server's parser reads.
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = self.headers | {"Content-Type": "application/json"} | headers
        return self.client.request(method, path, content=content, headers=all_headers).status_code


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture(scope="module")
def segments_api(callers: Callers) -> Iterator[Api]:
    members = [MemberFacts(appid=APPID, openid=f"o{i}", tags={FORMULA: 1.0}) for i in range(3)]
    stores = InMemorySegmentsApi(lambda: members)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments_app_module, "bootstrap_api", stores.bootstrap)
        app = create_segments_app(
            SegmentsSettings(environment="development", wechat_accounts=[account(APPID)]), identity=callers.config
        )
        with TestClient(app) as client:
            headers = callers.headers(Role.ADMIN)
            # The pushes below name a segment that exists, so their checks go past the lookup.
            assert client.post(SEGMENTS, json=SEGMENT | {"name": "the pushes' segment"}, headers=headers).json()["id"]
            yield Api(client, headers)


@pytest.fixture(scope="module")
def campaigns_api(callers: Callers) -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(CampaignRecords()))
        app = create_campaigns_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
        with TestClient(app) as client:
            yield Api(client, callers.headers(Role.ADMIN))


SEGMENTS = f"/accounts/{APPID}/segments"
PUSHES = f"/accounts/{APPID}/pushes"
CAMPAIGNS = f"/accounts/{APPID}/campaigns"

SEGMENT = {"name": "formula", "rule": RULES[1]}
PUSH = {
    "name": "guide",
    "segment_id": "seg_x",
    "send_at": LATER,
    "draft": True,
    "variants": [
        {"name": "A", "weight": 70, "message": {"kind": "text", "text": "see https://brand.example/a"}},
        {
            "name": "B",
            "weight": 30,
            "template": {"template_id": "tpl", "data": {"keyword1": "hi"}, "url": "https://brand.example/b"},
        },
    ],
    "quiet_hours": {"start": "22:00", "end": "08:00"},
    "cap": {"per_day": 1, "per_week": 3},
}
CAMPAIGN = {
    "name": "新客邀请",
    "starts_at": "2026-01-01T00:00:00+08:00",
    "ends_at": "2099-01-01T00:00:00+08:00",
    "join": {"follow_qr": True, "keywords": ["邀请"], "menu_keys": ["invite"]},
    "tiers": [{"count": 3, "pool": "gift"}],
    "messages": {"welcome": "欢迎"},
    "rules": {"revoke_if_unfollowed_within_hours": 48, "per_inviter_daily_cap": 10, "blacklist": ["o9"]},
    "share_screenshot_task": True,
    "share_reward_pool": "gift",
}


@given(body=st.one_of(mutated({"rule": RULES[1], "sample": 3}), json_values))
@example(body={"rule": {"has_tag": FORMULA}, "sample": float("nan")})  # NaN echoed in a 422's "input"
@example(body=b"[" * 50_000)
def test_any_segment_preview_body_is_not_a_server_error(segments_api: Api, body: Any) -> None:
    _no_server_error(segments_api.send("POST", f"{SEGMENTS}/preview", body))


@given(body=st.one_of(mutated(SEGMENT), json_values))
def test_any_segment_is_saved_or_refused_never_a_server_error(segments_api: Api, body: Any) -> None:
    _no_server_error(segments_api.send("POST", SEGMENTS, body))


def _push(api: Api) -> dict[str, Any]:
    segments = api.client.get(SEGMENTS, headers=api.headers).json()
    return PUSH | {"segment_id": segments[0]["id"]}


@given(data=st.data())
def test_any_push_is_saved_or_refused_never_a_server_error(segments_api: Api, data: Any) -> None:
    body = data.draw(st.one_of(mutated(_push(segments_api)), json_values))  # the segment's id is known at run time
    _no_server_error(segments_api.send("POST", PUSHES, body))


@pytest.mark.parametrize("send_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-01-01T00:00:00"])
def test_a_push_sent_at_the_ends_of_the_calendar_is_a_422_naming_send_at(segments_api: Api, send_at: str) -> None:
    # Regression: the first two were a 500 (an overflow converting them to UTC).
    reply = segments_api.client.post(
        PUSHES, json=_push(segments_api) | {"send_at": send_at}, headers=segments_api.headers
    )
    assert reply.status_code == 422
    assert "send_at" in json.dumps(reply.json()["detail"])


@given(body=st.one_of(mutated(PUSH), json_values))
def test_any_draft_edit_is_applied_or_refused_never_a_server_error(segments_api: Api, body: Any) -> None:
    created = segments_api.client.post(PUSHES, json=_push(segments_api), headers=segments_api.headers)
    assert created.status_code == 201, created.text
    _no_server_error(segments_api.send("PATCH", f"{PUSHES}/{created.json()['id']}", body, **{"If-Match": '"1"'}))


@given(body=st.one_of(mutated(CAMPAIGN), json_values))
@example(body=CAMPAIGN | {"starts_at": "0001-01-01T00:00:00+14:00"})
def test_any_campaign_is_created_or_refused_never_a_server_error(campaigns_api: Api, body: Any) -> None:
    _no_server_error(campaigns_api.send("POST", CAMPAIGNS, body))


@given(body=st.one_of(mutated(CAMPAIGN | {"version": 1}), json_values))
def test_any_campaign_edit_is_applied_or_refused_never_a_server_error(campaigns_api: Api, body: Any) -> None:
    created = campaigns_api.client.post(CAMPAIGNS, json=CAMPAIGN, headers=campaigns_api.headers)
    assert created.status_code == 201, created.text
    path = f"{CAMPAIGNS}/{created.json()['id']}"
    _no_server_error(campaigns_api.send("PATCH", path, body, **{"If-Match": '"1"'}))


@pytest.fixture(scope="module")
def flagged_api(callers: Callers) -> Iterator[Api]:
    """The campaigns API over an account whose graph holds a ring, its flag kept for review."""
    records = CampaignRecords()
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for n, (inviter, invitee, campaign) in enumerate((("o_A", "o_B", "c1"), ("o_B", "o_A", "c2"))):
        records.edges[f"{campaign}:{invitee}"] = Edge(APPID, campaign, inviter, invitee, at + timedelta(minutes=n))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records))
        app = create_campaigns_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
        with TestClient(app) as client:
            headers = callers.headers(Role.ADMIN)
            assert client.get(f"/accounts/{APPID}/referral-graph/flags", headers=headers).json()["items"]
            yield Api(client, headers)


@given(body=st.one_of(mutated({"status": "dismissed", "note": "friends"}), json_values))
def test_any_flag_review_is_recorded_or_refused_never_a_server_error(flagged_api: Api, body: Any) -> None:
    _no_server_error(flagged_api.send("POST", f"/accounts/{APPID}/referral-graph/flags/ring:o_A/review", body))


# -- what the fuzzing found, as plain regressions: each was a 500 ----------------------------------------


def test_a_nan_in_a_refused_body_is_echoed_as_text_in_the_422(segments_api: Api) -> None:
    reply = segments_api.client.post(
        f"{SEGMENTS}/preview",
        content=b'{"rule": {"has_tag": "interest.feeding.formula"}, "sample": NaN}',
        headers=segments_api.headers | {"Content-Type": "application/json"},
    )
    assert reply.status_code == 422
    assert [(e["loc"], e["input"]) for e in reply.json()["detail"]] == [(["body", "sample"], "nan")]


def test_a_campaign_time_before_year_1_in_utc_is_a_422_naming_the_field(campaigns_api: Api) -> None:
    body = CAMPAIGN | {"starts_at": "0001-01-01T00:00:00+14:00"}
    reply = campaigns_api.client.post(CAMPAIGNS, json=body, headers=campaigns_api.headers)
    assert reply.status_code == 422
    assert [e["loc"] for e in reply.json()["detail"]] == [["body", "starts_at"]]


# -- the template upload: a multipart form this service parses itself, an image, a layout ----------------


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 80)).save(out, format="PNG")
    return out.getvalue()


@st.composite
def images(draw: st.DrawFn) -> bytes:
    """A real PNG or JPEG, cut short, with bytes flipped, or plain noise."""
    # Mostly sizes a template may have (200-1200 px a side), now and then one it may not.
    width, height = draw(st.one_of(st.integers(200, 1200), st.integers(1, 3000))), draw(st.integers(150, 1200))
    data = _png(width, height)
    if draw(st.booleans()):
        out = io.BytesIO()
        Image.new("RGB", (width, height)).save(out, format="JPEG")
        data = out.getvalue()
    match draw(st.sampled_from(["whole", "whole", "cut", "flip", "noise"])):
        case "cut":
            data = data[: draw(st.integers(0, len(data)))]
        case "flip":
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        case "noise":
            data = draw(st.binary(max_size=2048))
    return data


LAYOUT = {"qr": {"x": 10, "y": 10, "size": 200}, "text_slots": [{"name": "nickname", "x": 5, "y": 5, "font_size": 20}]}


@given(
    image=images(),
    layout=st.one_of(st.none(), st.just(json.dumps(LAYOUT)), mutated(LAYOUT).map(json.dumps), st.text(max_size=60)),
    raw=st.one_of(st.none(), st.binary(max_size=512)),
    boundary=st.text(st.characters(codec="ascii"), max_size=80),
)
def test_any_template_upload_is_stored_or_refused_never_a_server_error(
    campaigns_api: Api, image: bytes, layout: str | None, raw: bytes | None, boundary: str
) -> None:
    created = campaigns_api.client.post(CAMPAIGNS, json=CAMPAIGN, headers=campaigns_api.headers)
    path = f"{CAMPAIGNS}/{created.json()['id']}/template"
    headers = campaigns_api.headers | {"If-Match": '"1"'}
    if raw is not None:  # a body that is not the multipart it says it is
        headers |= {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        reply = campaigns_api.client.post(path, content=raw, headers=headers)
    else:
        data = {} if layout is None else {"layout": layout}
        reply = campaigns_api.client.post(path, files={"image": ("p.png", image)}, data=data, headers=headers)
    _no_server_error(reply.status_code)


# -- the profiles operator API: survey definitions and ops tags -----------------------------------------

SURVEY: dict[str, Any] = {
    "title": "宝宝喂养小调查",
    "questions": [
        {
            "id": "feeding",
            "kind": "single",
            "text": "宝宝现在怎么喂养？",
            "options": [
                {"id": "formula", "label": "奶粉", "tags": [FORMULA]},
                {"id": "breast", "label": "母乳", "tags": ["interest.feeding.breastfeeding"]},
            ],
        },
        {"id": "birthday", "kind": "date", "text": "宝宝生日", "stage_basis": "birthday"},
        {"id": "wish", "kind": "text", "text": "想看什么内容？", "required": False},
    ],
    "prizes": [{"id": "c10", "name": "10元券", "kind": "coupon", "probability": 1.0, "stock": 1}],
}


@pytest.fixture(scope="module")
def profiles_api(callers: Callers) -> Iterator[Api]:
    store = InMemoryProfileStore()
    profile = Profile(APPID, "oMum")
    changes = profile.followed(NOW, "qrscene_1")
    settings = ProfilesSettings(environment="development", wechat_accounts=[account(APPID)])
    with TestClient(create_profiles_app(settings, identity=callers.config, store=store, publish=False)) as client:
        client.portal.call(store.save, profile, changes)  # type: ignore[union-attr]
        yield Api(client, callers.headers(Role.ADMIN))


@given(body=st.one_of(mutated(SURVEY), json_values))
def test_any_survey_definition_is_saved_or_refused_never_a_server_error(profiles_api: Api, body: Any) -> None:
    _no_server_error(profiles_api.send("POST", f"/accounts/{APPID}/surveys", body))


@given(body=st.one_of(mutated({"code": FORMULA, "weight": 1.5}), json_values))
def test_any_ops_tag_is_added_or_refused_never_a_server_error(profiles_api: Api, body: Any) -> None:
    _no_server_error(profiles_api.send("POST", f"/accounts/{APPID}/members/oMum/profile/tags", body))
