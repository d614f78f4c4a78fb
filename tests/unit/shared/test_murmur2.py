"""The publisher's murmur2 partitions exactly as aiokafka's (and the Java client's) does."""

from __future__ import annotations

import gc
import random

import pytest
from aiokafka.partitioner import murmur2

from shared.messaging._publisher import murmur2_words


def test_same_hash_as_aiokafka_for_every_length_and_byte_value() -> None:
    rng = random.Random(20)
    for length in range(0, 70):
        for _ in range(40):
            data = bytes(rng.randrange(256) for _ in range(length))
            assert murmur2_words(data) == murmur2(data), data


def test_openid_shaped_keys_and_extreme_bytes() -> None:
    for data in (b"", b"\x00", b"\xff" * 7, b"\x80\x00\xff", b"o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "会员".encode()):
        assert murmur2_words(data) == murmur2(data)


def test_the_key_hash_cache_is_bounded_and_invisible_to_the_garbage_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import OrderedDict

    from shared.messaging import _publisher

    monkeypatch.setattr(_publisher, "_KEY_HASHES", OrderedDict())
    monkeypatch.setattr(_publisher, "_KEY_HASHES_MAX", 100)
    keys = [f"o{number}".encode() for number in range(1000)]
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        hashes = [_publisher._key_hash(key) for key in keys]
        assert gc.get_count()[0] - before < 50  # no tracked object per key (lru_cache kept one)
    finally:
        gc.enable()
    assert hashes == [murmur2_words(key) & 0x7FFFFFFF for key in keys]
    assert len(_publisher._KEY_HASHES) == 100 and keys[-1] in _publisher._KEY_HASHES
