from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shared.identity import IdentityConfig, resolve_identity
from shared.observability import OPENTELEMETRY_OFF, ReadinessCheck, instrument_app
from shared.request_bodies import BodyLimit
from shared.settings import ServiceSettings
from shared.storage import DriverError, StorageError
from shared.web._accounts import KnownAccounts
from shared.web._docs import serve_api_docs
from shared.web._failures import RetryStaleStorage, storage_failed, wechat_failed
from shared.web._validation import refuse_invalid_request
from shared.wechat import AccountsSettings
from shared.wechat_client import WECHAT_CALL_ERRORS, WeChatApiConfig

__all__ = ["ErrorStatuses", "ServiceCheck", "create_service_app", "now", "service_of"]

#: Exceptions a service's use cases raise, and the status each one is answered with (``detail`` is
#: the exception's message, so those messages are written for API users).
ErrorStatuses = Mapping[type[Exception], int]
#: A readiness check, given the service object: ``{"mongodb": lambda service: service.ready()}``.
ServiceCheck = Callable[[Any], Awaitable[Any]]
ExceptionHandler = Callable[[Request, Any], Any]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    bootstrap: Callable[[], AbstractAsyncContextManager[Any]],
    readiness: Mapping[str, ServiceCheck],
    summary: str | None = None,
    version: str = "0.1.0",
    operator_routers: Sequence[APIRouter] = (),
    operator_dependencies: Sequence[Any] = (),
    public_routers: Sequence[APIRouter] = (),
    openapi_tags: Sequence[Mapping[str, Any]] | None = None,
    errors: ErrorStatuses | None = None,
    exception_handlers: Mapping[type[Exception], ExceptionHandler] | None = None,
    max_body_bytes: int | None = None,
    self_limited_bodies: Sequence[str] = (),
    clock: Callable[[], datetime] | None = None,
    identity: IdentityConfig | None = None,
    api_docs: bool = True,
    app_class: type[FastAPI] = FastAPI,
) -> FastAPI:
    """An HTTP service's app (an ``app_class``: a service may answer a hot path before FastAPI's layers).

    ``bootstrap`` opens the service's composition root for the life of the app; what it yields is
    ``app.state.service``, and each of ``readiness`` is called with it behind ``/readyz``.
    ``operator_routers`` are the operator API: the routes people and scripts use to run the platform.
    ``public_routers`` are reached by the WeChat platform, a shop or a member's browser and carry their
    own signature checks. ``operator_dependencies`` (``fastapi.Depends(...)``) run before every operator
    route and never before a public one. Services whose settings hold WeChat accounts answer 404 for any
    ``/accounts/{appid}/...`` of an account they do not hold. Every body is capped at ``max_body_bytes``
    (default: the settings' ``MAX_BODY_BYTES``) except on the routes ``self_limited_bodies`` names (path
    regexes), which read their uploads with a limit of their own.

    With ``identity``, every operator route first resolves its caller (401 without a valid session
    or API token; routes add ``Depends(shared.identity.require(...))`` for their permission), and the
    API's ``/docs`` and ``/openapi.json`` need a caller too. Without it, operator routes are open.
    ``api_docs=False`` serves no ``/docs`` or ``/openapi.json`` at all (an app of pages, not an API).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if identity is not None:
                app.state.identity = await stack.enter_async_context(identity.open())
            app.state.service = await stack.enter_async_context(bootstrap())
            yield

    guarded_docs = identity is not None and bool(operator_routers)

    app = app_class(
        title=title,
        summary=summary,
        version=version,
        lifespan=lifespan,
        telemetry=OPENTELEMETRY_OFF,
        # The docs pages are served below with local assets; the map too, behind the identity check
        # when the API is guarded.
        docs_url=None,
        redoc_url=None,
        openapi_url=None if guarded_docs or not api_docs else "/openapi.json",
        openapi_tags=[dict(tag) for tag in openapi_tags] if openapi_tags else None,
    )
    app.state.clock = clock or _utc_now
    app.state.trusted_proxies = tuple(ip_network(entry, strict=False) for entry in settings.trusted_proxies)
    if identity is not None:
        # What the routes that set the session cookie read (the identity API's sign-in).
        app.state.identity_secure_cookies = identity.secure_cookies

    def bound(check: ServiceCheck) -> ReadinessCheck:
        return lambda: check(app.state.service)

    # Innermost of the middleware: it must see the 503 of the storage handler (shared.web._failures).
    app.add_middleware(RetryStaleStorage)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes if max_body_bytes is None else max_body_bytes,
        self_limited=list(self_limited_bodies),
    )
    if isinstance(settings, AccountsSettings):
        app.add_middleware(KnownAccounts, accounts=[account.appid for account in settings.wechat_accounts])

    # Added last, so outermost: every request is counted, the ones refused above included.
    instrument_app(app, settings.service_name, checks={name: bound(check) for name, check in readiness.items()})

    # The shell's answers first, so a service's own ``errors`` and ``exception_handlers`` can refine them.
    app.add_exception_handler(StorageError, storage_failed)
    app.add_exception_handler(DriverError, storage_failed)
    wechat_api = getattr(settings, "wechat_api", None)
    on_wechat_failure = wechat_failed(wechat_api.base_url if isinstance(wechat_api, WeChatApiConfig) else None)
    for exc_type in WECHAT_CALL_ERRORS:
        app.add_exception_handler(exc_type, on_wechat_failure)
    for exc_type, status in (errors or {}).items():
        app.add_exception_handler(exc_type, _status_handler(status))
    app.add_exception_handler(RequestValidationError, refuse_invalid_request)
    for exc_type, handler in (exception_handlers or {}).items():
        app.add_exception_handler(exc_type, handler)

    guard = [Depends(resolve_identity)] if identity is not None else []
    for router in operator_routers:
        # Operator identity is resolved here, for every operator route at once; permissions per route.
        app.include_router(router, dependencies=[*guard, *operator_dependencies])
    if guarded_docs:
        _guarded_docs(app, title)
    elif api_docs:
        serve_api_docs(app, title, openapi_url="/openapi.json")
    for router in public_routers:
        app.include_router(router)
    return app


def _guarded_docs(app: FastAPI, title: str) -> None:
    """``/openapi.json`` and ``/docs`` for callers with a session or token only: the operator API's
    map is not for everyone who can reach the port."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(resolve_identity)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    serve_api_docs(app, title, openapi_url="/openapi.json", dependencies=[Depends(resolve_identity)], redoc=False)


def service_of(request: Request) -> Any:
    """The object the app's ``bootstrap`` yielded; give it a type in a service's own dependency."""
    return request.app.state.service


def now(request: Request) -> datetime:
    """The app's clock (tests pass one to ``create_service_app``)."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def _status_handler(status: int) -> ExceptionHandler:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle
