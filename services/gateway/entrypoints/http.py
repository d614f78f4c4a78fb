"""The webhook endpoints the Official Account platform calls."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.domain.inbound import PushParams, Refused
from services.gateway.service_layer.ingest import ingest_push
from services.gateway.service_layer.ports import AccountDirectory, PushLedger, ReplyRules
from services.gateway.settings import GatewaySettings
from shared.messaging import EventPublisher, PublishFailed
from shared.observability import RequestMetrics, get_logger
from shared.request_bodies import read_body
from shared.storage import storage_failure, watch_writes
from shared.web import create_service_app, unknown_account_detail
from shared.wechat import check_signature

log = get_logger(__name__)

AppId = Annotated[str, "the account's appid"]
Signature = Annotated[str, Query(max_length=64)]
Timestamp = Annotated[str, Query(max_length=32)]
Nonce = Annotated[str, Query(max_length=64)]


def create_app(
    settings: GatewaySettings,
    *,
    publisher: EventPublisher | None = None,
    accounts: AccountDirectory | None = None,
    ledger: PushLedger | None = None,
    rules: ReplyRules | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def open_gateway() -> AsyncIterator[Gateway]:
        async with bootstrap(settings, publisher=publisher, accounts=accounts, ledger=ledger, rules=rules) as gw:
            log.info("gateway ready", accounts=len(settings.wechat_accounts))
            yield gw

    app = create_service_app(
        settings,
        app_class=_GatewayApp,
        title="SCRM webhook gateway",
        summary="Receives the WeChat Official Account's pushes and publishes them to Kafka.",
        version="0.2.0",
        bootstrap=open_gateway,
        readiness={"dependencies": _all_ready},
        public_routers=[router],
    )
    # The push endpoint is the platform's hot path: a plain ASGI endpoint that reads its few query
    # parameters itself, rather than FastAPI's per-request dependency solving (measured: a fifth of the
    # request's time). It validates the same way and answers 422 naming the field.
    endpoint = _PushEndpoint(settings, lambda: _gateway_of(app.state))
    route = _LabelledRoute("/wechat/{appid}", endpoint, methods=["POST"])
    app.router.routes.insert(0, route)
    # A push skips every layer of the app (FastAPI's and Starlette's entry, the error, telemetry and
    # body-limit layers, and the middleware the operator API needs: body replay, the storage-retry
    # recorder, the exception layers, routing), each a call or two per request. What those give a
    # push, the endpoint does itself: the body limit, the storage retry, the metrics; an exception it
    # does not handle still becomes uvicorn's 500.
    assert isinstance(app, _GatewayApp)
    app.push = _PushServer(endpoint, route, RequestMetrics(endpoint, settings.service_name))
    return app


class _GatewayApp(FastAPI):
    """The gateway's app: ``POST /wechat/{appid}`` goes straight to the push endpoint."""

    push: _PushServer | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        push = self.push
        if push is not None and scope["type"] == "http" and scope["method"] == "POST" and not self.root_path:
            path: str = scope["path"]
            if path.startswith(_PUSH_PREFIX) and not scope.get("root_path"):
                appid = path[len(_PUSH_PREFIX) :]
                if appid and "/" not in appid:
                    await push(scope, receive, send, appid)
                    return
        await super().__call__(scope, receive, send)


router = APIRouter()


def _gateway_of(state: Any) -> Gateway:
    gw: Gateway = state.service
    return gw


async def _all_ready(gw: Gateway) -> None:
    for check in gw.readiness.values():
        await check()


@router.get("/wechat/{appid}", response_class=PlainTextResponse, summary="URL verification")
async def verify_url(
    appid: AppId,
    signature: Signature,
    timestamp: Timestamp,
    nonce: Nonce,
    echostr: Annotated[str, Query(max_length=512)],
    request: Request,
) -> str:
    gw = _gateway_of(request.app.state)
    if not _plausible(gw.settings, appid):
        raise HTTPException(404, detail=unknown_account_detail(appid))
    if not (signature + timestamp + nonce).isascii():
        raise HTTPException(400, detail="signature, timestamp and nonce are ASCII")
    keys = await gw.accounts.find(appid)
    if keys is None:
        raise HTTPException(404, detail=unknown_account_detail(appid))
    if not check_signature(keys.token, signature, timestamp, nonce):
        raise HTTPException(403, detail="signature mismatch")
    return echostr


