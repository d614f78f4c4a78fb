"""The simulator's composition root: the HTTP lifespan, ``scrm run wechat-sim`` and tests build it here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.wechat_sim.adapters.clock import SystemClock
from services.wechat_sim.adapters.ids import RandomIds
from services.wechat_sim.adapters.push_sender import HttpPushSender
from services.wechat_sim.adapters.qr import OpenCvQrCodec
from services.wechat_sim.domain.account import IdSource
from services.wechat_sim.domain.clock import Clock
from services.wechat_sim.service_layer.ports import PushSender, QrCodec
from services.wechat_sim.service_layer.simulator import WeChatSimulator
from services.wechat_sim.settings import WeChatSimSettings
from shared.observability import get_logger

log = get_logger(__name__)


def build_simulator(
    settings: WeChatSimSettings,
    *,
    clock: Clock | None = None,
    sender: PushSender | None = None,
    qr: QrCodec | None = None,
    ids: IdSource | None = None,
) -> WeChatSimulator:
    """A simulator with real adapters wherever the caller passes none.

    Without a ``sender`` it POSTs with its own httpx client; close that with :func:`bootstrap`, or
    pass your own sender (an ``HttpPushSender`` over ``httpx.ASGITransport`` in tests).
    """
    return WeChatSimulator(
        settings,
        clock=clock or SystemClock(),
        sender=sender or HttpPushSender(),
        qr=qr or OpenCvQrCodec(),
        ids=ids or RandomIds(),
    )


@asynccontextmanager
async def bootstrap(
    settings: WeChatSimSettings,
    *,
    simulator: WeChatSimulator | None = None,
    clock: Clock | None = None,
    sender: PushSender | None = None,
) -> AsyncIterator[WeChatSimulator]:
    """Run a simulator: job-finish pushes go out ``job_push_delay_seconds`` after the API call."""
    owned = HttpPushSender() if simulator is None and sender is None else None
    sim = simulator or build_simulator(settings, clock=clock, sender=sender or owned)
    pump = asyncio.create_task(pump_job_pushes(sim, settings.job_push_delay_seconds), name="wechat-sim-job-pushes")
    try:
        yield sim
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        if owned is not None:
            await owned.aclose()


async def pump_job_pushes(sim: WeChatSimulator, delay_seconds: float) -> None:
    """Deliver the pushes API calls queue (TEMPLATESENDJOBFINISH, MASSSENDJOBFINISH), until cancelled."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def wake_up() -> None:  # called from whichever thread made the API call
        loop.call_soon_threadsafe(wake.set)

    sim.platform.on_pending = wake_up
    try:
        while True:
            await wake.wait()
            wake.clear()
            await asyncio.sleep(delay_seconds)
            try:
                await sim.deliver_pending()
            except Exception:
                log.exception("job-finish push failed")
    finally:
        sim.platform.on_pending = None
