"""The publisher's murmur2 partitions exactly as aiokafka's (and the Java client's) does."""

from __future__ import annotations

import random

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
