"""The console's push pages over the real segments API (its routers and use cases, the in-memory stores,
a live index over fixed members and a WeChat sender that answers in process), signed in through the
real identity API: the list, the composer (drafts, variants, the eligibility breakdown, previews),
sending by a project manager and the API's refusal of a campaign operator, pause/resume/cancel, the
push page's numbers and deliveries, testers and test sends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import pytest

from services.console.adapters import load_catalogs
from services.console.entrypoints.http import pushes as console_pushes
from services.console.entrypoints.http.rendering import Templates
from services.console.service_layer.ports import Api
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.pushes import Channel
from services.segments.domain.rules import MemberFacts
from services.segments.entrypoints.http import app as segments_app_module
from services.segments.entrypoints.http.schemas import PushOut
from services.segments.service_layer.audience import freeze_next
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.ports import Content, SendRefused
from services.segments.settings import SegmentsSettings
from shared.identity import CLI_ACTOR
from tests.accounts import account
from tests.fakes.sender import RecordingSender
from tests.identities import cheap_directory, identity_config
from tests.unit.console.conftest import APPID, PASSWORDS, ConsoleUnderTest, _seed
from tests.unit.console.segments_api import InMemorySegmentsApi
from tests.unit.console.stack import console_client

FORMULA = "interest.feeding.formula"
SIM = "http://sim.test"
PETE = ("pete", "pete-password-0001")  # a project manager: composes and sends
OPENIDS = [f"o_member_{i}" for i in range(6)]
#: A tester WeChat refuses (not following).
UNFOLLOWED_TESTER = "o_tester_gone"
#: A text variant's template message for members outside the 48 h window.
FALLBACK = [("v-0-fallback", "template"), ("v-0-template_id", "tpl_1"), ("v-0-data", "thing1: 您好")]


def _profile(openid: str, *, following: bool = True, consent: bool = True, hours_ago: float = 1) -> dict[str, Any]:
    return {
        "_id": f"{APPID}:{openid}",
        "openid": openid,
        "follow": {"following": following},
        "consents": {"marketing": {"given": consent}},
        "last_active_at": datetime.now(UTC) - timedelta(hours=hours_ago),
    }


class Sender(RecordingSender):
    """WeChat answering every send except to :data:`UNFOLLOWED_TESTER` (43004)."""

    def __init__(self) -> None:
        super().__init__()
        self.channels: list[tuple[str, Channel]] = []

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        if openid == UNFOLLOWED_TESTER:
            raise SendRefused(43004, "recipient", "require subscribe")
        self.channels.append((openid, channel))
        return await super().send(appid, openid, channel, content, client_msg_id)


class SegmentsApi(InMemorySegmentsApi):
    """The segments API's stores, its live index and its sender, to seed and to run the worker's part."""

    def __init__(self) -> None:
        super().__init__(lambda: [MemberFacts(appid=APPID, openid=o, tags={FORMULA: 1.0}) for o in OPENIDS], Sender())
        # Three reachable members, one not following, one without consent, one outside the 48 h window.
        self.pushes.add_profiles(
            [
                _profile(OPENIDS[0]),
                _profile(OPENIDS[1]),
                _profile(OPENIDS[2]),
                _profile(OPENIDS[3], following=False),
                _profile(OPENIDS[4], consent=False),
                _profile(OPENIDS[5], hours_ago=72),
            ]
        )

    async def dispatch(self) -> None:
        """What happens after the API schedules a push: its audience frozen, then the worker's sends."""
        assert self.live is not None
        now = datetime.now(UTC)
        assert await freeze_next(cast(Any, self.pushes), cast(Any, self.segments), self.live, now, 1000)
        config = DispatchConfig(click_base_url="https://c.example", click_key=b"key")
        dispatcher = Dispatcher(self.pushes, self.sender, config, read_push=push_from_document)
        assert await dispatcher.run_once()


@pytest.fixture
def segments_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SegmentsApi]:
    api = SegmentsApi()
    monkeypatch.setattr(segments_app_module, "bootstrap_api", api.bootstrap)
    yield api


