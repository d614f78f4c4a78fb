"""The flat-document fast path of ``parse_xml`` reads every document exactly as the XML parser does."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.wechat import InvalidXml, parse_xml
from shared.wechat._xml import _flat_fields, parse_xml_fully

PUSH = (
    b"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[o6_bmjrPTlm6]]></FromUserName>"
    b"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    b"<Content><![CDATA[\xe6\x88\x91\xe6\x83\xb3 <b>&amp; ]] ]>]]></Content><MsgId>1234567</MsgId></xml>"
)


def _outcome(parse: object, body: bytes) -> object:
    try:
        return parse(body)  # type: ignore[operator]
    except InvalidXml:
        return InvalidXml


def _same_as_parser(body: bytes) -> None:
    assert _outcome(parse_xml, body) == _outcome(parse_xml_fully, body), body


def test_a_platform_push_takes_the_fast_path_and_reads_the_same() -> None:
    assert _flat_fields(PUSH, 200) is not None
    _same_as_parser(PUSH)
    assert parse_xml(PUSH)["Content"] == "我想 <b>&amp; ]] ]>"


@pytest.mark.parametrize(
    "body",
    [
        b"<xml></xml>",
        b"<xml>\n  <A>1</A>\n  <B><![CDATA[ x ]]></B>\n</xml>\n",
        b"<xml><A>1</A><A>2</A></xml>",  # the last one wins, as in the parser's dict
        b"<xml><A>a &amp; b</A></xml>",  # entity: the parser decides
        b"<xml><A>x\r\ny</A></xml>",  # CR: the parser normalises it
        b"<xml><A><![CDATA[x\r\ny]]></A></xml>",
        b"<xml><A><![CDATA[a]]><![CDATA[b]]></A></xml>",  # two sections
        b"<xml><A><![CDATA[x]]>y]]></A></xml>",  # "]]>" in text is not well formed
        b"<xml><A>x]]>y</A></xml>",
        b"<xml><A><B>1</B></A><C>2</C></xml>",  # nested groups are skipped
        b"<xml><A/><B>2</B></xml>",
        b'<xml><A x="1">2</A></xml>',
        b"<xml><A>1</B></xml>",
        b"<xml><A>1</A>",
        b"<xml><A>1</A></xml><B>2</B>",
        b"<xml><A>1</A></xml>trailing",
        b"<other><A>1</A></other>",
        b" <xml><A>1</A></xml>",
        b'<?xml version="1.0"?><xml><A>1</A></xml>',
        b"<xml><A>\x01</A></xml>",  # a control character is not XML
        b"<xml>\x0b<A>1</A></xml>",
        b"<xml><A>1</A>\x0c</xml>",
        b"<xml><A>1</A></xml>\r\n",
        b"<xml>\r\n<A>1</A></xml>",
        b"<xml><A><![CDATA[\x00]]></A></xml>",
        b"<xml><A>\xef\xbf\xbe</A></xml>",  # U+FFFE
        b"<xml><A>\xff\xfe</A></xml>",  # not UTF-8
        b"<xml><A>\xed\xa0\x80</A></xml>",  # a surrogate
        b"<xml><a:b>1</a:b></xml>",
        b"<xml><A>1</A ></xml>",
        b"<xml><A>   </A><B><![CDATA[]]></B></xml>",
        b"<xml><!DOCTYPE x><A>1</A></xml>",
        b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><A>&e;</A></xml>',
    ],
)
def test_edge_cases_read_as_the_parser_reads_them(body: bytes) -> None:
    _same_as_parser(body)


def test_too_many_fields_refused_on_the_fast_path_too() -> None:
    body = b"<xml>" + b"<A>1</A>" * 201 + b"</xml>"
    with pytest.raises(InvalidXml, match="more than 200"):
        parse_xml(body)


def test_hostile_sizes_stay_linear() -> None:
    for body in (
        b"<xml><A><![CDATA[" + b"]" * 200_000 + b"</A></xml>",
        b"<xml>" + b"<A>" * 50_000 + b"</xml>",
        b"<xml><A>" + b" " * 200_000,
        b"<xml>" + b"<A><![CDATA[]]]]></A>" * 20_000,
    ):
        started = time.perf_counter()
        _outcome(parse_xml, body)
        # Milliseconds when linear (under coverage on a loaded machine, about a second was seen); a
        # quadratic scan of these sizes would take minutes.
        assert time.perf_counter() - started < 10.0


_PIECES = st.sampled_from(
    [b"<xml>", b"</xml>", b"<A>", b"</A>", b"<B>", b"</B>", b"<![CDATA[", b"]]>", b"]", b"&amp;", b"&", b"<",
     b"\r", b"\n", b" ", b"\x0b", b"\t", b"x", b"1", "我".encode(), b"\x01", b"\xff", b"/>", b"<A/>"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14))
def test_random_documents_read_as_the_parser_reads_them(pieces: list[bytes]) -> None:
    _same_as_parser(b"".join(pieces))
    _same_as_parser(b"<xml>" + b"".join(pieces) + b"</xml>")
