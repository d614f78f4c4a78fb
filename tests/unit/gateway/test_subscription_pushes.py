"""Subscription-message pushes (issue 21 item 5): the popup answer, the settings switch and the send
result become their own events with every template's ``<List>`` item, parsed from the nested XML;
hostile lists are refused with a 4xx, and two results in one second are two pushes, not a retry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from services.gateway.domain.pushes import parse
from shared.contracts import (
    SubscriptionPopupAnswered,
    SubscriptionSendFinished,
    SubscriptionSettingsChanged,
)
from shared.wechat import to_xml
from tests.unit.gateway.test_gateway import Harness, make

NOW = int(time.time())


@pytest.fixture
def gw() -> Iterator[Harness]:
    yield from make()


def _push(event: str, group: str, items: list[dict[str, Any]], *, at: int = NOW) -> bytes:
    header = {"ToUserName": "gh", "FromUserName": "o1", "CreateTime": at, "MsgType": "event", "Event": event}
    return to_xml(header | {group: {"List": items}})


def test_each_subscription_push_becomes_its_event_with_every_template(gw: Harness) -> None:
    popup = _push(
        "subscribe_msg_popup_event",
        "SubscribeMsgPopupEvent",
        [
            {"TemplateId": "TPL_A", "SubscribeStatusString": "accept", "PopupScene": 2},
            {"TemplateId": "TPL_B", "SubscribeStatusString": "reject", "PopupScene": 2},
        ],
    )
    change = _push(
        "subscribe_msg_change_event",
        "SubscribeMsgChangeEvent",
        [{"TemplateId": "TPL_A", "SubscribeStatusString": "reject"}],
    )
    sent = _push(
        "subscribe_msg_sent_event",
        "SubscribeMsgSentEvent",
        [{"TemplateId": "TPL_A", "MsgID": 1700827132819554304, "ErrorCode": 0, "ErrorStatus": "success"}],
    )
    for body in (popup, change, sent):
        assert gw.post(body).status_code == 200
    answered, changed, finished = gw.events()
    assert isinstance(answered, SubscriptionPopupAnswered)
    assert [(c.template_id, c.status, c.scene) for c in answered.choices] == [
        ("TPL_A", "accept", "2"),
        ("TPL_B", "reject", "2"),
    ]
    assert isinstance(changed, SubscriptionSettingsChanged)
    assert [(c.template_id, c.status) for c in changed.choices] == [("TPL_A", "reject")]
    assert isinstance(finished, SubscriptionSendFinished)
    [result] = finished.results
    assert (result.template_id, result.msg_id, result.error_code, result.error_status) == (
        "TPL_A",
        "1700827132819554304",
        0,
        "success",
    )


def test_two_send_results_in_one_second_are_two_pushes_and_a_retry_is_one(gw: Harness) -> None:
    def result(msg_id: int) -> bytes:
        item = {"TemplateId": "TPL_A", "MsgID": msg_id, "ErrorCode": 0, "ErrorStatus": "success"}
        return _push("subscribe_msg_sent_event", "SubscribeMsgSentEvent", [item])

    assert parse(result(1)).dedup_key("wx1") != parse(result(2)).dedup_key("wx1")
    for body in (result(1), result(1), result(2)):
        assert gw.post(body).status_code == 200
    assert len(gw.events()) == 2


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ([{"TemplateId": f"T{n}", "SubscribeStatusString": "accept"} for n in range(21)], "more than 20 items"),
        ([{"TemplateId": "T" * 129, "SubscribeStatusString": "accept"}], "template_id"),
        ([{"TemplateId": "", "SubscribeStatusString": "accept"}], "template_id"),
    ],
)
def test_hostile_lists_are_refused_with_a_reason(gw: Harness, items: list[dict[str, Any]], reason: str) -> None:
    response = gw.post(_push("subscribe_msg_popup_event", "SubscribeMsgPopupEvent", items))
    assert response.status_code == 400
    assert reason in response.text
    assert gw.events() == []


def test_a_popup_without_items_is_kept_raw(gw: Harness) -> None:
    body = to_xml(
        {
            "ToUserName": "gh",
            "FromUserName": "o1",
            "CreateTime": NOW,
            "MsgType": "event",
            "Event": "subscribe_msg_popup_event",
        }
    )
    assert gw.post(body).status_code == 200
    [event] = gw.events()
    assert type(event).__name__ == "PushReceived"
