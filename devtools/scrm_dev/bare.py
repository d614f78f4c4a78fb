"""The benchmark's yardstick: a FastAPI endpoint at the webhook's path that only answers ``success``.

Served by the same uvicorn and FastAPI setup as the gateway (OpenTelemetry hook off in both), so the
difference between the two is the gateway's work: signature, decryption, parsing, the retry ledger,
publishing to Kafka, metrics.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from shared.events import Envelope, Topic
from shared.observability import OPENTELEMETRY_OFF


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=OPENTELEMETRY_OFF)

    @app.post("/wechat/{appid}", response_class=PlainTextResponse)
    async def receive(appid: str) -> str:
        return "success"

    return app


class _DiscardingPublisher:
    """Encodes the envelope (as a real publish would) and drops it."""

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        envelope.to_bytes()


def create_gateway_without_broker() -> FastAPI:
    """The real gateway app with publishing replaced by a discard: the benchmark's second yardstick,
    separating the gateway's own work from the Kafka client's."""
    from scrm_dev.stack import DEMO_AES_KEY, DEMO_APPID, DEMO_SECRET, DEMO_TOKEN
    from services.gateway.adapters.ledger import MemoryPushLedger
    from services.gateway.adapters.replies import NoReplyRules
    from services.gateway.entrypoints.http import create_app as create_gateway
    from services.gateway.settings import GatewaySettings
    from shared.wechat import WeChatAccount

    account = WeChatAccount(appid=DEMO_APPID, token=DEMO_TOKEN, encoding_aes_key=DEMO_AES_KEY, secret=DEMO_SECRET)
    settings = GatewaySettings(wechat_accounts=[account], accounts_from_mongodb=False, log_level="WARNING")
    return create_gateway(settings, publisher=_DiscardingPublisher(), ledger=MemoryPushLedger(), rules=NoReplyRules())
