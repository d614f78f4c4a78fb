"""The identity API's app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.identity.bootstrap import IdentityService, bootstrap
from services.identity.entrypoints.http import audit, auth, operators, sessions, tokens
from services.identity.settings import IdentitySettings
from shared.identity import (
    Directory,
    Forbidden,
    IdentityConfig,
    InvalidIdentityInput,
    LoginRefused,
    LoginThrottled,
    OperatorExists,
    OperatorNotFound,
    TokenNotFound,
)
from shared.web import create_service_app

__all__ = ["create_app"]


async def _throttled(request: Request, exc: LoginThrottled) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_seconds)})


def create_app(settings: IdentitySettings, *, directory: Directory | None = None) -> FastAPI:
    """``directory``: tests pass an in-memory one; otherwise MongoDB's."""
    opened: list[IdentityService] = []

    # One bootstrap serves both the identity guard (opened first by the factory) and the routes.
    @asynccontextmanager
    async def open_directory() -> AsyncIterator[Directory]:
        async with bootstrap(settings, directory=directory) as service:
            opened.append(service)
            try:
                yield service.directory
            finally:
                opened.clear()

    @asynccontextmanager
    async def service() -> AsyncIterator[IdentityService]:
        yield opened[0]

    return create_service_app(
        settings,
        title="SCRM identity API",
        summary="Operators, roles per Official Account, API tokens, sessions and the audit log",
        bootstrap=service,
        readiness={"mongodb": lambda s: s.ready()},
        operator_routers=[auth.router, operators.router, tokens.router, sessions.router, audit.router],
        public_routers=[auth.public],
        errors={
            LoginRefused: 401,
            Forbidden: 403,
            OperatorNotFound: 404,
            TokenNotFound: 404,
            OperatorExists: 409,
            InvalidIdentityInput: 422,
        },
        exception_handlers={LoginThrottled: _throttled},
        max_body_bytes=settings.max_body_bytes,
        identity=IdentityConfig(open_directory, secure_cookies=not settings.is_development),
    )
