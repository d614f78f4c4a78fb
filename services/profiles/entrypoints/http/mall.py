"""The mall webhook (public; the shop signs each request): one event as JSON, or NDJSON in bulk.

The route only reads the body under its limit; the use case checks the signature and every event and
publishes them to Kafka (``mall.events``) for the profiles worker, which applies each once.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from services.profiles.bootstrap import Profiles
from services.profiles.entrypoints.http.deps import ProfilesDep
from services.profiles.entrypoints.http.schemas import Accepted
from services.profiles.service_layer.mall_webhook import EventsRejected, receive_mall_events
from shared.request_bodies import read_body

__all__ = ["TAG", "events_rejected", "router"]

TAG = "mall webhook"
router = APIRouter(tags=[TAG])

SignatureHeader = Annotated[str | None, Header(alias="X-Mall-Signature", max_length=200)]
TimestampHeader = Annotated[str | None, Header(alias="X-Mall-Timestamp", max_length=20)]
#: At most this many problems are listed in a refusal: enough to fix a feed, short enough to read.
_PROBLEMS_SHOWN = 100


async def events_rejected(request: Request, exc: EventsRejected) -> JSONResponse:
    """422 naming each problem's line and field, as FastAPI names a body's fields."""
    detail = [{"loc": ["body", p.line, p.field], "msg": p.message} for p in exc.problems[:_PROBLEMS_SHOWN]]
    return JSONResponse({"detail": detail}, status_code=422)


async def _receive(
    request: Request, profiles: Profiles, *, bulk: bool, timestamp: str | None, signature: str | None
) -> Accepted:
    settings = profiles.settings
    body = await read_body(request.scope, request.receive, settings.mall_max_body_bytes)
    if body is None:
        raise HTTPException(413, detail=f"body larger than {settings.mall_max_body_bytes} bytes; split it")
    publisher = profiles.publisher
    assert publisher is not None, "the API publishes"
    accepted = await receive_mall_events(
        body,
        bulk=bulk,
        timestamp=timestamp,
        signature=signature,
        secret=settings.mall_webhook_secret.get_secret_value().encode(),
        # The events name their account in the body: the path-based account check cannot see it.
        known_account=profiles.accounts.__contains__,
        categories=profiles.taxonomy.categories,
        publisher=publisher,
        now=time.time(),
    )
    return Accepted(accepted=accepted)


@router.post("/events/mall", status_code=202, summary="One shop event (JSON), signed")
async def mall_event(
    request: Request,
    profiles: ProfilesDep,
    x_mall_signature: SignatureHeader = None,
    x_mall_timestamp: TimestampHeader = None,
) -> Accepted:
    return await _receive(request, profiles, bulk=False, timestamp=x_mall_timestamp, signature=x_mall_signature)


@router.post("/events/mall/bulk", status_code=202, summary="Up to 10,000 events as NDJSON, signed")
async def mall_events(
    request: Request,
    profiles: ProfilesDep,
    x_mall_signature: SignatureHeader = None,
    x_mall_timestamp: TimestampHeader = None,
) -> Accepted:
    return await _receive(request, profiles, bulk=True, timestamp=x_mall_timestamp, signature=x_mall_signature)
