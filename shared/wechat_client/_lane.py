"""A lean path for the client's JSON calls: one aiohttp session, no httpx models in between.

httpx builds a ``Request``, parses its URL twice character by character (the access token is the
longest part), keeps cookies and wraps the answer, and under it the aiohttp transport builds its own
request again: measured on the push worker's template sends, httpx took half of the dispatcher's CPU.
A :class:`JsonLane` carries what the client needs and nothing more; uploads and binary downloads
stay on httpx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import aiohttp
from yarl import URL

__all__ = ["AiohttpLane", "JsonLane", "LaneAnswer", "LaneFailure"]

_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class LaneAnswer:
    status: int
    content: bytes


class LaneFailure(Exception):
    """No answer. ``sent`` is False when the request certainly never left (a retry cannot double it)."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


class JsonLane(Protocol):
    async def exchange(self, method: str, url: str, params: Mapping[str, str], body: bytes | None) -> LaneAnswer:
        """One request and its whole answer; :class:`LaneFailure` when there is none."""
        ...

    async def aclose(self) -> None: ...


class AiohttpLane:
    """:class:`JsonLane` over one ``aiohttp.ClientSession`` (opened on first use, in the running loop)."""

    def __init__(self, *, timeout: float = 10.0, connect_timeout: float = 5.0, connections: int = 100) -> None:
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
        # No cookie jar: the API sets none, and keeping one costs time on every answer.
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True
        )
        return self._session

    async def exchange(self, method: str, url: str, params: Mapping[str, str], body: bytes | None) -> LaneAnswer:
        session = self._session or self._open()
        target = URL(f"{url}?{urlencode(params)}" if params else url, encoded=True)
        try:
            async with session.request(
                method, target, data=body, headers=_JSON if body is not None else None, allow_redirects=False
            ) as response:
                return LaneAnswer(response.status, await response.read())
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise LaneFailure(_describe(exc), sent=False) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise LaneFailure(_describe(exc), sent=True) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _describe(exc: BaseException) -> str:
    # The type and aiohttp's own text; the caller scrubs it (aiohttp's messages may quote the URL).
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
