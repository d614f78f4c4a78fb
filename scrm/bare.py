"""The benchmark's yardstick: a FastAPI endpoint at the webhook's path that only answers ``success``.

Served by the same uvicorn and FastAPI setup as the gateway (OpenTelemetry hook off in both), so the
difference between the two is the gateway's work: signature, decryption, parsing, the retry ledger,
publishing to Kafka, metrics.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from shared.observability import OPENTELEMETRY_OFF


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=OPENTELEMETRY_OFF)

    @app.post("/wechat/{appid}", response_class=PlainTextResponse)
    async def receive(appid: str) -> str:
        return "success"

    return app
