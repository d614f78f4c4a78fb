"""The gateway's composition root: the HTTP lifespan and the tests both build it here."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.gateway.adapters import accounts as accounts_adapter
from services.gateway.adapters import ledger as ledger_adapter
from services.gateway.adapters import outbox as outbox_adapter
from services.gateway.adapters import replies as replies_adapter
from services.gateway.adapters import seen as seen_adapter
from services.gateway.adapters.accounts import (
    ChainedAccountDirectory,
    MongoAccountDirectory,
    StaticAccountDirectory,
)
from services.gateway.adapters.ledger import MemoryPushLedger, MongoPushLedger
from services.gateway.adapters.replies import MongoReplyRules
from services.gateway.adapters.seen import MemorySeenRequests, MongoSeenRequests
from services.gateway.service_layer.ports import AccountDirectory, PushLedger, ReplyRules, SeenRequests
from services.gateway.settings import GatewaySettings
from shared.contracts import TOPICS
from shared.messaging import EventPublisher, connect_publisher
from shared.observability import ReadinessCheck
from shared.storage import connect


@dataclass(frozen=True)
class Gateway:
    settings: GatewaySettings
    accounts: AccountDirectory
    ledger: PushLedger
    rules: ReplyRules
    publisher: EventPublisher
    seen: SeenRequests
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)


async def _nothing() -> None:
    return None


@asynccontextmanager
async def bootstrap(
    settings: GatewaySettings,
    *,
    publisher: EventPublisher | None = None,
    accounts: AccountDirectory | None = None,
    ledger: PushLedger | None = None,
    rules: ReplyRules | None = None,
) -> AsyncIterator[Gateway]:
    """Wire the gateway: real adapters for whatever the caller does not pass as a fake."""
    async with AsyncExitStack() as stack:
        readiness: dict[str, Callable[[], Awaitable[None]]] = {}
        needs_mongo = (
            (accounts is None and settings.accounts_from_mongodb)
            or (ledger is None and settings.push_ledger == "mongodb")
            or rules is None
        )
        if needs_mongo:
            indexes = (
                *accounts_adapter.INDEXES,
                *ledger_adapter.INDEXES,
                *replies_adapter.INDEXES,
                *seen_adapter.indexes(settings.replay_window_seconds),
            )
            mongo = await stack.enter_async_context(connect(settings, indexes))
            database = mongo.database
            readiness["mongodb"] = mongo.ready
        if accounts is None:
            static = StaticAccountDirectory(settings.wechat_accounts)
            accounts = (
                ChainedAccountDirectory(
                    static,
                    MongoAccountDirectory(
                        database, max_entries=settings.account_cache_size, environment=settings.environment
                    ),
                )
                if settings.accounts_from_mongodb
                else static
            )
        seen: SeenRequests = (
            MongoSeenRequests(database)
            if ledger is None and settings.push_ledger == "mongodb"
            else MemorySeenRequests(window_seconds=settings.replay_window_seconds)
        )
        if ledger is None:
            ledger = MongoPushLedger(database) if settings.push_ledger == "mongodb" else MemoryPushLedger()
        if rules is None:
            rules = MongoReplyRules(database)
        own_outbox = settings.outbox_enabled and (publisher is None or settings.outbox_dir is not None)
        if publisher is None and own_outbox:
            # The outbox takes pushes before the broker answers: the gateway may start during an outage.
            publisher = await stack.enter_async_context(outbox_adapter.late_publisher(settings))
        if publisher is None:
            kafka = await stack.enter_async_context(connect_publisher(settings, TOPICS))
            readiness["kafka"] = kafka.ready
            publisher = kafka
        if own_outbox:
            # Wraps the publisher: while the outbox has room the gateway takes pushes, broker or not.
            outbox = await stack.enter_async_context(outbox_adapter.open_outbox(publisher, **_outbox_options(settings)))
            readiness["kafka"] = outbox.ready
            publisher = outbox
        yield Gateway(settings, accounts, ledger, rules, publisher, seen, readiness)


def _outbox_options(settings: GatewaySettings) -> dict[str, Any]:
    default = Path(tempfile.gettempdir()) / "scrm-gateway-outbox" / f"{settings.topic_prefix}{settings.service_name}"
    return {
        "base": settings.outbox_dir or default,
        "max_bytes": settings.outbox_max_bytes,
        "alarm_bytes": settings.outbox_alarm_bytes,
        "publish_timeout": settings.outbox_publish_timeout_seconds,
    }
