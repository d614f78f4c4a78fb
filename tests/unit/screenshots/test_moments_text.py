"""read_time_row / read_title on OCR tokens: what counts as a time word and 删除, and where they are."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.screenshots.domain.moments_text import Box, OcrToken, read_time_row, read_title

GLYPH = 30
GAP = 4


def glyphs(text: str, *, left: int = 10, top: int = 5, gap_after: dict[int, int] | None = None) -> list[OcrToken]:
    """One token per character (how tesserocr's SYMBOL level reads CJK), laid out left to right."""
    tokens: list[OcrToken] = []
    x = left
    for index, char in enumerate(text):
        if char == " ":
            x += GLYPH
            continue
        tokens.append(OcrToken(char, (x, top + index % 2, GLYPH, GLYPH - index % 2)))
        x += GLYPH + GAP + (gap_after or {}).get(index, 0)
    return tokens


def union(tokens: Sequence[OcrToken]) -> Box:
    left = min(t.box[0] for t in tokens)
    top = min(t.box[1] for t in tokens)
    right = max(t.box[0] + t.box[2] for t in tokens)
    bottom = max(t.box[1] + t.box[3] for t in tokens)
    return (left, top, right - left, bottom - top)


def test_per_glyph_tokens() -> None:
    tokens = glyphs("3分钟前  删除")
    reading = read_time_row(tokens)
    assert reading.time_word == "3分钟前"
    assert reading.text == "3分钟前删除"
    assert reading.time_box == union(tokens[:4])
    assert reading.delete_box == union(tokens[4:])


def test_boxes_are_the_union_of_glyphs_of_different_heights() -> None:
    tokens = [
        OcrToken("2", (100, 12, 14, 20)),
        OcrToken("小", (118, 8, 28, 30)),
        OcrToken("时", (150, 9, 29, 26)),
        OcrToken("前", (183, 7, 30, 31)),
        OcrToken("删", (260, 10, 28, 28)),
        OcrToken("除", (292, 6, 29, 33)),
    ]
    reading = read_time_row(tokens)
    assert reading.time_word == "2小时前"
    assert reading.time_box == (100, 7, 113, 31)
    assert reading.delete_box == (260, 6, 61, 33)


def test_tokens_are_read_left_to_right_whatever_their_order() -> None:
    tokens = glyphs("5分钟前 删除")
    reading = read_time_row(list(reversed(tokens)))
    assert reading.time_word == "5分钟前"
    assert reading.delete_box == union(tokens[4:])


def test_word_tokens_as_pytesseract_returns_them() -> None:
    tokens = [OcrToken("10分钟前", (20, 4, 150, 32), 91.0), OcrToken("删除", (200, 5, 60, 31), 95.5)]
    reading = read_time_row(tokens)
    assert reading.time_word == "10分钟前"
    assert reading.time_box == (20, 4, 150, 32)
    assert reading.delete_box == (200, 5, 60, 31)


def test_noise_tokens_around_and_between_do_not_hide_the_words() -> None:
    tokens = [
        OcrToken("|", (2, 0, 3, 40), 20.0),
        *glyphs("3分钟前", left=20),
        OcrToken(".", (160, 20, 4, 4), 10.0),
        OcrToken("“", (175, 2, 6, 8), 15.0),
        *glyphs("删除", left=220),
        OcrToken("_", (300, 30, 10, 2), 5.0),
    ]
    reading = read_time_row(tokens)
    assert reading.time_word == "3分钟前"
    assert reading.time_box == union(tokens[1:5])
    assert reading.delete_box == union(tokens[7:9])
    assert reading.text == "|3分钟前.“删除_"


def test_whitespace_inside_and_around_tokens() -> None:
    tokens = [OcrToken(" 3 分钟 前 ", (10, 5, 140, 30)), OcrToken(" 删 除", (180, 5, 70, 30))]
    reading = read_time_row(tokens)
    assert reading.time_word == "3分钟前"
    assert reading.time_box == (10, 5, 140, 30)
    assert reading.delete_box == (180, 5, 70, 30)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("刚刚", "刚刚"),
        ("刚 刚", "刚刚"),
        ("1分钟前", "1分钟前"),
        ("59分钟前", "59分钟前"),
        ("5分钟", "5分钟"),  # 前 dropped by the OCR
        ("3小时前", "3小时前"),
        ("23小时", "23小时"),
        ("昨天", "昨天"),
        ("2天前", "2天前"),
        ("3月5日", "3月5日"),
        ("12月31日", "12月31日"),
        ("３分钟前", "３分钟前"),  # full-width digit
        ("l分钟前", "l分钟前"),  # 1 read as l
        ("lO分钟前", "lO分钟前"),  # 10 read as lO
    ],
)
def test_time_words(text: str, word: str) -> None:
    tokens = glyphs(text + " 删除")
    reading = read_time_row(tokens)
    assert reading.time_word == word
    assert reading.delete_box is not None
    # The delete box is the last two glyphs, right of the time word.
    assert reading.delete_box == union(tokens[-2:])
    assert reading.time_box is not None
    assert reading.time_box[0] + reading.time_box[2] <= reading.delete_box[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "宝妈们快来领取",
        "分钟前",  # no number
        "天前",
        "小时",
        "刚",
        "昨",
        "月5日",
        "3月",
        "abc 123",
    ],
)
def test_no_time_word(text: str) -> None:
    reading = read_time_row(glyphs(text))
    assert reading.time_word is None
    assert reading.time_box is None
    assert reading.delete_box is None


