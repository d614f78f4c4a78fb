"""Reward codes: reading uploaded CSV files and generating codes."""

from __future__ import annotations

import pytest

from services.campaigns.domain.rewards import (
    MAX_CODES_PER_UPLOAD,
    READABLE_ALPHABET,
    CodeUploadInvalid,
    PoolStock,
    decode_csv,
    generate_codes,
    parse_codes_csv,
)


def test_one_code_per_line() -> None:
    parsed = parse_codes_csv(b"AAA111\nBBB222\r\nCCC333")
    assert parsed.codes == ("AAA111", "BBB222", "CCC333")
    assert parsed.duplicates == 0 and parsed.rejected == ()


def test_a_bom_blank_lines_and_padding_are_ignored() -> None:
    parsed = parse_codes_csv("\ufeffAAA111\n\n  BBB222  \n,\n\n".encode())
    assert parsed.codes == ("AAA111", "BBB222")
    assert parsed.rejected == ()


def test_a_header_with_a_code_column_picks_that_column() -> None:
    data = "\ufeff序号,Code,备注\n1,AAA111,首批\n2,,缺码\n3,BBB222\n4\n".encode()
    parsed = parse_codes_csv(data)
    assert parsed.codes == ("AAA111", "BBB222")
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (3, "no value in the 'code' column"),
        (5, "no value in the 'code' column"),
    ]


def test_repeated_codes_are_kept_once_and_counted() -> None:
    parsed = parse_codes_csv(b"AAA111\nBBB222\nAAA111\nAAA111\n")
    assert parsed.codes == ("AAA111", "BBB222")
    assert parsed.duplicates == 2


def test_invalid_lines_are_reported_with_their_number_and_reason() -> None:
    parsed = parse_codes_csv("AAA111\nAB\nhas space\nAAA111,BBB222\n优惠码1\nCCC333\n".encode())
    assert parsed.codes == ("AAA111", "CCC333")
    assert [r.line for r in parsed.rejected] == [2, 3, 4, 5]
    assert "one code per line" in parsed.rejected[2].reason
    assert parsed.rejected[0].text == "AB"


def test_only_the_first_hundred_rejections_are_listed() -> None:
    parsed = parse_codes_csv(b"ok-code\n" + b"x\n" * 150)
    assert len(parsed.rejected) == 100 and parsed.rejected_more == 50


def test_chinese_excel_csv_in_gb18030_is_read() -> None:
    parsed = parse_codes_csv("说明,券码\n母婴礼包,AAA111\n".encode("gb18030"))
    assert parsed.codes == ("AAA111",)
    assert parsed.rejected == ()
    assert decode_csv("母婴礼包".encode("gb18030")) == "母婴礼包"


def test_binary_data_is_refused() -> None:
    with pytest.raises(CodeUploadInvalid):
        parse_codes_csv(b"\x89PNG\r\n\x1a\n\xff\xfe\x80\x81")


def test_too_many_codes_are_refused() -> None:
    data = "\n".join(f"CODE{n:07d}" for n in range(MAX_CODES_PER_UPLOAD + 1)).encode()
    with pytest.raises(CodeUploadInvalid, match="split"):
        parse_codes_csv(data)


def test_an_empty_file_has_no_codes() -> None:
    assert parse_codes_csv(b"").codes == ()


def test_generated_codes_are_distinct_and_readable() -> None:
    codes = generate_codes(500, length=8, prefix="MY-")
    assert len(set(codes)) == 500
    for code in codes:
        assert code.startswith("MY-") and len(code) == 11
        assert set(code[3:]) <= set(READABLE_ALPHABET)
    assert not set("01IOL25SZ") & set(READABLE_ALPHABET)
    assert generate_codes(3) != generate_codes(3)


@pytest.mark.parametrize(("count", "length", "prefix"), [(0, 10, ""), (100_001, 10, ""), (5, 4, ""), (5, 10, "a b")])
def test_generation_limits(count: int, length: int, prefix: str) -> None:
    with pytest.raises(ValueError):
        generate_codes(count, length=length, prefix=prefix)


def test_stock_remaining() -> None:
    assert PoolStock("A", 10, 3).remaining == 7
