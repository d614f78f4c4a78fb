"""What the simulator's routes take from a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from services.wechat_sim.service_layer.simulator import WeChatSimulator
from shared.web import service_of

AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
OpenId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _sim(request: Request) -> WeChatSimulator:
    sim: WeChatSimulator = service_of(request)
    return sim


SimDep = Annotated[WeChatSimulator, Depends(_sim)]
