"""``parse_xml_lists``: the nested ``<List>`` items of subscription-message pushes, bounded."""

from __future__ import annotations

import pytest

from shared.wechat import InvalidXml, parse_xml, parse_xml_lists, to_xml


def test_every_item_of_the_group_is_read_and_the_flat_fields_stay_as_they_were() -> None:
    body = to_xml(
        {
            "ToUserName": "gh",
            "Event": "subscribe_msg_popup_event",
            "SubscribeMsgPopupEvent": {
                "List": [
                    {"TemplateId": "A", "SubscribeStatusString": "accept", "PopupScene": 2},
                    {"TemplateId": "B", "SubscribeStatusString": "reject", "PopupScene": 0},
                ]
            },
        }
    )
    assert parse_xml_lists(body, "SubscribeMsgPopupEvent") == [
        {"TemplateId": "A", "SubscribeStatusString": "accept", "PopupScene": "2"},
        {"TemplateId": "B", "SubscribeStatusString": "reject", "PopupScene": "0"},
    ]
    assert parse_xml(body) == {"ToUserName": "gh", "Event": "subscribe_msg_popup_event"}
    assert parse_xml_lists(body, "SubscribeMsgChangeEvent") == []


def test_one_item_renders_and_reads_as_a_list_of_one() -> None:
    body = to_xml({"G": {"List": {"TemplateId": "A"}}})
    assert parse_xml_lists(body, "G") == [{"TemplateId": "A"}]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><G><List><T>&e;</T></List></G></xml>', "declarations"),
        (b"<xml><G><List><T>a</T></List>", "malformed"),
        (b"<root><G/></root>", "root element"),
        (to_xml({"G": {"List": [{"T": str(n)} for n in range(21)]}}), "more than 20 items"),
    ],
)
def test_hostile_documents_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidXml, match=reason):
        parse_xml_lists(body, "G")
