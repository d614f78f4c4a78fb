"""A lean path for the client's JSON calls: one aiohttp session, no httpx models in between.

httpx builds a ``Request``, parses its URL twice character by character (the access token is the
longest part), keeps cookies and wraps the answer, and under it the aiohttp transport builds its own
request again: measured on the push worker's template sends, httpx took half of the dispatcher's CPU.
A :class:`JsonLane` carries what the client needs and nothing more; uploads and binary downloads
stay on httpx.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import aiohttp
import httptools
from yarl import URL

__all__ = ["AiohttpLane", "HttpLane", "JsonLane", "LaneAnswer", "LaneFailure"]

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


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: one request at a time, its answer parsed by httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[LaneAnswer] | None = None
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad answer: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        self.closed = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed by the server"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer, self._answer = self._answer, None
        if not self._parser.should_keep_alive():
            self.closed = True
        if answer is not None and not answer.done():
            answer.set_result(LaneAnswer(self._parser.get_status_code(), b"".join(self._body)))
        self._body = []

    def send(self, request: bytes) -> asyncio.Future[LaneAnswer]:
        assert self.transport is not None and self._answer is None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._answer

    def _fail(self, exc: BaseException) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class _Origin:
    host: str
    port: int
    tls: bool
    #: The ``Host`` header and the start of every request line's target.
    host_header: str
    path: str


class HttpLane:
    """:class:`JsonLane` straight over asyncio: keep-alive HTTP/1.1 connections (TLS for ``https``),
    requests written as bytes, answers parsed by httptools (uvicorn's parser). What aiohttp does per
    request beyond that (its request and response objects, headers multidicts, tracing, timers) was most
    of what a send cost the push worker after httpx was gone.

    One request per connection at a time; at most ``connections`` per origin, idle ones reused for
    ``keep_idle`` seconds (a server closing an idle connection first would otherwise meet a request).
    Answers must be framed by ``Content-Length`` or chunked (the platform's are); one that ends only
    when the server closes the connection is a failure.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        connections: int = 100,
        keep_idle: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._connections = connections
        self._keep_idle = keep_idle
        self._ssl = ssl_context
        self._origins: dict[str, _Origin] = {}
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self._gates: dict[tuple[str, int, bool], asyncio.Semaphore] = {}
        self._open: set[_Connection] = set()

    def _origin(self, url: str) -> _Origin:
        origin = self._origins.get(url)
        if origin is None:
            parts = urlsplit(url)
            tls = parts.scheme == "https"
            host = parts.hostname or ""
            port = parts.port or (443 if tls else 80)
            default = (tls and port == 443) or (not tls and port == 80)
            origin = _Origin(host, port, tls, host if default else f"{host}:{port}", parts.path or "/")
            if len(self._origins) < 1000:
                self._origins[url] = origin
        return origin

    async def exchange(self, method: str, url: str, params: Mapping[str, str], body: bytes | None) -> LaneAnswer:
        origin = self._origin(url)
        key = (origin.host, origin.port, origin.tls)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(self._connections)
        target = f"{origin.path}?{urlencode(params)}" if params else origin.path
        head = f"{method} {target} HTTP/1.1\r\nHost: {origin.host_header}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        request = (head + "\r\n").encode("latin-1") + (body or b"")
        async with gate:
            connection = await self._connection(key, origin)
            answer = connection.send(request)
            loop = asyncio.get_running_loop()
            expiry = loop.call_later(self._timeout, _expire, answer)
            try:
                result = await answer
            except (OSError, TimeoutError) as exc:
                self._drop(connection)
                raise LaneFailure(_describe(exc), sent=True) from None
            except BaseException:  # cancelled mid-request: the connection's next bytes are this answer's
                self._drop(connection)
                raise
            finally:
                expiry.cancel()
            if connection.closed:
                self._drop(connection)
            else:
                connection.idle_since = loop.time()
                self._idle.setdefault(key, []).append(connection)
            return result

    async def _connection(self, key: tuple[str, int, bool], origin: _Origin) -> _Connection:
        idle = self._idle.get(key)
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self._keep_idle:
                return connection
            self._drop(connection)
        context: ssl.SSLContext | None = None
        if origin.tls:
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            _, connection = await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(
                    _Connection, origin.host, origin.port, ssl=context, server_hostname=origin.host if context else None
                ),
                self._connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise LaneFailure(_describe(exc), sent=False) from None
        self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def aclose(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()


def _expire(answer: asyncio.Future[LaneAnswer]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError("no answer in time"))
