from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability._metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

#: Pass as ``FastAPI(telemetry=...)``. The services export Prometheus metrics; FastAPI's native
#: OpenTelemetry hook would otherwise look the global providers up on every request (environment
#: reads included), measurable on the webhook hot path.
OPENTELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

#: A named dependency check for ``/readyz``: returns normally when the dependency answers.
ReadinessCheck = Callable[[], Awaitable[Any]]

_CHECK_TIMEOUT_S = 2.0


def health_router(checks: Mapping[str, ReadinessCheck] | None = None) -> APIRouter:
    """``/healthz``, ``/readyz`` and ``/metrics``.

    ``/healthz`` says the process is alive and serving; ``/readyz`` additionally runs every check (each
    bounded by a timeout) and answers 503 naming the ones that failed, so an orchestrator stops routing
    traffic to a process whose Kafka or MongoDB is gone.
    """
    checks = dict(checks or {})
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency answers")
    async def readyz() -> JSONResponse:
        results = await asyncio.gather(*(_run_check(check) for check in checks.values()))
        report = dict(zip(checks, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=_CHECK_TIMEOUT_S)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def instrument_app(app: FastAPI, service: str, checks: Mapping[str, ReadinessCheck] | None = None) -> None:
    """Add the operations endpoints and per-route request metrics to a service's app."""
    app.include_router(health_router(checks))
    app.add_middleware(RequestMetrics, service=service)


class RequestMetrics:
    """Counts and times requests by route template. A plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` would cost a task and a stream per request on the webhook hot path."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self._app = app
        self._service = service
        # Label lookups cost more than the increments; keep the children per label set.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_and_record)
        finally:
            # Label by template (/wechat/{appid}), never by raw path: raw paths explode cardinality.
            route = scope.get("route")
            self.record(scope["method"], getattr(route, "path", "unmatched"), status, time.perf_counter() - started)

    def record(self, method: str, template: str, status: int, seconds: float) -> None:
        """Count one request: for an endpoint that knows its status without wrapping ``send``."""
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(self._service, method, template, str(status)),
                HTTP_REQUEST_SECONDS.labels(self._service, method, template),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its host process (the worker owns shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    """The operations endpoints on their own small port, served inside a worker's event loop."""

    def __init__(self, service: str, host: str, port: int, checks: Mapping[str, ReadinessCheck]) -> None:
        app = FastAPI(
            title=f"{service} worker", docs_url=None, redoc_url=None, openapi_url=None, telemetry=OPENTELEMETRY_OFF
        )
        app.include_router(health_router(checks))
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
        self._server = _EmbeddedServer(config)
        self._host, self._port = host, port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Bind here so a taken port is a clean OSError; inside uvicorn it would be sys.exit().
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="health-server")
        while not self._server.started:
            if self._task.done():
                await self._task  # surfaces the bind error
                raise RuntimeError("health server stopped before it started")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
