"""Identity in FastAPI: who is calling (a bearer token or the session cookie), what they may do, and
the audit helper routes call after a write.

``create_service_app(..., identity=IdentityConfig(...))`` opens the config's :class:`Directory` for
the app's life and puts :func:`resolve_identity` before every operator route; routes then declare
``Depends(require(Permission.X))`` and read the caller through :data:`Actor`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response

from shared.identity._directory import Directory, IdentityPolicy
from shared.identity._exceptions import CsrfRejected, NotAuthenticated
from shared.identity._model import Identity, Permission, authorize
from shared.identity._mongo import IDENTITY_INDEXES, MongoAuditLog, MongoIdentityStore
from shared.settings import ServiceSettings
from shared.storage import connect

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Actor",
    "IdentityConfig",
    "audit",
    "clear_session_cookie",
    "client_address",
    "directory_of",
    "mongo_identity",
    "require",
    "resolve_identity",
    "set_session_cookie",
]

SESSION_COOKIE = "scrm_session"
CSRF_HEADER = "X-CSRF-Token"
REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class IdentityConfig:
    """How an app reaches the identity stores.

    ``open`` yields the :class:`Directory` for the app's life (MongoDB in services, in memory in
    tests); ``secure_cookies`` is False only in development (plain-HTTP localhost).
    """

    open: Callable[[], AbstractAsyncContextManager[Directory]]
    secure_cookies: bool = True


def directory_of(request: Request) -> Directory:
    directory: Directory | None = getattr(request.app.state, "identity", None)
    if directory is None:
        raise RuntimeError("this app has no identity: pass identity=IdentityConfig(...) to create_service_app")
    return directory


def _within(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy (``TRUSTED_PROXIES``),
    the last address its ``X-Forwarded-For`` adds (the one that proxy saw)."""
    peer = request.client.host if request.client else None
    trusted: tuple[IPv4Network | IPv6Network, ...] = getattr(request.app.state, "trusted_proxies", ())
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer and _within(peer, trusted):
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer


def _unauthenticated(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def resolve_identity(request: Request) -> Identity:
    """The caller, from ``Authorization: Bearer scrm_...`` or the ``scrm_session`` cookie; else 401.

    Cookie-authenticated writes must carry the session's CSRF token in ``X-CSRF-Token`` (403 without):
    a browser sends the cookie on a forged cross-site request too, but never that header.
    """
    cached: Identity | None = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    directory = directory_of(request)
    authorization = request.headers.get("authorization")
    try:
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthenticated("use Authorization: Bearer <API token>")
            identity = await directory.authenticate_token(token.strip())
        elif (cookie := request.cookies.get(SESSION_COOKIE)) is not None:
            identity = await directory.authenticate_session(
                cookie,
                csrf_token=request.headers.get(CSRF_HEADER),
                unsafe=request.method not in _SAFE_METHODS,
            )
        else:
            raise NotAuthenticated("sign in (session cookie) or send an API token (Authorization: Bearer)")
    except CsrfRejected as exc:
        raise HTTPException(403, str(exc)) from None
    except NotAuthenticated as exc:
        raise _unauthenticated(str(exc)) from None
    request.state.identity = identity
    return identity


#: The caller of an operator route.
Actor = Annotated[Identity, Depends(resolve_identity)]


def require(permission: Permission) -> Callable[..., Any]:
    """A dependency: 403 unless the caller may do ``permission`` on the route's ``{appid}`` (if any).

    Routes without an ``{appid}`` ask about every account (only a ``"*"`` grant passes). Denials are
    written to the audit log.
    """

    async def check(request: Request, identity: Actor) -> Identity:
        appid = request.path_params.get("appid")
        if not authorize(identity, permission, appid):
            await audit(request, "permission.denied", "route", request.url.path, after={"permission": permission.value})
            raise HTTPException(403, f"missing permission {permission.value}" + (f" on {appid}" if appid else ""))
        return identity

    check.__name__ = f"require_{permission.name.lower()}"
    return check


async def audit(
    request: Request,
    action: str,
    object_type: str,
    object_id: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    appid: str | None = None,
) -> None:
    """Record a write done by the request's caller (its account is the path's ``{appid}`` unless given)."""
    await directory_of(request).record(
        getattr(request.state, "identity", None),
        action,
        object_type,
        object_id,
        appid=appid or request.path_params.get("appid"),
        before=before,
        after=after,
        address=client_address(request),
        request_id=request.headers.get(REQUEST_ID_HEADER),
    )


def set_session_cookie(response: Response, secret: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, secret, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/")


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=secure, samesite="lax", path="/")


def mongo_identity(settings: ServiceSettings, policy: IdentityPolicy | None = None) -> IdentityConfig:
    """The identity every service checks against: the stores in the settings' MongoDB database.

    Cookies are ``Secure`` everywhere but development (plain-HTTP localhost).
    """

    @asynccontextmanager
    async def open_directory() -> AsyncIterator[Directory]:
        async with connect(settings, IDENTITY_INDEXES) as mongo:
            yield Directory(MongoIdentityStore(mongo.database), MongoAuditLog(mongo.database), policy=policy)

    return IdentityConfig(open_directory, secure_cookies=not settings.is_development)