def test_no_tokens() -> None:
    reading = read_time_row([])
    assert (reading.time_word, reading.time_box, reading.delete_box, reading.text) == (None, None, None, "")


def test_delete_alone_is_still_found() -> None:
    tokens = glyphs("删除")
    reading = read_time_row(tokens)
    assert reading.time_word is None
    assert reading.delete_box == union(tokens)


@pytest.mark.parametrize("lone", ["删", "除"])
def test_a_lone_delete_glyph_counts_after_a_time_word(lone: str) -> None:
    tokens = glyphs(f"3分钟前 {lone}")
    reading = read_time_row(tokens)
    assert reading.time_word == "3分钟前"
    assert reading.delete_box == tokens[-1].box


@pytest.mark.parametrize("lone", ["删", "除", "删 x 除"])
def test_a_lone_delete_glyph_without_a_time_word_does_not_count(lone: str) -> None:
    reading = read_time_row(glyphs(f"宝妈 {lone}"))
    assert reading.time_word is None
    assert reading.delete_box is None


def test_delete_before_the_time_word_does_not_count() -> None:
    reading = read_time_row(glyphs("删 3分钟前"))
    assert reading.time_word == "3分钟前"
    assert reading.delete_box is None


def test_the_first_delete_after_the_time_word_is_taken() -> None:
    tokens = glyphs("昨天 删除 删除")
    reading = read_time_row(tokens)
    assert reading.delete_box == union(tokens[2:4])


def test_time_word_after_other_text() -> None:
    tokens = glyphs("宝妈们 2天前 删除")
    reading = read_time_row(tokens)
    assert reading.time_word == "2天前"
    assert reading.time_box == union(tokens[3:6])
    assert reading.delete_box == union(tokens[6:8])


def test_a_gap_between_glyphs_is_inside_the_union() -> None:
    tokens = glyphs("3分钟前删除", gap_after={1: 40, 4: 25})
    reading = read_time_row(tokens)
    assert reading.time_box == (10, 5, tokens[3].box[0] + GLYPH - 10, GLYPH)
    assert reading.delete_box == (tokens[4].box[0], 5, tokens[5].box[0] + GLYPH - tokens[4].box[0], GLYPH)


@pytest.mark.parametrize(
    ("text", "title"),
    [("朋友圈", "朋友圈"), ("< 朋友圈 ", "朋友圈"), ("朋 友 圈", "朋友圈"), ("详情", "详情"), ("< 详情 ...", "详情")],
)
def test_read_title(text: str, title: str) -> None:
    assert read_title(glyphs(text)) == title


@pytest.mark.parametrize("text", ["", "朋友", "友圈", "聊天信息", "相册"])
def test_read_title_none(text: str) -> None:
    assert read_title(glyphs(text)) is None


def test_read_title_with_word_tokens_out_of_order() -> None:
    tokens = [OcrToken("圈", (120, 0, 30, 30)), OcrToken("朋友", (50, 0, 60, 30)), OcrToken("<", (5, 0, 10, 30))]
    assert read_title(tokens) == "朋友圈"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Just now", "Justnow"),
        ("1 min ago", "1minago"),
        ("5 mins ago", "5minsago"),
        ("5 minutes ago", "5minutesago"),
        ("1 hr ago", "1hrago"),
        ("3 hrs ago", "3hrsago"),
        ("12 hours ago", "12hoursago"),
        ("Yesterday", "Yesterday"),
        ("Yesterday 12:30", "Yesterday12:30"),
        ("Yesterdav 13:57", "Yesterdav13:57"),  # the last letter misread
        ("昨天 12:30", "昨天12:30"),
        ("2 days ago", "2daysago"),
        ("Dec 3", "Dec3"),
    ],
)
def test_english_time_words(text: str, word: str) -> None:
    # WeChat in English; OCR returns glyphs, so the words come without their spaces.
    reading = read_time_row(glyphs(text.replace(" ", "") + "Delete"))
    assert reading.time_word == word
    assert reading.delete_box is not None
    assert reading.between == ""  # a clock time after Yesterday is part of the time, not an icon


@pytest.mark.parametrize("text", ["Today", "Tomorrow", "Delete", "mins ago", "Moments"])
def test_no_english_time_word(text: str) -> None:
    assert read_time_row(glyphs(text.replace(" ", ""))).time_word is None


@pytest.mark.parametrize(("text", "title"), [("Moments", "朋友圈"), ("Details", "详情")])
def test_english_titles(text: str, title: str) -> None:
    assert read_title(glyphs(text)) == title


@pytest.mark.parametrize("text", ["YesterdayDeltee", "5minsagoDelcte", "昨天Deletc"])
def test_delete_with_its_tail_misread_counts_after_a_time_word(text: str) -> None:
    reading = read_time_row(glyphs(text))
    assert reading.time_word is not None
    assert reading.delete_box is not None
    assert reading.between == ""


@pytest.mark.parametrize("text", ["Delivery", "Deltee", "Delicious food"])
def test_a_loose_delete_alone_is_nothing(text: str) -> None:
    reading = read_time_row(glyphs(text))
    assert reading.time_word is None
    assert reading.delete_box is None
