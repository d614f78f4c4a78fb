"""Records whose handler did not finish are withheld from faust's acking; a cancelled handler does not
stop the agent, a cancelled agent still stops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from shared.messaging._worker import _InFlight


@dataclass
class _Message:
    acked: bool = False


@dataclass
class _Event:
    message: _Message = field(default_factory=_Message)


async def test_a_finished_handler_leaves_acking_to_faust() -> None:
    in_flight, events = _InFlight(), [_Event(), _Event()]

    async def work() -> None:
        await asyncio.sleep(0)

    await in_flight.run(work(), events)
    assert [event.message.acked for event in events] == [False, False]


async def test_a_cancelled_handler_withholds_its_records_and_the_agent_goes_on() -> None:
    in_flight, events = _InFlight(), [_Event(), _Event()]
    started = asyncio.Event()

    async def stuck() -> None:
        started.set()
        await asyncio.Event().wait()

    running = asyncio.create_task(in_flight.run(stuck(), events))
    await started.wait()
    assert in_flight.cancel() == 1
    await running  # returns: the agent moves on
    assert [event.message.acked for event in events] == [True, True]
    assert in_flight.cancel() == 0


async def test_a_failing_handler_withholds_its_records_and_raises() -> None:
    in_flight, events = _InFlight(), [_Event()]

    async def broken() -> None:
        raise RuntimeError("dead letters unreachable")

    with pytest.raises(RuntimeError):
        await in_flight.run(broken(), events)
    assert events[0].message.acked


async def test_stopping_the_agent_cancels_the_handler_and_is_not_swallowed() -> None:
    in_flight, events = _InFlight(), [_Event()]
    started = asyncio.Event()

    async def stuck() -> None:
        started.set()
        await asyncio.Event().wait()

    agent = asyncio.create_task(in_flight.run(stuck(), events))
    await started.wait()
    agent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await agent
    assert events[0].message.acked
