"""The re-use benchmark's own parts: the crowd's fingerprints, the synthetic members' keys, the
comparison timing (the MongoDB part runs in ``make bench``)."""

from __future__ import annotations

import random

from scrm_dev.bench_reuse import _compare_ms, _document, _member_keys, crowd_fingerprints
from services.screenshots import lookup_keys


def test_crowd_fingerprints_carry_a_descriptor_with_lines() -> None:
    prints = crowd_fingerprints(5)
    assert len(prints) == 5 and len({p.sha256 for p in prints}) == 5
    assert all(p.context is not None and b"L" in p.context for p in prints)
    timings = _compare_ms(prints, rounds=3)
    assert len(timings) == 3 and all(ms > 0 for ms in timings)


def test_members_share_the_crowds_keys_and_have_their_own() -> None:
    base = ["f:" + "0" * 64, "b0:abcd", "l0:1234"]
    rng = random.Random(1)
    one, two = _member_keys(base, rng, 1), _member_keys(base, rng, 2)
    assert one[0] != two[0] and one[0].startswith("f:")  # their own files
    assert {"b0:abcd", "l0:1234"} <= set(one) & set(two)  # the crowd's
    assert len(set(one) - set(two)) >= 10  # their own lines
    document = _document(1, one)
    assert document["reuse_keys"] == one and document["fingerprint"]["sha256"] == one[0][2:]
    assert lookup_keys(crowd_fingerprints(1)[0])[0].startswith("f:")


def test_the_crowd_renderer_draws_a_post_and_copies_it() -> None:
    import io

    from PIL import Image

    from scrm_dev.reuse_crowd import copy_of, crowd_look, crowd_member, crowd_screenshot, encode
    from scrm_dev.screenshot_corpus import make_poster

    rng = random.Random(3)
    look = crowd_look(rng)
    image, box = crowd_screenshot(make_poster(2, "http://weixin.qq.com/q/02crowd"), crowd_member(rng, look), look)
    assert image.size == look.size and 0 <= box[0] < box[2] <= look.size[0] and 0 <= box[1] < box[3] <= look.size[1]
    original = encode(image, 80)
    again = Image.open(io.BytesIO(copy_of(original, rng)))
    assert again.width <= image.width and again.height <= image.height  # cropped, maybe smaller
