"""The webhook endpoints the Official Account platform calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from services.gateway.adapters.accounts import AccountDirectory
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.domain import pushes, signature
from services.gateway.service_layer.ingest import ingest_push
from services.gateway.settings import GatewaySettings, WeChatAccount
from shared.messaging import EventPublisher, PublishFailed
from shared.observability import get_logger, instrument_app

log = get_logger(__name__)


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]


async def _account(appid: str, gateway: GatewayDep) -> WeChatAccount:
    account = await gateway.accounts.find(appid)
    if account is None:
        raise HTTPException(404, detail=f"unknown account {appid!r}")
    return account


AccountDep = Annotated[WeChatAccount, Depends(_account)]


def _check_signature(account: WeChatAccount, timestamp: str, nonce: str, sig: str) -> None:
    if not signature.verify(account.token.get_secret_value(), timestamp, nonce, sig):
        raise HTTPException(403, detail="signature mismatch")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, detail=f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a chunked body may lie about nothing but still be too long
            raise HTTPException(413, detail=f"body larger than {limit} bytes")
    return bytes(body)


def create_app(
    settings: GatewaySettings,
    *,
    publisher: EventPublisher | None = None,
    accounts: AccountDirectory | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, publisher=publisher, accounts=accounts) as gateway:
            app.state.gateway = gateway
            log.info("gateway ready", accounts=len(settings.wechat_accounts))
            yield

    app = FastAPI(
        title="SCRM webhook gateway",
        summary="Receives the WeChat Official Account's pushes and publishes them to Kafka.",
        version="0.1.0",
        lifespan=lifespan,
    )

    async def kafka_ready() -> None:
        ready = getattr(app.state.gateway.publisher, "ready", None)
        if ready is not None:
            await ready()

    instrument_app(app, settings.service_name, checks={"kafka": kafka_ready})

    @app.get("/wechat/{appid}", response_class=PlainTextResponse, summary="URL verification")
    async def verify_url(
        account: AccountDep,
        signature_: Annotated[str, Query(alias="signature", max_length=64)],
        timestamp: Annotated[str, Query(max_length=32)],
        nonce: Annotated[str, Query(max_length=64)],
        echostr: Annotated[str, Query(max_length=512)],
    ) -> str:
        _check_signature(account, timestamp, nonce, signature_)
        return echostr

    @app.post("/wechat/{appid}", response_class=PlainTextResponse, summary="Receive a push")
    async def receive_push(
        request: Request,
        gateway: GatewayDep,
        account: AccountDep,
        signature_: Annotated[str, Query(alias="signature", max_length=64)],
        timestamp: Annotated[str, Query(max_length=32)],
        nonce: Annotated[str, Query(max_length=64)],
        encrypt_type: Annotated[str | None, Query(max_length=16)] = None,
    ) -> str:
        _check_signature(account, timestamp, nonce, signature_)
        if encrypt_type not in (None, "", "raw"):
            raise HTTPException(400, detail=f"encrypt_type={encrypt_type!r} is not supported")
        body = await _read_body(request, settings.max_body_bytes)
        try:
            # Published before we acknowledge: if Kafka does not take it, the platform retries.
            envelope = await ingest_push(account.appid, body, gateway.publisher)
        except pushes.InvalidPush as exc:
            raise HTTPException(400, detail=str(exc)) from None
        except PublishFailed as exc:
            log.warning("push not published", error=str(exc))
            raise HTTPException(503, detail="event bus unavailable, retry later") from None
        log.debug("push published", type=envelope.type, event_id=envelope.event_id)
        return "success"

    return app
