"""The simulator over HTTP: the platform's ``/cgi-bin/`` API and the sim-only ``/sim/`` API.

``/cgi-bin/`` answers like the platform: HTTP 200 with JSON (``{errcode, errmsg}`` on refusal), PNGs
from ``showqrcode`` and the media bytes from ``media/get``. ``/sim/`` is for tests and demos: members
act (follow, scan, write...) and the answer says what happened to the push; inboxes, faults and the
clock are there too. Sim-only mistakes are 404 (unknown account or member), 409 (the member cannot do
that now) or 422.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.wechat_sim.bootstrap import bootstrap
from services.wechat_sim.domain.clock import Clock
from services.wechat_sim.domain.errors import ApiError, InvalidAction, UnknownAccount, UnknownMember
from services.wechat_sim.entrypoints.http import platform, sim
from services.wechat_sim.service_layer.ports import PushSender
from services.wechat_sim.service_layer.simulator import WeChatSimulator
from services.wechat_sim.settings import WeChatSimSettings
from shared.observability import get_logger
from shared.web import create_service_app

log = get_logger(__name__)


def create_app(
    settings: WeChatSimSettings,
    *,
    simulator: WeChatSimulator | None = None,
    clock: Clock | None = None,
    sender: PushSender | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def open_simulator() -> AsyncIterator[WeChatSimulator]:
        async with bootstrap(settings, simulator=simulator, clock=clock, sender=sender) as running:
            log.info("wechat simulator ready", accounts=running.platform.appids)
            yield running

    app: FastAPI = create_service_app(
        settings,
        title="WeChat Official Account platform simulator",
        summary="The platform's /cgi-bin API and webhook pushes, in memory, for local runs and tests.",
        bootstrap=open_simulator,
        readiness={},
        public_routers=[platform.router, sim.router],
        # Media uploads are read by the /cgi-bin route under the media limits.
        self_limited_bodies=[r"/cgi-bin/.*"],
        errors={UnknownAccount: 404, UnknownMember: 404, InvalidAction: 409},
        exception_handlers={ApiError: _refused},
    )
    return app


async def _refused(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"detail": exc.errmsg, "errcode": exc.errcode}, status_code=422)
