"""CSV exports: cells no spreadsheet runs (CSV injection), one BOM, CRLF, RFC 4180 quoting, and the
download's response and attachment name (shared.web)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.tabular import BOM, csv_line, csv_text, safe_cell
from shared.web import CSV_MEDIA_TYPE, attachment, csv_response, streaming_csv_response

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "-1",
    # What spreadsheets skip before reading a formula: spaces, line breaks, NBSP, the ideographic space,
    # zero-width characters.
    " =1+1",
    "  @x",
    "\n=1+1",
    "\u00a0=1+1",
    "\u3000=1+1",
    "\u200b=1+1",
    " \u200b -1+1",
    # Full-width signs, as Chinese input methods type them.
    "\uff1d1+1",
    "\uff0b1",
    "\uff0d1",
    "\uff20x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_would_start_a_formula_is_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["妈妈群", "o_mom", "a=b", "1+1", "", "-", " hello", "'=already text", "2026-03-01"])
def test_other_text_is_left_as_it_is(text: str) -> None:
    assert safe_cell(text) == text


def test_numbers_stay_numbers_and_other_values_are_written_plainly() -> None:
    assert [safe_cell(v) for v in (-3, -0.5, 0, 12, Decimal("-1.25"), 1e-7)] == [
        "-3",
        "-0.5",
        "0",
        "12",
        "-1.25",
        "1e-07",
    ]
    assert [safe_cell(v) for v in (None, True, False, date(2026, 3, 1))] == ["", "true", "false", "2026-03-01"]
    # Not numbers a spreadsheet reads: -inf would be taken for a name.
    assert safe_cell(float("-inf")) == "'-inf" and safe_cell(Decimal("-Infinity")) == "'-Infinity"


def test_a_document_has_one_bom_crlf_lines_and_quotes_what_needs_it() -> None:
    rows: list[list[object]] = [
        ["name", "count"],
        ['贝贝 "best", ever', -3],
        ["two\nlines", 1],
        [],
        ["=1+1", None],
    ]
    text = csv_text(rows)
    assert text.startswith(BOM) and text.count(BOM) == 1
    assert text.removeprefix(BOM).split("\r\n")[:2] == ["name,count", '"贝贝 ""best"", ever",-3']
    assert "\r\n\r\n'=1+1,\r\n" in text
    assert list(csv.reader(io.StringIO(text.removeprefix(BOM), newline=""))) == [
        ["name", "count"],
        ['贝贝 "best", ever', "-3"],
        ["two\nlines", "1"],
        [],
        ["'=1+1", ""],
    ]


def test_a_line_is_one_row_with_crlf() -> None:
    assert csv_line(("a", "@b", 1)) == "a,'@b,1\r\n"
    assert csv_line([]) == "\r\n"
    assert BOM + csv_line(["h"]) + csv_line(["v"]) == csv_text([["h"], ["v"]])


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("overview_wx1_2026-03-01_2026-03-02.csv", 'attachment; filename="overview_wx1_2026-03-01_2026-03-02.csv"'),
        (
            "贝贝 report.csv",
            "attachment; filename=\"_report.csv\"; filename*=UTF-8''%E8%B4%9D%E8%B4%9D%20report.csv",
        ),
        ("贝贝.csv", "attachment; filename=\"download.csv\"; filename*=UTF-8''%E8%B4%9D%E8%B4%9D.csv"),
        ('a"b\\c/d.csv', 'attachment; filename="a_b_c_d.csv"'),
        (
            "evil\r\nSet-Cookie: x=1.csv",
            "attachment; filename=\"evilSet-Cookie_x_1.csv\"; filename*=UTF-8''evilSet-Cookie%3A%20x%3D1.csv",
        ),
        ("", 'attachment; filename="download"'),
        ("../../.bashrc", "attachment; filename=\"download.bashrc\"; filename*=UTF-8''_.._.bashrc"),
    ],
)
def test_the_attachment_name_is_plain_ascii_with_the_exact_name_beside_it(name: str, header: str) -> None:
    assert attachment(name) == header


def test_an_attachment_header_is_ascii_without_line_breaks_and_names_the_file() -> None:
    header = attachment("活动-妈妈群\u202egpj.csv\x00")
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == "活动-妈妈群gpj.csv"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/whole")
    async def whole() -> object:
        return csv_response(csv_text([["name"], ["=x"]]), "名单.csv")

    @app.get("/streamed")
    async def streamed() -> object:
        async def lines() -> AsyncIterator[str]:
            yield BOM + csv_line(["name"])
            for name in ("=x", "ok"):
                await asyncio.sleep(0)
                yield csv_line([name])

        return streaming_csv_response(lines(), "list.csv")

    return app


def test_responses_are_utf8_csv_downloads() -> None:
    client = TestClient(_app())
    whole, streamed = client.get("/whole"), client.get("/streamed")
    for response in (whole, streamed):
        assert response.status_code == 200
        assert response.headers["content-type"] == CSV_MEDIA_TYPE
        assert response.content == (BOM + "name\r\n'=x\r\n").encode() + (b"ok\r\n" if response is streamed else b"")
    assert whole.headers["content-disposition"] == attachment("名单.csv")
    assert streamed.headers["content-disposition"] == 'attachment; filename="list.csv"'
