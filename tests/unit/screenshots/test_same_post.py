"""``same_post``: a member's Moments post seen again hours later (its time row changed) is the same
post; another member's post of the same poster is not; fingerprints without context say nothing."""

from __future__ import annotations

import io

import pytest

from scrm_dev.recheck_screenshots import post_screenshot
from scrm_dev.screenshot_corpus import make_poster
from services.screenshots import Fingerprint, same_post
from services.screenshots.adapters.analyzer import Analyzer
from services.screenshots.adapters.ocr import TesserocrEngine


@pytest.fixture(scope="module")
def analyzer(engine: TesserocrEngine) -> Analyzer:
    return Analyzer(engine)


@pytest.mark.parametrize("member", [0, 3])
def test_the_same_post_later_is_the_same_and_someone_elses_is_not(analyzer: Analyzer, member: int) -> None:
    payload = f"http://weixin.qq.com/q/member{member}"
    poster = make_poster(7, payload)
    buffer = io.BytesIO()
    poster.save(buffer, "PNG")
    reference = buffer.getvalue()

    def fingerprint(seed: int, time_word: str) -> Fingerprint:
        analysis = analyzer.analyze(post_screenshot(poster, seed, time_word), reference, payload)
        assert analysis.evidence.time_word == time_word
        return analysis.fingerprint

    first = fingerprint(member, "刚刚")
    assert same_post(first, fingerprint(member, "3小时前")) is True
    assert same_post(first, fingerprint(member + 1000, "3小时前")) is False


def test_without_context_nothing_is_said() -> None:
    assert same_post(Fingerprint("a", None), Fingerprint("b", None)) is None
    assert same_post(Fingerprint("a", b"\x00" * 10), Fingerprint("b", None)) is None
