"""The console's one port: the platform's operator APIs, called as the signed-in operator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["Api", "ApiError", "ApiReply", "ApiUnavailable", "Caller", "OperatorApis", "Upload"]


class Api(StrEnum):
    IDENTITY = "identity"
    CAMPAIGNS = "campaigns"
    MEMBERS = "members"
    PROFILES = "profiles"
    SEGMENTS = "segments"
    ANALYTICS = "analytics"
    BRANDS = "brands"


@dataclass(frozen=True)
class Caller:
    """Who the console calls as: the browser's session (and its CSRF token for writes), the browser's
    address (the APIs audit it) and the request id that ties the page to the API's log lines."""

    session: str | None
    csrf_token: str | None = None
    address: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class ApiReply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    #: Cookies the API set (the identity API's sign-in sets the session's).
    cookies: Mapping[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An operator API said no. ``detail`` is its message (a string, or FastAPI's list of field errors)."""

    def __init__(self, status: int, detail: Any, api: Api, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.detail = detail
        self.api = api
        self.headers = dict(headers or {})
        super().__init__(f"{api.value} API answered {status}: {self.message}")

    @property
    def message(self) -> str:
        if isinstance(self.detail, list):
            parts = []
            for error in self.detail:
                if isinstance(error, Mapping):
                    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
                    parts.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
            return "; ".join(parts) or "invalid input"
        return str(self.detail)

    @property
    def fields(self) -> dict[str, str]:
        """Field name → message, for 422s (the form shows each beside its field)."""
        found: dict[str, str] = {}
        if isinstance(self.detail, list):
            for error in self.detail:
                if isinstance(error, Mapping):
                    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
                    if loc:
                        found.setdefault(".".join(loc), str(error.get("msg", "")))
        return found


class ApiUnavailable(Exception):
    """An operator API could not be reached or did not answer in time."""

    def __init__(self, api: Api, reason: str) -> None:
        self.api = api
        super().__init__(f"the {api.value} API is unavailable ({reason})")


class OperatorApis(Protocol):
    async def call(
        self,
        api: Api,
        method: str,
        path: str,
        caller: Caller,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Upload] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiReply:
        """The API's answer for 2xx; :class:`ApiError` for 4xx/5xx; :class:`ApiUnavailable` when unreachable."""
        ...

    async def ready(self) -> None:
        """Raises when the identity API (without which nobody signs in) does not answer."""
        ...