class _LabelledRoute(Route):
    """A Starlette route that names itself in the scope, as FastAPI's routes do (metrics label by it)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


_PARAM_LIMITS = {"signature": 64, "timestamp": 32, "nonce": 64, "encrypt_type": 16, "msg_signature": 64}
_REQUIRED = ("signature", "timestamp", "nonce")


class _PushServer:
    """Serves a push: what routing and the request metrics would do, then the endpoint."""

    def __init__(self, endpoint: _PushEndpoint, route: Route, metrics: RequestMetrics) -> None:
        self._endpoint = endpoint
        self._route = route
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send, appid: str) -> None:
        started = time.perf_counter()
        scope["route"] = self._route
        scope["path_params"] = {"appid": appid}
        status = 500
        try:
            status = await self._endpoint.respond(scope, receive, send)
        finally:
            self._metrics.record("POST", "/wechat/{appid}", status, time.perf_counter() - started)


_PUSH_PREFIX = "/wechat/"


class _PushEndpoint:
    """``POST /wechat/{appid}``: receive a push in plaintext, compatible or safe mode."""

    def __init__(self, settings: GatewaySettings, gateway: Callable[[], Gateway]) -> None:
        self._settings = settings
        self._gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.respond(scope, receive, send)

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> int:
        """Answer the push; the status it was answered with."""
        status, body, media_type, *extra = await self._handle(scope, receive)
        headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    async def _handle(self, scope: Scope, receive: Receive) -> _Answer:
        query = _query(scope["query_string"])
        if not _query_ok(query):
            return _json(422, _query_errors(query))
        settings = self._settings
        appid = scope["path_params"]["appid"]
        if not _plausible(settings, appid):
            return _json(404, unknown_account_detail(appid[:64]))
        body = await read_body(scope, receive, settings.max_body_bytes)
        if body is None:
            return _json(413, f"body larger than {settings.max_body_bytes} bytes")
        signed = (query["signature"], query["timestamp"], query["nonce"])
        params = PushParams(*signed, query.get("encrypt_type"), query.get("msg_signature"))
        # What the app's storage handler and RetryStaleStorage do for other routes, for this one: a push
        # whose storage failed before anything stuck runs once more (a dropped pooled connection fails
        # the first command on it), then 503 with Retry-After; anything else is a bug's 500.
        with watch_writes() as writes:
            try:
                return await self._ingest(appid, params, body)
            except Exception as exc:
                error, failure = exc, storage_failure(exc)
                if failure is None:
                    raise
        if failure.repeatable and not writes.stuck:
            log.info("request run again after a storage failure", method="POST", path=scope["path"])
            try:
                return await self._ingest(appid, params, body)
            except Exception as exc:
                error, failure = exc, storage_failure(exc)
                if failure is None:
                    raise
        log.warning("storage failure", reason=failure.reason, error=type(error).__name__, path=scope["path"])
        detail = json.dumps({"detail": failure.detail, "reason": failure.reason}).encode()
        return 503, detail, b"application/json", (b"retry-after", str(failure.retry_after).encode())

    async def _ingest(self, appid: str, params: PushParams, body: bytes) -> _Answer:
        settings, gw = self._settings, self._gateway()
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
                seen=gw.seen,
            )
        except Refused as refused:
            return _json(refused.status, refused.reason)
        except PublishFailed as exc:
            log.warning("push not published", error=str(exc))
            return _json(503, "event bus unavailable, retry later")
        return 200, answer, (b"text/plain; charset=utf-8" if answer == b"success" else b"application/xml")


def _plausible(settings: GatewaySettings, appid: str) -> bool:
    """Whether ``appid`` could be one; others never reach the account directory (or its cache)."""
    return _compiled(settings.appid_pattern).fullmatch(appid) is not None


@functools.lru_cache(maxsize=8)
def _compiled(pattern: str) -> re.Pattern[str]:
    # re's own cache is a lookup with more steps; this runs on every push.
    return re.compile(pattern)


def _query(raw: bytes) -> dict[str, str]:
    """The query parameters; the platform's are plain ASCII, so unquote only when something is quoted."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text))
    query: dict[str, str] = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            query[name] = value
    return query


def _query_ok(query: dict[str, str]) -> bool:
    for name in _REQUIRED:
        if name not in query:
            return False
    for name, limit in _PARAM_LIMITS.items():
        value = query.get(name)
        if value is not None and len(value) > limit:
            return False
    return True


def _query_errors(query: dict[str, str]) -> list[dict[str, object]]:
    """FastAPI's 422 shape for the query parameters, naming each missing or over-long one."""
    errors: list[dict[str, object]] = [
        {"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None}
        for name in _REQUIRED
        if name not in query
    ]
    errors += [
        {"type": "string_too_long", "loc": ["query", name], "msg": f"String should have at most {limit} characters"}
        for name, limit in _PARAM_LIMITS.items()
        if len(query.get(name, "")) > limit
    ]
    return errors


#: status, body, content type and any further headers.
_Answer = tuple[int, bytes, bytes] | tuple[int, bytes, bytes, tuple[bytes, bytes]]


def _json(status: int, detail: object) -> tuple[int, bytes, bytes]:
    return status, json.dumps({"detail": detail}, ensure_ascii=False).encode(), b"application/json"