@pytest.fixture
async def console(segments_api: SegmentsApi) -> AsyncIterator[ConsoleUnderTest]:
    directory = cheap_directory()
    await _seed(directory)
    await directory.create_operator(CLI_ACTOR, PETE[0], password=PETE[1])
    await directory.grant(CLI_ACTOR, PETE[0], "project_manager", APPID)

    segments = segments_app_module.create_app(
        SegmentsSettings(environment="development", wechat_accounts=[account(APPID)]),
        identity=identity_config(directory),
    )
    async with console_client(directory, {Api.SEGMENTS: segments}, wechat_sim_url=SIM) as client:
        yield ConsoleUnderTest(client, directory)


BASE = f"/accounts/{APPID}/pushes"


async def _sign_in(console: ConsoleUnderTest, name: str) -> None:
    password = PETE[1] if name == PETE[0] else PASSWORDS[name]
    console.client.cookies.clear()
    answer = await console.client.post("/login", data={"name": name, "password": password, "next": "/"})
    assert answer.status_code == 303, answer.text


async def _post(console: ConsoleUnderTest, url: str, items: list[tuple[str, str]] | None = None) -> httpx.Response:
    """An HTMX post of a form's fields (repeated names and all)."""
    headers = {
        "HX-Request": "true",
        "X-CSRF-Token": await console.csrf(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return await console.client.post(url, content=urlencode(items or []), headers=headers)


def _form(segment_id: str, *, action: str = "draft", **fields: str) -> list[tuple[str, str]]:
    items = [
        ("name", fields.pop("name", "奶粉试用")),
        ("segment_id", segment_id),
        ("v-0-name", "A"),
        ("v-0-weight", "1"),
        ("v-0-kind", fields.pop("kind", "text")),
        ("v-0-text", fields.pop("text", "新品奶粉试用，点击 https://brand.example/try")),
        ("when", fields.pop("when", "now")),
        ("send_at", fields.pop("send_at", "")),
        ("quiet", "none"),
        ("action", action),
    ]
    return items + list(fields.items())


@pytest.fixture
async def segment(segments_api: SegmentsApi) -> str:
    """A segment of the six formula members."""
    return (await segments_api.segments.create(APPID, "formula", "", {"has_tag": FORMULA})).id


def _push_id(answer: httpx.Response) -> str:
    assert answer.status_code == 204, answer.text
    match = re.fullmatch(rf"{BASE}/(push_[0-9a-f]+)", answer.headers["HX-Redirect"])
    assert match, answer.headers["HX-Redirect"]
    return match.group(1)


async def _api_push(segments_api: SegmentsApi, push_id: str) -> dict[str, Any]:
    return segments_api.pushes.pushes[push_id]


async def test_the_list_is_empty_then_shows_pushes_newest_first(console: ConsoleUnderTest, segment: str) -> None:
    await _sign_in(console, "otto")
    empty = await console.client.get(BASE)
    assert empty.status_code == 200
    assert 'data-testid="push-list-empty"' in empty.text and 'data-testid="new-push"' in empty.text
    first = _push_id(await _post(console, f"{BASE}/new", _form(segment, name="第一条")))
    second = _push_id(await _post(console, f"{BASE}/new", _form(segment, name="第二条")))
    page = await console.client.get(BASE)
    rows = re.findall(r'data-push-id="(push_[0-9a-f]+)"', page.text)
    assert rows == [second, first]
    assert "formula" in page.text  # the segment's name, not its id
    assert "badge-draft" in page.text and "草稿" in page.text


async def test_the_composer_shows_each_kind_with_its_wechat_rule(console: ConsoleUnderTest, segment: str) -> None:
    await _sign_in(console, "otto")
    page = await console.client.get(f"{BASE}/new")
    assert page.status_code == 200
    text = page.text
    assert "formula (6 位会员" in text
    assert "可触达 0 位" in text  # the reach beside the size (these live-index facts carry no follow)
    for kind in ("text", "image", "news", "template", "subscription"):
        assert f'data-testid="kind-{kind}"' in text
    assert "48 小时" in text  # customer-service window
    assert "只能用于服务通知" in text  # template messages: service notices only
    assert "一次性" in text  # subscription: one-time consent
    assert "每月" in text  # mass sends: the monthly quota
    assert 'data-testid="save-draft"' in text
    assert 'data-testid="send-push"' not in text  # a campaign operator may not send
    assert 'class="phone"' in text


async def test_a_campaign_operator_saves_a_draft(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "otto")
    push_id = _push_id(await _post(console, f"{BASE}/new", _form(segment)))
    doc = await _api_push(segments_api, push_id)
    assert doc["status"] == "draft" and doc["created_by"]["name"] == "otto"
    assert doc["quiet_hours"] is None
    assert doc["variants"][0]["message"]["text"].startswith("新品奶粉试用")
    page = await console.client.get(f"{BASE}/{push_id}")
    assert page.status_code == 200
    assert 'data-testid="edit-push"' in page.text and 'data-testid="send-draft"' not in page.text
    assert 'data-step="will_receive"' in page.text  # the draft's eligibility

    # Editing the draft: the form comes back filled, and saving replaces it at its version.
    edit = await console.client.get(f"{BASE}/{push_id}/edit")
    assert "新品奶粉试用" in edit.text and 'name="version" value="1"' in edit.text
    saved = await _post(console, f"{BASE}/{push_id}/edit", [*_form(segment, name="改过的"), ("version", "1")])
    assert _push_id(saved) == push_id
    assert (await _api_push(segments_api, push_id))["name"] == "改过的"
    # A stale version is the API's 409, shown in the form (nothing lost: the fields stay).
    stale = await _post(console, f"{BASE}/{push_id}/edit", [*_form(segment, name="又改"), ("version", "1")])
    assert stale.status_code == 200
    assert 'data-testid="composer-error"' in stale.text and "又改" in stale.text


async def test_a_field_the_api_refuses_is_named_in_the_form(console: ConsoleUnderTest, segment: str) -> None:
    await _sign_in(console, "otto")
    answer = await _post(console, f"{BASE}/new", _form(segment, text=""))
    assert answer.status_code == 200
    assert 'data-testid="composer-error"' in answer.text
    assert "text" in answer.text and 'class="field-error"' in answer.text


async def test_the_eligibility_breakdown_follows_the_form(console: ConsoleUnderTest, segment: str) -> None:
    await _sign_in(console, "otto")
    answer = await _post(console, f"{BASE}/compose/live", _form(segment))
    assert answer.status_code == 200
    text = answer.text
    steps = re.findall(r'data-step="(\w+)"', text)
    assert steps[0] == "in_segment" and steps[-1] == "will_receive"
    assert {"not_following", "no_consent", "capped", "outside_window", "template_fallback"} <= set(steps)
    assert re.search(r'data-testid="will-receive">3<', text)  # o0-o2; o3 unfollowed, o4 no consent, o5 outside
    assert "只发给仍关注公众号的会员" in text  # the rule, in the console's language
    assert 'data-testid="estimated"' not in text  # every member counted
    assert 'hx-swap-oob="true"' in text and 'data-testid="preview-A"' in text

    # With a template fallback, the member outside the window is reached too.
    fallback = [*_form(segment), *FALLBACK]
    more = await _post(console, f"{BASE}/compose/live", fallback)
    assert re.search(r'data-testid="will-receive">4<', more.text)

    # English: the API's English rule text.
    console.client.cookies.set("scrm_lang", "en")
    english = await _post(console, f"{BASE}/compose/live", _form(segment))
    assert "only members who still follow the account" in english.text
    # No segment yet: said so, no call.
    none = await _post(console, f"{BASE}/compose/live", _form(""))
    assert 'data-testid="eligibility-problem"' in none.text


async def test_a_send_time_in_the_quiet_hours_says_when_it_really_goes(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "otto")
    beijing = timezone(timedelta(hours=8))
    tomorrow = (datetime.now(beijing) + timedelta(days=1)).date()
    quiet = [("quiet_start", "22:00"), ("quiet_end", "08:00")]
    items = [(k, "custom" if k == "quiet" else v) for k, v in _form(segment, when="at", send_at=f"{tomorrow}T23:30")]
    live = await _post(console, f"{BASE}/compose/live", [*items, *quiet])
    morning = f"{tomorrow + timedelta(days=1):%Y-%m-%d} 08:00"
    assert 'data-testid="effective-send-at"' in live.text and morning in live.text
    push_id = _push_id(await _post(console, f"{BASE}/new", [*items, *quiet]))
    doc = PushOut.of(await _api_push(segments_api, push_id))  # the API's answer: accepted, and held
    assert doc.held_by_quiet_hours and doc.effective_send_at is not None
    page = await console.client.get(f"{BASE}/{push_id}")
    assert 'data-testid="effective-send-at"' in page.text and morning in page.text
    listed = await console.client.get(BASE)
    assert 'data-testid="effective-send-at"' in listed.text
    daytime = [(k, f"{tomorrow}T10:00" if k == "send_at" else v) for k, v in items]
    plain = await _post(console, f"{BASE}/compose/live", [*daytime, *quiet])
    assert 'data-testid="effective-send-at"' not in plain.text


async def test_variants_are_added_and_removed(console: ConsoleUnderTest, segment: str) -> None:
    await _sign_in(console, "otto")
    added = await _post(console, f"{BASE}/compose/variants?op=add", _form(segment))
    assert added.text.count('data-testid="variant"') == 2
    assert 'name="v-1-name" value="B"' in added.text and 'data-testid="preview-B"' in added.text
    assert 'data-testid="share-B">50%' in added.text
    two = [*_form(segment), ("v-1-name", "B"), ("v-1-weight", "3"), ("v-1-kind", "template"), ("v-1-template_id", "t")]
    removed = await _post(console, f"{BASE}/compose/variants?op=remove&index=0", two)
    assert removed.text.count('data-testid="variant"') == 1
    assert 'name="v-0-name" value="B"' in removed.text


async def test_a_campaign_operator_cannot_send_the_api_refuses(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "otto")
    # Sending a new push: refused by the API (not only a hidden button), nothing saved, said plainly.
    refused = await _post(console, f"{BASE}/new", _form(segment, action="send"))
    assert refused.status_code == 200
    assert "需要 push:send 权限" in refused.text
    assert segments_api.pushes.pushes == {}
    # Sending a saved draft from its edit page: the edit is kept, the send refused.
    push_id = _push_id(await _post(console, f"{BASE}/new", _form(segment)))
    edited = await _post(console, f"{BASE}/{push_id}/edit", [*_form(segment, action="send"), ("version", "1")])
    assert "需要 push:send 权限" in edited.text and "草稿已保存" in edited.text
    assert (await _api_push(segments_api, push_id))["status"] == "draft"
    # And the push page's send (a button this operator does not see), posted anyway.
    direct = await _post(console, f"{BASE}/{push_id}/send")
    assert direct.headers.get("X-Status") == "403"
    assert "没有执行此操作的权限" in direct.text and "push:send" in direct.text
    assert (await _api_push(segments_api, push_id))["status"] == "draft"


async def test_a_project_manager_sends_and_the_page_shows_the_numbers(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "pete")
    page = await console.client.get(f"{BASE}/new")
    assert 'data-testid="send-push"' in page.text
    push_id = _push_id(await _post(console, f"{BASE}/new", _form(segment, action="send")))
    assert (await _api_push(segments_api, push_id))["status"] == "scheduled"
    scheduled = await console.client.get(f"{BASE}/{push_id}")
    assert 'hx-trigger="every 5s"' in scheduled.text  # refreshes itself until it is done
    assert 'data-testid="pause-push"' in scheduled.text and 'data-testid="cancel-push"' in scheduled.text

    await segments_api.dispatch()
    assert sorted(segments_api.sender.sent) == OPENIDS[:3]
    page = await console.client.get(f"{BASE}/{push_id}")
    text = page.text
    assert re.search(r'data-testid="tile-sent">\s*<div class="tile-value">3<', text)
    assert re.search(r'data-testid="tile-skipped">\s*<div class="tile-value">3<', text)
    assert 'data-testid="skipped-by-reason"' in text and "未关注" in text
    assert 'id="push-chart-data"' in text and '"variants": ["A"]' in text
    assert text.count('data-testid="delivery-row"') == 6
    for openid in OPENIDS[:3]:  # the sent ones link to the simulator's inbox
        assert f"{SIM}/sim/accounts/{APPID}/members/{openid}/inbox" in text
    assert f"{SIM}/sim/accounts/{APPID}/members/{OPENIDS[3]}/inbox" not in text
    numbers = await console.client.get(f"{BASE}/{push_id}/numbers", headers={"HX-Request": "true"})
    assert numbers.status_code == 200 and 'id="numbers"' in numbers.text
    listed = await console.client.get(BASE)
    assert f'data-push-id="{push_id}"' in listed.text and "100.0%" in listed.text


async def test_failures_show_wechat_codes_and_their_meaning(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "pete")
    push_id = _push_id(await _post(console, f"{BASE}/new", _form(segment, action="send")))
    segments_api.pushes.pushes[push_id]["stats"]["total"]["failed"] = {"45015": 2}
    page = await console.client.get(f"{BASE}/{push_id}/numbers")
    assert 'data-testid="failed-by-code"' in page.text
    assert "45015" in page.text and "48 小时内未互动" in page.text


async def test_pause_resume_and_cancel(console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi) -> None:
    await _sign_in(console, "pete")
    later = (datetime.now(UTC) + timedelta(days=2)).astimezone(UTC) + timedelta(hours=8)
    form = _form(segment, action="send", when="at", send_at=later.strftime("%Y-%m-%dT%H:%M"))
    push_id = _push_id(await _post(console, f"{BASE}/new", form))
    doc = await _api_push(segments_api, push_id)
    assert doc["status"] == "scheduled" and doc["send_at"] > datetime.now(UTC) + timedelta(days=1)
    # A campaign operator's pause is the API's refusal, shown as a message.
    await _sign_in(console, "otto")
    refused = await _post(console, f"{BASE}/{push_id}/pause")
    assert refused.headers.get("X-Status") == "403"
    assert (await _api_push(segments_api, push_id))["status"] == "scheduled"
    await _sign_in(console, "pete")
    for action, status in (("pause", "paused"), ("resume", "scheduled"), ("cancel", "cancelled")):
        answer = await _post(console, f"{BASE}/{push_id}/{action}")
        assert answer.headers["HX-Redirect"] == f"{BASE}/{push_id}"
        assert (await _api_push(segments_api, push_id))["status"] == status
    page = await console.client.get(f"{BASE}/{push_id}")
    assert "badge-cancelled" in page.text and 'hx-trigger="every 5s"' not in page.text
    # A cancelled push cannot be resumed: the API's 409, as a message.
    again = await _post(console, f"{BASE}/{push_id}/resume")
    assert again.headers.get("X-Status") == "409"


async def test_a_draft_is_sent_and_deleted_from_its_page(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "pete")
    sent = _push_id(await _post(console, f"{BASE}/new", _form(segment)))
    answer = await _post(console, f"{BASE}/{sent}/send", [("version", "1")])
    assert answer.headers["HX-Redirect"] == f"{BASE}/{sent}"
    assert (await _api_push(segments_api, sent))["status"] == "scheduled"
    dropped = _push_id(await _post(console, f"{BASE}/new", _form(segment)))
    gone = await _post(console, f"{BASE}/{dropped}/delete", [("version", "1")])
    assert gone.headers["HX-Redirect"] == BASE
    assert dropped not in segments_api.pushes.pushes


async def test_testers_and_test_sends(console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi) -> None:
    await _sign_in(console, "otto")
    nobody = await _post(console, f"{BASE}/compose/test-send", _form(segment))
    assert 'data-testid="test-send-error"' in nobody.text  # no tester yet: the API's 409, said
    added = await _post(console, f"{BASE}/testers", [("op", "add"), ("openid", "o_tester_1"), ("label", "小王")])
    assert "小王" in added.text and added.text.count('data-testid="tester-row"') == 1
    added = await _post(console, f"{BASE}/testers", [("op", "add"), ("openid", UNFOLLOWED_TESTER), ("label", "x")])
    assert added.text.count('data-testid="tester-row"') == 2
    bad = await _post(console, f"{BASE}/testers", [("op", "add"), ("openid", "not valid!"), ("label", "")])
    assert 'data-testid="testers-error"' in bad.text

    fallback = [*_form(segment), *FALLBACK]
    results = await _post(console, f"{BASE}/compose/test-send", fallback)
    rows = re.findall(r'data-testid="test-result" data-ok="(\w+)"', results.text)
    assert sorted(rows) == ["false", "false", "true", "true"]  # 2 testers x (message + template)
    assert "43004" in results.text and "未关注公众号" in results.text
    assert ("o_tester_1", Channel.TEMPLATE) in segments_api.sender.channels

    removed = await _post(console, f"{BASE}/testers", [("op", "remove"), ("openid", UNFOLLOWED_TESTER)])
    assert removed.text.count('data-testid="tester-row"') == 1
    push_id = _push_id(await _post(console, f"{BASE}/new", _form(segment)))
    saved = await _post(console, f"{BASE}/{push_id}/test-send")
    assert re.findall(r'data-testid="test-result" data-ok="(\w+)"', saved.text) == ["true"]
    assert segments_api.pushes.pushes[push_id]["status"] == "draft"  # a test send is not a send


async def test_deliveries_are_paged(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_pushes, "PAGE_SIZE", 4)
    await _sign_in(console, "pete")
    push_id = _push_id(await _post(console, f"{BASE}/new", _form(segment, action="send")))
    await segments_api.dispatch()
    first = await console.client.get(f"{BASE}/{push_id}")
    assert first.text.count('data-testid="delivery-row"') == 4 and 'data-testid="deliveries-next"' in first.text
    second = await console.client.get(f"{BASE}/{push_id}", params={"page": 2})
    assert second.text.count('data-testid="delivery-row"') == 2
    assert 'data-testid="deliveries-next"' not in second.text and 'data-testid="deliveries-prev"' in second.text
    skipped = await console.client.get(f"{BASE}/{push_id}", params={"status": "skipped"})
    assert skipped.text.count('data-testid="delivery-row"') == 3 and "未关注" in skipped.text


def test_a_sampled_breakdown_is_marked_estimated() -> None:
    templates = Templates(load_catalogs())
    eligibility = {
        "in_segment": 200_000,
        "sample_size": 5_000,
        "estimated": True,
        "will_receive": 120_000,
        "channels": {"customer_service": 100_000, "template": 20_000},
        "variants": {
            "A": {"members": 100_000, "will_receive": 60_000},
            "B": {"members": 100_000, "will_receive": 60_000},
        },
        "quiet_hours": {"start": "22:00:00", "end": "08:00:00"},
        "steps": [
            {"step": "in_segment", "count": 200_000, "remaining": 200_000, "rule": {"zh": "分群", "en": "segment"}},
            {"step": "not_following", "count": 80_000, "remaining": 120_000, "rule": {"zh": "关注", "en": "follow"}},
            {"step": "will_receive", "count": 120_000, "remaining": 120_000, "rule": {"zh": "收到", "en": "receive"}},
        ],
    }
    context = {"eligibility": eligibility, "locale": "zh_CN", **console_pushes._TEXTS}
    html = templates.render("zh_CN", "pushes/_eligibility.html", context)
    assert 'data-testid="estimated"' in html and "5,000" in html
    assert "120,000" in html and "−80,000" in html and "22:00–08:00" in html
    assert "模板消息 20,000" in html and "A: 60,000 / 100,000" in html


async def test_the_composer_works_as_a_plain_form_too(
    console: ConsoleUnderTest, segment: str, segments_api: SegmentsApi
) -> None:
    await _sign_in(console, "otto")
    items = [*_form(segment), ("csrf_token", await console.csrf())]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    saved = await console.client.post(f"{BASE}/new", content=urlencode(items), headers=headers)
    assert saved.status_code == 303 and re.fullmatch(rf"{BASE}/push_[0-9a-f]+", saved.headers["location"])
    # Without JavaScript a refusal is a page of its own, with the API's status.
    items = [*_form(segment, action="send"), ("csrf_token", await console.csrf())]
    refused = await console.client.post(f"{BASE}/new", content=urlencode(items), headers=headers)
    assert refused.status_code == 403 and "需要 push:send 权限" in refused.text
    assert len(segments_api.pushes.pushes) == 1
