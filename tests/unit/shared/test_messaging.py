from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from shared.messaging._publisher import _partition


def test_the_cached_partitioner_agrees_with_aiokafkas_default() -> None:
    # Producers that disagreed on a key's partition would break per-member ordering.
    for partitions in (1, 4, 8, 12):
        all_partitions = list(range(partitions))
        for key in (b"o1", b"oAbC-openid", "o_中文".encode(), b"x" * 64, b""):
            expected = DefaultPartitioner()(key, all_partitions, all_partitions)
            assert _partition(key, all_partitions, all_partitions) == expected
            assert _partition(key, all_partitions, all_partitions) == expected  # from the cache


def test_keyless_records_go_to_an_available_partition() -> None:
    assert _partition(None, [0, 1, 2, 3], [2]) == 2
