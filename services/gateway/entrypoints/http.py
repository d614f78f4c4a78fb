"""The webhook endpoints the Official Account platform calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response

from services.gateway.adapters.accounts import AccountDirectory
from services.gateway.adapters.ledger import PushLedger
from services.gateway.adapters.replies import ReplyRules
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.domain.inbound import PushParams, Refused
from services.gateway.service_layer.ingest import ingest_push
from services.gateway.settings import GatewaySettings
from shared.messaging import EventPublisher, PublishFailed
from shared.observability import get_logger, instrument_app
from shared.wechat import check_signature

log = get_logger(__name__)

AppId = Annotated[str, "the account's appid"]
Signature = Annotated[str, Query(max_length=64)]
Timestamp = Annotated[str, Query(max_length=32)]
Nonce = Annotated[str, Query(max_length=64)]


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, detail=f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a chunked body declares no length
            raise HTTPException(413, detail=f"body larger than {limit} bytes")
    return bytes(body)


def create_app(
    settings: GatewaySettings,
    *,
    publisher: EventPublisher | None = None,
    accounts: AccountDirectory | None = None,
    ledger: PushLedger | None = None,
    rules: ReplyRules | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, publisher=publisher, accounts=accounts, ledger=ledger, rules=rules) as gw:
            app.state.gateway = gw
            log.info("gateway ready", accounts=len(settings.wechat_accounts))
            yield

    app = FastAPI(
        title="SCRM webhook gateway",
        summary="Receives the WeChat Official Account's pushes and publishes them to Kafka.",
        version="0.2.0",
        lifespan=lifespan,
    )

    def gateway() -> Gateway:
        gw: Gateway = app.state.gateway
        return gw

    async def dependencies_ready() -> None:
        for check in gateway().readiness.values():
            await check()

    instrument_app(app, settings.service_name, checks={"dependencies": dependencies_ready})

    @app.get("/wechat/{appid}", response_class=PlainTextResponse, summary="URL verification")
    async def verify_url(
        appid: AppId,
        signature: Signature,
        timestamp: Timestamp,
        nonce: Nonce,
        echostr: Annotated[str, Query(max_length=512)],
    ) -> str:
        keys = await gateway().accounts.find(appid)
        if keys is None:
            raise HTTPException(404, detail=f"unknown account {appid!r}")
        if not check_signature(keys.token, signature, timestamp, nonce):
            raise HTTPException(403, detail="signature mismatch")
        return echostr

    @app.post("/wechat/{appid}", summary="Receive a push (plaintext, compatible or safe mode)")
    async def receive_push(
        request: Request,
        appid: AppId,
        signature: Signature,
        timestamp: Timestamp,
        nonce: Nonce,
        encrypt_type: Annotated[str | None, Query(max_length=16)] = None,
        msg_signature: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        gw = gateway()
        body = await _read_body(request, settings.max_body_bytes)
        params = PushParams(signature, timestamp, nonce, encrypt_type, msg_signature)
        try:
            answer = await ingest_push(
                appid,
                params,
                body,
                accounts=gw.accounts,
                ledger=gw.ledger,
                rules=gw.rules,
                publisher=gw.publisher,
                replay_window_seconds=settings.replay_window_seconds,
            )
        except Refused as refused:
            raise HTTPException(refused.status, detail=refused.reason) from None
        except PublishFailed as exc:
            log.warning("push not published", error=str(exc))
            raise HTTPException(503, detail="event bus unavailable, retry later") from None
        media_type = "text/plain" if answer == b"success" else "application/xml"
        return Response(answer, media_type=media_type)

    return app
