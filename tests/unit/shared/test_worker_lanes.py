"""Partitions handled side by side (``Subscription.partitions_in_parallel``): records of one partition
in offset order, a slow one delays only its partition, and only handled records are acknowledged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.messaging._worker import _InFlight, _Lanes


@dataclass
class _Message:
    partition: int
    offset: int
    acked: bool = False


@dataclass
class _Event:
    message: _Message


@dataclass
class _Stream:
    acked: list[tuple[int, int]] = field(default_factory=list)

    async def ack(self, event: Any) -> bool:
        self.acked.append((event.message.partition, event.message.offset))
        return True


def _event(partition: int, offset: int) -> _Event:
    return _Event(_Message(partition, offset))


async def test_a_slow_record_delays_only_its_own_partition() -> None:
    lanes, in_flight, stream = _Lanes(8), _InFlight(), _Stream()
    release, order = asyncio.Event(), []

    async def handle(partition: int, offset: int, slow: bool = False) -> None:
        if slow:
            await release.wait()
        order.append((partition, offset))

    await lanes.add(0, handle(0, 0, slow=True), _event(0, 0), in_flight, stream)
    await lanes.add(0, handle(0, 1), _event(0, 1), in_flight, stream)
    await lanes.add(1, handle(1, 0), _event(1, 0), in_flight, stream)
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == [(1, 0)]  # partition 1 went on; partition 0's second record waits its turn
    release.set()
    await lanes.join()
    assert order == [(1, 0), (0, 0), (0, 1)]
    assert sorted(stream.acked) == [(0, 0), (0, 1), (1, 0)]


async def test_records_in_flight_are_bounded() -> None:
    lanes, in_flight, stream = _Lanes(2), _InFlight(), _Stream()
    release = asyncio.Event()

    async def stuck() -> None:
        await release.wait()

    await lanes.add(0, stuck(), _event(0, 0), in_flight, stream)
    await lanes.add(1, stuck(), _event(1, 0), in_flight, stream)
    third = asyncio.create_task(lanes.add(2, stuck(), _event(2, 0), in_flight, stream))
    await asyncio.sleep(0.01)
    assert not third.done()  # the stream is not read further until a record finishes
    release.set()
    await third
    await lanes.join()


async def test_a_failed_record_holds_back_the_rest_of_its_partition_and_is_raised() -> None:
    lanes, in_flight, stream = _Lanes(8), _InFlight(), _Stream()
    ran: list[int] = []

    async def broken() -> None:
        raise RuntimeError("dead letters unreachable")

    async def fine(offset: int) -> None:
        ran.append(offset)

    first, second, other = _event(0, 0), _event(0, 1), _event(1, 0)
    await lanes.add(0, broken(), first, in_flight, stream)
    await lanes.add(0, fine(1), second, in_flight, stream)
    await lanes.add(1, fine(10), other, in_flight, stream)
    with pytest.raises(RuntimeError):
        await lanes.join()
    assert ran == [10]
    # Neither record of partition 0 is acknowledged: both come again from the last commit.
    assert stream.acked == [(1, 0)]
    assert first.message.acked and second.message.acked  # withheld from faust's own acking
    with pytest.raises(RuntimeError):
        lanes.raise_failure()


async def test_closing_cancels_what_is_still_running_and_withholds_it() -> None:
    lanes, in_flight, stream = _Lanes(8), _InFlight(), _Stream()
    started = asyncio.Event()

    async def stuck() -> None:
        started.set()
        await asyncio.Event().wait()

    async def after() -> None:
        raise AssertionError("must not run after its partition was closed")

    running, waiting = _event(0, 0), _event(0, 1)
    await lanes.add(0, stuck(), running, in_flight, stream)
    await lanes.add(0, after(), waiting, in_flight, stream)
    await started.wait()
    await lanes.close()
    assert stream.acked == []
    assert running.message.acked and waiting.message.acked
