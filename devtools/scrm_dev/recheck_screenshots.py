"""Screenshots of one Moments post taken at two moments: what a share re-check receives.

:func:`post_screenshot` draws family A's genuine screenshot of a member's post (``make_share_screenshot``)
with the time row fixed: the same ``seed`` draws the same phone, avatar, nickname, words and crop, so
``post_screenshot(poster, 3, "刚刚")`` and ``post_screenshot(poster, 3, "3小时前")`` are the same post
seen when it was new and some hours later.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

from PIL import Image

from scrm_dev import screenshot_corpus

__all__ = ["post_screenshot"]


@contextlib.contextmanager
def _time_row(word: str) -> Iterator[None]:
    """The corpus draws every time row with ``_time_word``: this one says ``word`` (its draws from the
    random source are still made, so everything else on the screen comes out as without it)."""
    original = screenshot_corpus._time_word

    def fixed(rng: random.Random, english: bool = False) -> str:
        original(rng, english)
        return word

    screenshot_corpus._time_word = fixed
    try:
        yield
    finally:
        screenshot_corpus._time_word = original


def post_screenshot(poster: Image.Image, seed: int, time_word: str) -> bytes:
    """A light-mode feed screenshot of the member's post (drawn from ``seed``) whose time row reads
    ``time_word``, as JPEG bytes."""
    rng = random.Random(seed)  # noqa: S311  (a reproducible drawing, not a secret)
    with _time_row(time_word):
        return screenshot_corpus.make_share_screenshot(poster, rng, dark=False, view="feed")
