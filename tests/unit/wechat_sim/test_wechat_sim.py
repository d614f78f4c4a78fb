"""The platform simulator's API rules, through its real HTTP app with a manual clock.

Pushes go to a sender that acknowledges everything; the push protocol itself is tested in
test_wechat_sim_driver.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scrm.processes import PROCESSES
from services.wechat_sim.bootstrap import build_simulator
from services.wechat_sim.domain.calendar import BEIJING
from services.wechat_sim.domain.clock import ManualClock
from services.wechat_sim.entrypoints.http import create_app
from services.wechat_sim.service_layer.platform import ApiRequest
from services.wechat_sim.settings import WeChatSimSettings
from shared.settings import SettingsError, load_settings
from shared.wechat import Mode, parse_xml_lists
from tests.accounts import AES_KEY, account
from tests.fakes.push_sender import AckSender
from tests.unit.wechat_sim.conftest import START

APPID = "wxsimulated0001"
SECRET = "app-secret-1-0123456789"
RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


def make_settings(**overrides: Any) -> WeChatSimSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "wechat_accounts": [account(APPID, token="push-token", encoding_aes_key=AES_KEY, secret=SECRET)],
        "job_push_delay_seconds": 3600,  # tests flush job-finish pushes themselves
    } | overrides
    return WeChatSimSettings(**values)


class Api:
    """The platform API as a client sees it, plus the sim-only routes."""

    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock

    def stable_token(self, *, force: bool = False, secret: str = SECRET, appid: str = APPID) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
        response = self.client.post("/cgi-bin/stable_token", json=body)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    @property
    def token(self) -> str:
        """The current stable token, as a well-behaved client keeps it (same one until it nears expiry)."""
        value: str = self.stable_token()["access_token"]
        return value

    def post(self, api: str, body: object, *, token: str | None = None) -> dict[str, Any]:
        response = self.client.post(f"/cgi-bin/{api}", params={"access_token": token or self.token}, json=body)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def get(self, api: str, *, token: str | None = None, **params: str) -> dict[str, Any]:
        response = self.client.get(f"/cgi-bin/{api}", params={"access_token": token or self.token, **params})
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def sim(self, path: str, body: object = None, *, expect: int = 200) -> Any:
        response = self.client.post(f"/sim/accounts/{APPID}/{path}", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    def add_member(self, openid: str, *, following: bool = True) -> None:
        self.sim("members", {"openid": openid, "following": following}, expect=201)

    def inbox(self, openid: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.client.get(f"/sim/accounts/{APPID}/members/{openid}/inbox").json()[
            "messages"
        ]
        return messages

    def send_text(self, openid: str, content: str = "您好") -> dict[str, Any]:
        return self.post("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": content}})


def errcode(result: Mapping[str, Any]) -> int:
    code = result.get("errcode", 0)
    assert isinstance(code, int)
    if code:
        assert RID.search(result["errmsg"]), result["errmsg"]
    return code


@pytest.fixture
def sender() -> AckSender:
    return AckSender()


def run(settings: WeChatSimSettings, clock: ManualClock, sender: AckSender) -> TestClient:
    return TestClient(create_app(settings, clock=clock, sender=sender))


@pytest.fixture
def api(clock: ManualClock, sender: AckSender) -> Iterator[Api]:
    with run(make_settings(), clock, sender) as client:
        yield Api(client, clock)


def seconds_to_next_day(now: float) -> float:
    moment = datetime.fromtimestamp(now, BEIJING)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86_400
    return midnight - now + 1


def seconds_to_next_month(now: float) -> float:
    moment = datetime.fromtimestamp(now, BEIJING)
    first = moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1, day=1, hour=0, minute=0)
    return first.timestamp() - now + 1


# -- tokens ------------------------------------------------------------------------------------------


def test_stable_token_is_the_same_until_its_last_five_minutes(api: Api, clock: ManualClock) -> None:
    first = api.stable_token()
    assert first["expires_in"] == 7200 and len(first["access_token"]) >= 100
    clock.advance(6000)
    again = api.stable_token()
    assert again == {"access_token": first["access_token"], "expires_in": 1200}
    clock.advance(1000)  # 200 s left: inside the last five minutes
    fresh = api.stable_token()
    assert fresh["access_token"] != first["access_token"] and fresh["expires_in"] == 7200
    assert errcode(api.get("user/get", token=first["access_token"])) == 0  # the old one still works ...
    clock.advance(200)
    assert errcode(api.get("user/get", token=first["access_token"])) == 42001  # ... until it expires
    assert errcode(api.get("user/get", token=fresh["access_token"])) == 0


def test_force_refresh_invalidates_the_old_token_and_is_rationed(api: Api, clock: ManualClock) -> None:
    old = api.stable_token()["access_token"]
    new = api.stable_token(force=True)["access_token"]
    assert new != old
    assert errcode(api.get("user/get", token=old)) == 40001
    assert errcode(api.get("user/get", token=new)) == 0
    assert errcode(api.stable_token(force=True)) == 45011  # at least 30 s apart
    for _ in range(19):
        clock.advance(30)
        assert errcode(api.stable_token(force=True)) == 0
    clock.advance(30)
    assert errcode(api.stable_token(force=True)) == 45009  # 20 a day
    assert errcode(api.stable_token()) == 0  # normal calls are not rationed
    clock.advance(seconds_to_next_day(clock.now()))
    assert errcode(api.stable_token(force=True)) == 0


def test_token_refusals_use_the_platform_codes(api: Api, clock: ManualClock) -> None:
    assert errcode(api.stable_token(secret="wrong")) == 40001
    assert errcode(api.stable_token(appid="wxnobody")) == 40013
    missing = api.client.get("/cgi-bin/user/get").json()
    assert errcode(missing) == 41001 and missing["errmsg"].startswith("access_token missing rid: ")
    assert errcode(api.get("user/get", token="not-a-token")) == 40014
    token = api.token
    clock.advance(7200)
    assert errcode(api.get("user/get", token=token)) == 42001
    grant = api.client.post("/cgi-bin/stable_token", json={"grant_type": "password", "appid": APPID}).json()
    assert errcode(grant) == 40002


def test_classic_token_endpoint_keeps_the_previous_token_for_five_minutes(api: Api, clock: ManualClock) -> None:
    def token() -> str:
        query = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        value: str = api.client.get("/cgi-bin/token", params=query).json()["access_token"]
        return value

    first, second = token(), token()
    assert first != second
    clock.advance(299)
    assert errcode(api.get("user/get", token=first)) == 0
    clock.advance(1)
    assert errcode(api.get("user/get", token=first)) == 40001
    assert errcode(api.get("user/get", token=second)) == 0


def test_wrong_method_body_and_unknown_api(api: Api) -> None:
    assert errcode(api.get("message/custom/send")) == 43002
    assert errcode(api.post("user/get", {})) == 43001
    empty = api.client.post("/cgi-bin/tags/create", params={"access_token": api.token}, content=b"")
    assert errcode(empty.json()) == 44002
    garbage = api.client.post("/cgi-bin/tags/create", params={"access_token": api.token}, content=b"{not json")
    assert errcode(garbage.json()) == 47001
    assert errcode(api.post("menu/no-such-api", {})) == 48001


# -- quotas and faults ---------------------------------------------------------------------------------


def test_daily_quota_45009_resets_at_beijing_midnight(clock: ManualClock, sender: AckSender) -> None:
    with run(make_settings(daily_quotas={"user/get": 2}), clock, sender) as client:
        api = Api(client, clock)
        assert [errcode(api.get("user/get")) for _ in range(3)] == [0, 0, 45009]
        assert errcode(api.get("user/info", openid="nobody")) == 40003  # other APIs have their own quota
        clock.advance(seconds_to_next_day(clock.now()))
        assert errcode(api.get("user/get")) == 0


def test_minute_limit_45011(clock: ManualClock, sender: AckSender) -> None:
    with run(make_settings(minute_limits={"user/get": 3}), clock, sender) as client:
        api = Api(client, clock)
        clock.advance(60 - clock.now() % 60)  # start of a minute
        assert [errcode(api.get("user/get")) for _ in range(4)] == [0, 0, 0, 45011]
        clock.advance(60)
        assert errcode(api.get("user/get")) == 0


def test_second_limit_45011_and_the_calls_report(clock: ManualClock, sender: AckSender) -> None:
    with run(make_settings(second_limits='{"user/get": 2}'), clock, sender) as client:
        api = Api(client, clock)
        clock.advance(1 - clock.now() % 1)  # start of a second
        first = clock.now()
        assert [errcode(api.get("user/get")) for _ in range(3)] == [0, 0, 45011]
        clock.advance(1)
        assert errcode(api.get("user/get")) == 0
        report = client.get(f"/sim/accounts/{APPID}/calls", params={"api": "user/get", "since": first}).json()
        assert (report["limit_per_second"], report["calls"], report["busiest_second"]) == (2, 3, 2)
        assert report["refused_45011"] == 1 and list(report["per_second"].values()) == [2, 1]
        assert client.get(f"/sim/accounts/{APPID}/calls").status_code == 422  # which API, please


def test_default_quotas_follow_the_reference() -> None:
    settings = make_settings(daily_quotas={"user/get": 7})
    assert settings.daily_quotas["user/get"] == 7
    assert settings.daily_quotas["message/mass/sendall"] == 100
    assert settings.daily_quotas["message/custom/send"] == 500_000
    assert settings.minute_limits["message/mass/sendall"] == 60


def test_injected_faults_fail_the_next_calls_then_stop(api: Api) -> None:
    token = api.token
    api.sim("faults", {"api": "user/get", "errcode": -1, "count": 2}, expect=201)
    first, second, third = (api.get("user/get", token=token) for _ in range(3))
    assert errcode(first) == errcode(second) == -1 and first["errmsg"].startswith("system error rid: ")
    assert errcode(third) == 0
    api.sim("faults", {"api": "*", "errcode": 45009, "errmsg": "reach max api daily quota limit"}, expect=201)
    assert api.client.get(f"/sim/accounts/{APPID}/faults").json()["faults"][0]["remaining"] == 1
    assert errcode(api.post("tags/create", {"tag": {"name": "孕期"}}, token=token)) == 45009
    assert errcode(api.post("tags/create", {"tag": {"name": "孕期"}}, token=token)) == 0
    api.sim("faults", {"api": "stable_token", "errcode": -1}, expect=201)
    assert errcode(api.stable_token()) == -1
    assert errcode(api.stable_token()) == 0
    api.sim("faults", {"api": "user/get", "errcode": 42001, "count": 5}, expect=201)
    api.client.delete(f"/sim/accounts/{APPID}/faults")
    assert errcode(api.get("user/get", token=token)) == 0
    api.sim("faults", {"api": "message/nope", "errcode": -1}, expect=409)


# -- customer-service windows ----------------------------------------------------------------------------


def test_no_interaction_means_45015(api: Api) -> None:
    api.add_member("o_quiet")  # followed long before the simulation: no window open
    assert errcode(api.send_text("o_quiet")) == 45015
    assert errcode(api.send_text("o_nobody")) == 40003


def test_member_message_opens_five_messages_for_48_hours(api: Api, clock: ManualClock) -> None:
    api.add_member("o_mum")
    api.sim("members/o_mum/text", {"content": "宝宝湿疹怎么办"})
    clock.advance(61)  # past the 1-minute event window, if any
    assert [errcode(api.send_text("o_mum", f"回复{i}")) for i in range(6)] == [0, 0, 0, 0, 0, 45047]
    api.sim("members/o_mum/text", {"content": "还有一个问题"})  # a new message reopens the count
    assert errcode(api.send_text("o_mum")) == 0
    clock.advance(48 * 3600)
    assert errcode(api.send_text("o_mum")) == 45015
    inbox = [m for m in api.inbox("o_mum") if m["channel"] == "custom"]
    assert len(inbox) == 6 and inbox[0]["payload"] == {"content": "回复0"}


def test_follow_scan_and_click_open_three_messages_for_one_minute(api: Api, clock: ManualClock) -> None:
    api.sim("members/o_new/follow", {"scene": "poster-7"})
    assert [errcode(api.send_text("o_new")) for _ in range(4)] == [0, 0, 0, 45047]
    clock.advance(60)
    assert errcode(api.send_text("o_new")) == 45015
    api.sim("members/o_new/click", {"key": "MENU_COURSES"})
    assert errcode(api.send_text("o_new")) == 0
    clock.advance(60)
    api.sim("members/o_new/scan", {"scene": "store-12"})
    assert errcode(api.send_text("o_new")) == 0
    api.sim("members/o_new/view", {"url": "https://example.com/shop"})  # a link opens no window
    clock.advance(60)
    assert errcode(api.send_text("o_new")) == 45015


def test_unfollow_closes_the_window(api: Api) -> None:
    api.add_member("o_leaving")
    api.sim("members/o_leaving/text", {"content": "再见"})
    api.sim("members/o_leaving/unfollow")
    assert errcode(api.send_text("o_leaving")) == 45015


def test_customer_service_windows_are_configurable(clock: ManualClock, sender: AckSender) -> None:
    settings = make_settings(cs_message_window_count=20, cs_event_window_count=0)
    with run(settings, clock, sender) as client:
        api = Api(client, clock)
        api.sim("members/o_a/follow")
        assert errcode(api.send_text("o_a")) == 45047
        api.sim("members/o_a/text", {"content": "hi"})
        assert all(errcode(api.send_text("o_a")) == 0 for _ in range(20))
        assert errcode(api.send_text("o_a")) == 45047


def test_custom_send_checks_the_message(api: Api) -> None:
    api.sim("members/o_m/follow")
    image = {"touser": "o_m", "msgtype": "image", "image": {"media_id": "missing"}}
    assert errcode(api.post("message/custom/send", image)) == 40007
    assert errcode(api.post("message/custom/send", {"touser": "o_m", "msgtype": "location", "location": {}})) == 40008
    empty = {"touser": "o_m", "msgtype": "text", "text": {"content": ""}}
    assert errcode(api.post("message/custom/send", empty)) == 44004
    news = {
        "touser": "o_m",
        "msgtype": "news",
        "news": {"articles": [{"title": "孕期营养", "url": "https://example.com/a"}]},
    }
    assert errcode(api.post("message/custom/send", news)) == 0
    assert api.inbox("o_m")[-1]["msgtype"] == "news"


def test_concurrent_sends_respect_the_count(clock: ManualClock, sender: AckSender) -> None:
    sim = build_simulator(make_settings(), clock=clock, sender=sender)
    sim.add_member(APPID, "o_busy")
    sim.platform.prepare_text(APPID, "o_busy", "在吗")  # opens the 5-message window
    credentials = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    token = sim.platform.call("stable_token", ApiRequest("POST", {}, json.dumps(credentials).encode()))
    assert isinstance(token, dict)
    body = b'{"touser":"o_busy","msgtype":"text","text":{"content":"x"}}'
    results: list[int] = []

    def send() -> None:
        result = sim.platform.call(
            "message/custom/send", ApiRequest("POST", {"access_token": token["access_token"]}, body)
        )
        assert isinstance(result, dict)
        results.append(result["errcode"])

    threads = [threading.Thread(target=send) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(0) == 5 and results.count(45047) == 35
    assert len([e for e in sim.inbox(APPID, "o_busy") if e.channel == "custom"]) == 5


# -- template, subscription and mass messages --------------------------------------------------------------


def test_template_send_needs_a_follower_and_reports_the_job(api: Api, sender: AckSender) -> None:
    api.add_member("o_gone", following=False)
    message = {"touser": "o_gone", "template_id": "TPL_ORDER", "data": {"thing1": {"value": "奶粉"}}}
    assert errcode(api.post("message/template/send", message)) == 43004
    api.add_member("o_buyer")
    message |= {"touser": "o_buyer", "data": {"first": {"value": "dropped"}, "thing1": {"value": "奶粉"}}}
    result = api.post("message/template/send", message)
    assert errcode(result) == 0 and result["errmsg"] == "ok" and result["msgid"] > 2**53
    [entry] = api.inbox("o_buyer")
    assert entry["channel"] == "template" and entry["payload"]["data"] == {"thing1": {"value": "奶粉"}}
    assert sender.events("TEMPLATESENDJOBFINISH") == []  # later, not with the answer
    [flushed] = api.client.post("/sim/pushes/flush").json()["pushes"]
    [finished] = sender.events("TEMPLATESENDJOBFINISH")
    assert flushed["acknowledged"] is True and flushed["kind"] == "TEMPLATESENDJOBFINISH"
    assert finished["MsgID"] == str(result["msgid"]) and finished["Status"] == "success"
    assert finished["FromUserName"] == "o_buyer"


def test_job_finish_pushes_go_out_on_their_own(clock: ManualClock, sender: AckSender) -> None:
    with run(make_settings(job_push_delay_seconds=0.01), clock, sender) as client:
        api = Api(client, clock)
        api.add_member("o_auto")
        msgid = api.post("message/template/send", {"touser": "o_auto", "template_id": "T", "data": {}})["msgid"]
        deadline = time.monotonic() + 5
        while not sender.events("TEMPLATESENDJOBFINISH") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [p["MsgID"] for p in sender.events("TEMPLATESENDJOBFINISH")] == [str(msgid)]


def test_a_member_who_blocks_templates_gets_a_failed_job(api: Api, sender: AckSender) -> None:
    api.add_member("o_block")
    response = api.client.patch(f"/sim/accounts/{APPID}/members/o_block", json={"blocks_templates": True})
    assert response.json()["blocks_templates"] is True
    api.post("message/template/send", {"touser": "o_block", "template_id": "TPL", "data": {}})
    api.client.post("/sim/pushes/flush")
    assert [p["Status"] for p in sender.events("TEMPLATESENDJOBFINISH")] == ["failed:user block"]
    assert api.inbox("o_block") == []


def test_subscription_notice_needs_consent(api: Api, sender: AckSender) -> None:
    api.add_member("o_sub")
    notice = {"touser": "o_sub", "template_id": "TPL_VISIT", "page": "pages/index", "data": {"thing1": {"value": "x"}}}
    assert errcode(api.post("message/subscribe/bizsend", notice)) == 43101
    api.sim("members/o_sub/consent", {"template_id": "TPL_VISIT"})
    assert sender.events("subscribe_msg_popup_event")
    assert errcode(api.post("message/subscribe/bizsend", notice)) == 0
    assert errcode(api.post("message/subscribe/bizsend", notice)) == 43101  # one-time consent is used up
    api.sim("members/o_sub/consent", {"template_id": "TPL_VISIT", "long_term": True})
    assert [errcode(api.post("message/subscribe/bizsend", notice)) for _ in range(3)] == [0, 0, 0]
    assert [m["channel"] for m in api.inbox("o_sub")] == ["subscribe"] * 4


def test_mass_send_reaches_each_member_four_times_a_month(api: Api, clock: ManualClock, sender: AckSender) -> None:
    for openid in ("o_1", "o_2", "o_3"):
        api.add_member(openid)
    api.add_member("o_left", following=False)
    mass = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "本周育儿课"}}
    for _ in range(4):
        result = api.post("message/mass/sendall", mass)
        assert errcode(result) == 0 and result["errmsg"] == "send job submission success"
        assert {"msg_id", "msg_data_id"} <= result.keys()
    assert errcode(api.post("message/mass/sendall", mass)) == 0  # accepted, but nobody gets it
    assert [len(api.inbox(o)) for o in ("o_1", "o_2", "o_3", "o_left")] == [4, 4, 4, 0]
    api.client.post("/sim/pushes/flush")
    jobs = sender.events("MASSSENDJOBFINISH")
    assert len(jobs) == 5 and jobs[0]["FromUserName"] == "mphelper" and jobs[0]["Status"] == "send success"
    assert (jobs[0]["TotalCount"], jobs[0]["SentCount"], jobs[0]["ErrorCount"]) == ("3", "3", "0")
    assert (jobs[4]["TotalCount"], jobs[4]["FilterCount"], jobs[4]["SentCount"]) == ("3", "0", "0")
    clock.advance(seconds_to_next_month(clock.now()))
    api.post("message/mass/sendall", mass)
    assert len(api.inbox("o_1")) == 5


def test_mass_send_by_tag(api: Api) -> None:
    api.add_member("o_tagged")
    api.add_member("o_other")
    tag = api.post("tags/create", {"tag": {"name": "二胎妈妈"}})["tag"]["id"]
    api.post("tags/members/batchtagging", {"openid_list": ["o_tagged"], "tagid": tag})
    mass = {"filter": {"is_to_all": False, "tag_id": tag}, "msgtype": "text", "text": {"content": "专属福利"}}
    assert errcode(api.post("message/mass/sendall", mass)) == 0
    assert (len(api.inbox("o_tagged")), len(api.inbox("o_other"))) == (1, 0)
    assert errcode(api.post("message/mass/sendall", mass | {"filter": {"tag_id": 999}})) == 45159


# -- tags -----------------------------------------------------------------------------------------------------


def test_tag_rules(api: Api) -> None:
    assert errcode(api.post("tags/create", {"tag": {"name": "x" * 31}})) == 45158
    ids = [api.post("tags/create", {"tag": {"name": f"标签{i}"}})["tag"]["id"] for i in range(100)]
    assert ids[0] == 100
    assert errcode(api.post("tags/create", {"tag": {"name": "第101个"}})) == 45056
    assert errcode(api.post("tags/delete", {"tag": {"id": ids[-1]}})) == 0
    assert errcode(api.post("tags/create", {"tag": {"name": "标签0"}})) == 45157
    for reserved in (0, 1, 2):
        assert errcode(api.post("tags/delete", {"tag": {"id": reserved}})) == 45058
    assert errcode(api.post("tags/delete", {"tag": {"id": 99_999}})) == 45159

    for i in range(51):
        api.add_member(f"o_{i}")
    too_many = {"openid_list": [f"o_{i}" for i in range(51)], "tagid": ids[0]}
    assert errcode(api.post("tags/members/batchtagging", too_many)) == 40032
    for tag_id in ids[:20]:
        assert errcode(api.post("tags/members/batchtagging", {"openid_list": ["o_0"], "tagid": tag_id})) == 0
    both = {"openid_list": ["o_1", "o_0"], "tagid": ids[20]}
    assert errcode(api.post("tags/members/batchtagging", both)) == 45059
    assert api.post("tags/getidlist", {"openid": "o_1"})["tagid_list"] == []  # all or nothing
    assert api.get("user/info", openid="o_0")["tagid_list"] == ids[:20]
    api.post("tags/members/batchuntagging", {"openid_list": ["o_0"], "tagid": ids[0]})
    assert errcode(api.post("tags/members/batchtagging", both)) == 0
    counts = {t["id"]: t["count"] for t in api.get("tags/get")["tags"]}
    assert counts[2] == 0 and counts[ids[0]] == 0 and counts[ids[20]] == 2


# -- QR codes -----------------------------------------------------------------------------------------------


def qr(api: Api, action: str, scene: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return api.post("qrcode/create", {"action_name": action, "action_info": {"scene": scene}, **extra})


def test_qr_code_ranges(api: Api) -> None:
    assert errcode(qr(api, "QR_LIMIT_SCENE", {"scene_id": 0})) == 40053
    assert errcode(qr(api, "QR_LIMIT_SCENE", {"scene_id": 100_001})) == 40053
    permanent = qr(api, "QR_LIMIT_SCENE", {"scene_id": 100_000})
    assert permanent.keys() == {"ticket", "url"}
    assert qr(api, "QR_LIMIT_SCENE", {"scene_id": 100_000})["ticket"] == permanent["ticket"]
    assert errcode(qr(api, "QR_LIMIT_STR_SCENE", {"scene_str": "x" * 65})) == 40053
    assert errcode(qr(api, "QR_STR_SCENE", {"scene_str": ""})) == 40053
    assert errcode(qr(api, "QR_SCENE", {"scene_id": 0})) == 40053
    assert errcode(qr(api, "QR_FOREVER", {"scene_id": 1})) == 40052
    assert errcode(qr(api, "QR_SCENE", {"scene_id": 2**32 - 1})) == 0
    default = qr(api, "QR_STR_SCENE", {"scene_str": "x" * 64})
    assert default["expire_seconds"] == 60 and default["url"].startswith("http://weixin.qq.com/q/")
    assert qr(api, "QR_SCENE", {"scene_id": 7}, expire_seconds=3_000_000)["expire_seconds"] == 2_592_000


def test_qr_codes_expire(api: Api, clock: ManualClock) -> None:
    temporary = qr(api, "QR_STR_SCENE", {"scene_str": "poster-9"}, expire_seconds=120)
    image = api.client.get("/cgi-bin/showqrcode", params={"ticket": temporary["ticket"]})
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    clock.advance(120)
    expired = api.client.get("/cgi-bin/showqrcode", params={"ticket": temporary["ticket"]})
    assert expired.status_code == 404 and errcode(expired.json()) != 0
    response = api.client.post(f"/sim/accounts/{APPID}/members/o_late/follow", json={"ticket": temporary["ticket"]})
    assert response.status_code == 409 and "expired" in response.json()["detail"]


def test_a_qr_follow_shows_in_user_info(api: Api) -> None:
    ticket = qr(api, "QR_LIMIT_STR_SCENE", {"scene_str": "store-3"})["ticket"]
    outcome = api.sim("members/o_qr/follow", {"ticket": ticket})
    assert outcome["fields"]["EventKey"] == "qrscene_store-3" and outcome["fields"]["Ticket"] == ticket
    info = api.get("user/info", openid="o_qr")
    assert info["subscribe_scene"] == "ADD_SCENE_QR_CODE" and info["qr_scene_str"] == "store-3"
    api.sim("members/o_id/follow", {"scene": "42"})
    assert api.get("user/info", openid="o_id")["qr_scene"] == 42


# -- media ---------------------------------------------------------------------------------------------------


def upload(api: Api, content: bytes, media_type: str = "image", field: str = "media") -> dict[str, Any]:
    response = api.client.post(
        "/cgi-bin/media/upload",
        params={"access_token": api.token, "type": media_type},
        files={field: ("poster.png", content, "image/png")},
    )
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"


def test_media_upload_and_download_for_three_days(api: Api, clock: ManualClock) -> None:
    uploaded = upload(api, PNG)
    assert uploaded["type"] == "image" and uploaded["created_at"] == int(START) and len(uploaded["media_id"]) == 64
    download = api.client.get(
        "/cgi-bin/media/get", params={"access_token": api.token, "media_id": uploaded["media_id"]}
    )
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    clock.advance(3 * 86_400)
    assert errcode(api.get("media/get", media_id=uploaded["media_id"])) == 40007
    assert errcode(api.get("media/get", media_id="never-uploaded")) == 40007


def test_media_upload_refusals(clock: ManualClock, sender: AckSender) -> None:
    with run(make_settings(media_image_max_bytes=2048), clock, sender) as client:
        api = Api(client, clock)
        assert errcode(upload(api, PNG + b"x" * 2048)) == 40009
        assert errcode(upload(api, b"%PDF-1.4 not a picture")) == 40005
        assert errcode(upload(api, PNG, media_type="sticker")) == 40004
        assert errcode(upload(api, PNG, field="file")) == 41005
        assert errcode(upload(api, PNG, media_type="thumb")) == 40005  # thumbs are JPEG only
        assert errcode(upload(api, PNG)) == 0


# -- users ------------------------------------------------------------------------------------------------


def test_user_info_says_nothing_about_non_followers(api: Api) -> None:
    api.sim("members/o_x/follow")
    info = api.get("user/info", openid="o_x")
    assert info["subscribe"] == 1 and info["subscribe_time"] == int(START)
    assert not {"nickname", "headimgurl", "sex", "city", "language"} & info.keys()
    api.sim("members/o_x/unfollow")
    assert api.get("user/info", openid="o_x") == {"subscribe": 0, "openid": "o_x"}
    assert errcode(api.get("user/info", openid="o_unknown")) == 40003


def test_user_info_batchget_takes_up_to_100(api: Api) -> None:
    for i in range(101):
        api.add_member(f"o_{i}")
    listed = [{"openid": f"o_{i}", "lang": "zh_CN"} for i in range(101)]
    assert errcode(api.post("user/info/batchget", {"user_list": listed})) == 40032
    infos = api.post("user/info/batchget", {"user_list": listed[:100]})["user_info_list"]
    assert len(infos) == 100 and infos[99]["openid"] == "o_99"


def test_user_get_pages_with_next_openid(clock: ManualClock, sender: AckSender) -> None:
    with run(make_settings(user_get_page_size=3), clock, sender) as client:
        api = Api(client, clock)
        for i in range(8):
            api.add_member(f"o_{i}", following=i != 4)
        seen: list[str] = []
        pages = []
        next_openid = ""
        while True:
            page = api.get("user/get", next_openid=next_openid)
            pages.append(page["count"])
            assert page["total"] == 7
            if not page["count"]:
                assert page["next_openid"] == ""
                break
            seen += page["data"]["openid"]
            next_openid = page["next_openid"]
            assert next_openid == seen[-1]
        assert pages == [3, 3, 1, 0]
        assert seen == [f"o_{i}" for i in range(8) if i != 4]
        assert errcode(api.get("user/get", next_openid="o_unknown")) == 40003


# -- inboxes and sim-only API ------------------------------------------------------------------------------


def test_inbox_records_every_channel_in_order(api: Api) -> None:
    api.sim("members/o_all/follow")
    api.send_text("o_all", "欢迎")
    api.post("message/template/send", {"touser": "o_all", "template_id": "T", "data": {}})
    api.post("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "群发"}})
    api.sim("members/o_all/consent", {"template_id": "S"})
    api.post("message/subscribe/bizsend", {"touser": "o_all", "template_id": "S", "data": {}})
    inbox = api.inbox("o_all")
    assert [m["channel"] for m in inbox] == ["custom", "template", "mass", "subscribe"]
    assert [m["seq"] for m in inbox] == [1, 2, 3, 4]
    later = api.client.get(f"/sim/accounts/{APPID}/members/o_all/inbox", params={"after": 2}).json()["messages"]
    assert [m["channel"] for m in later] == ["mass", "subscribe"]


def test_sim_only_mistakes_are_4xx(api: Api) -> None:
    assert api.client.post("/sim/accounts/wxnobody/members/o_1/follow").status_code == 404
    assert api.client.post(f"/sim/accounts/{APPID}/members/o_ghost/text", json={"content": "hi"}).status_code == 404
    api.add_member("o_in")
    assert api.client.post(f"/sim/accounts/{APPID}/members/o_in/follow").status_code == 409
    api.add_member("o_out", following=False)
    assert api.client.post(f"/sim/accounts/{APPID}/members/o_out/click", json={"key": "K"}).status_code == 409
    scan = api.client.post(f"/sim/accounts/{APPID}/members/o_in/scan", json={})
    assert scan.status_code == 409


def test_clock_members_and_accounts_views(api: Api, clock: ManualClock) -> None:
    assert api.client.post("/sim/clock/advance", json={"seconds": 90}).json() == {"now": START + 90}
    assert clock.now() == START + 90
    api.sim("members/o_v/follow", {"scene": "a"})
    members = api.client.get(f"/sim/accounts/{APPID}/members").json()["members"]
    assert members[0]["openid"] == "o_v" and members[0]["windows"][0]["kind"] == "event"
    accounts = api.client.get("/sim/accounts").json()
    assert accounts["accounts"][0]["mode"] == "plaintext" and "message/custom/send" in accounts["apis"]
    assert api.client.get(f"/sim/accounts/{APPID}/qrcodes").json()["qrcodes"][0]["scene"] == "a"
    assert api.client.get(f"/sim/accounts/{APPID}/pushes").json()["pushes"][0]["kind"] == "subscribe"
    assert api.client.get("/healthz").json() == {"status": "ok"}


# -- settings and wiring ------------------------------------------------------------------------------------


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    sim_account = account(APPID, encoding_aes_key=AES_KEY, secret=SECRET)
    options = {"mode": "safe", "gateway_url": "http://gw:9/wechat/{appid}", "original_id": "gh_0123456789ab"}
    assert make_settings().gateway_url(APPID) == f"http://127.0.0.1:8000/wechat/{APPID}"
    assert make_settings().original_id(APPID).startswith("gh_")
    monkeypatch.setenv("WECHAT_ACCOUNTS", json.dumps([sim_account]))
    monkeypatch.setenv("WECHAT_SIM_OPTIONS", json.dumps({APPID: options}))
    monkeypatch.setenv("PUSH_ATTEMPTS", "2")
    monkeypatch.setenv("DAILY_QUOTAS", '{"user/get": 10}')
    settings = load_settings(WeChatSimSettings)
    assert settings.service_name == "wechat-sim" and settings.push_timeout_seconds == 5
    assert settings.push_attempts == 2 and settings.options(APPID).mode is Mode.SAFE
    assert settings.gateway_url(APPID) == f"http://gw:9/wechat/{APPID}"
    assert settings.original_id(APPID) == "gh_0123456789ab"
    assert settings.daily_quotas["user/get"] == 10 and settings.daily_quotas["token"] == 2000
    assert settings.token_ttl_seconds == 7200 and settings.mass_monthly_limit == 4

    monkeypatch.setenv("WECHAT_SIM_OPTIONS", json.dumps({"wxother": {"mode": "safe"}}))
    with pytest.raises(SettingsError, match="not in WECHAT_ACCOUNTS"):
        load_settings(WeChatSimSettings)
    monkeypatch.setenv("WECHAT_SIM_OPTIONS", json.dumps({APPID: {"mode": "safe"}}))
    monkeypatch.setenv("WECHAT_ACCOUNTS", json.dumps([sim_account | {"encoding_aes_key": "short"}]))
    with pytest.raises(SettingsError, match="43 characters"):
        load_settings(WeChatSimSettings)


def test_placeholder_secrets_are_refused_outside_development() -> None:
    placeholder = account(APPID, token="changethis", encoding_aes_key=AES_KEY, secret=SECRET)
    with pytest.raises(SettingsError, match=r"wechat_accounts\[wxsimulated0001\].token"):
        load_settings(WeChatSimSettings, environment="production", wechat_accounts=[placeholder])


def test_the_process_is_registered() -> None:
    spec = PROCESSES["wechat-sim"]
    assert (spec.kind, spec.default_port) == ("http", 8200)


# -- subscription consents: popups add up, rejections and cancels, send results (issue 21 item 5) -----

SUB_NOTICE = {"touser": "o_sub", "template_id": "TPL_VISIT", "page": "pages/index", "data": {"thing1": {"value": "x"}}}


def _lists(sender: AckSender, event: str, group: str) -> list[list[dict[str, str]]]:
    return [
        parse_xml_lists(body, group)
        for body, push in zip(sender.bodies, sender.pushes, strict=True)
        if push.get("Event") == event
    ]


def test_accepted_popups_add_up_and_a_rejected_one_allows_nothing(api: Api, sender: AckSender) -> None:
    api.add_member("o_sub")
    api.sim("members/o_sub/consent", {"template_id": "TPL_VISIT"})
    api.sim("members/o_sub/consent", {"template_id": "TPL_VISIT"})
    api.sim("members/o_sub/consent", {"template_id": "TPL_OTHER", "accept": False})
    answers = _lists(sender, "subscribe_msg_popup_event", "SubscribeMsgPopupEvent")
    assert [items[0]["SubscribeStatusString"] for items in answers] == ["accept", "accept", "reject"]
    consents = api.client.get(f"/sim/accounts/{APPID}/members/o_sub").json()["consents"]
    assert [(c["template_id"], c["credits"]) for c in consents] == [("TPL_VISIT", 2)]
    assert [errcode(api.post("message/subscribe/bizsend", SUB_NOTICE)) for _ in range(3)] == [0, 0, 43101]
    other = SUB_NOTICE | {"template_id": "TPL_OTHER"}
    assert errcode(api.post("message/subscribe/bizsend", other)) == 43101


def test_each_notice_sent_is_reported_back(api: Api, sender: AckSender) -> None:
    api.add_member("o_sub")
    api.sim("members/o_sub/consent", {"template_id": "TPL_VISIT"})
    assert errcode(api.post("message/subscribe/bizsend", SUB_NOTICE)) == 0
    api.client.post("/sim/pushes/flush")
    [[result]] = _lists(sender, "subscribe_msg_sent_event", "SubscribeMsgSentEvent")
    assert (result["TemplateId"], result["ErrorCode"], result["ErrorStatus"]) == ("TPL_VISIT", "0", "success")
    [entry] = api.inbox("o_sub")
    assert entry["ref"] == result["MsgID"]


def test_a_switch_in_the_settings_cancels_the_consent(api: Api, sender: AckSender) -> None:
    api.add_member("o_sub")
    api.sim("members/o_sub/consent", {"template_id": "TPL_VISIT", "long_term": True})
    api.sim("members/o_sub/consent/cancel", {"template_id": "TPL_VISIT"})
    [[change]] = _lists(sender, "subscribe_msg_change_event", "SubscribeMsgChangeEvent")
    assert change == {"TemplateId": "TPL_VISIT", "SubscribeStatusString": "reject"}
    assert errcode(api.post("message/subscribe/bizsend", SUB_NOTICE)) == 43101
