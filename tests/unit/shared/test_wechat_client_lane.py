"""The client's lean lanes for JSON calls (:class:`AiohttpLane`, :class:`HttpLane`) against a real local
HTTP server: the same answers and the same retry rules as over httpx, and uploads still go by httpx."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.wechat_client import (
    AccessToken,
    AiohttpLane,
    HttpLane,
    JsonLane,
    MemoryTokenStore,
    QuotaExceeded,
    RateLimit,
    Text,
    TransportError,
    WeChatApiConfig,
    WeChatClient,
)

SECRET = "lane-app-secret-0000"


class Platform:
    """A few of the platform's routes, noting every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], Any]] = []
        self.answers: list[tuple[int, Any]] = []
        self.close_next = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        api = request.path.removeprefix("/cgi-bin/")
        self.calls.append((api, dict(request.query), json.loads(body) if body else None))
        if api == "stable_token":
            return web.json_response({"access_token": "tok/+=&x", "expires_in": 7200})
        if self.answers:
            status, answer = self.answers.pop(0)
            return web.Response(status=status, text=json.dumps(answer), content_type="application/json")
        headers = {"Connection": "close"} if self.close_next else {}
        self.close_next = False
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 42}, headers=headers)


@pytest.fixture
async def platform() -> AsyncIterator[tuple[Platform, str]]:
    fake = Platform()
    app = web.Application()
    app.router.add_route("*", "/cgi-bin/{api:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture(params=["aiohttp", "http"])
def lane(request: pytest.FixtureRequest) -> JsonLane:
    return AiohttpLane() if request.param == "aiohttp" else HttpLane(timeout=2.0)


def _client(base_url: str, lane: JsonLane, **config: Any) -> WeChatClient:
    api = WeChatApiConfig(
        base_url=base_url, backoff=0.0, minute_quota_backoff=0.0, default_rate_limit=RateLimit(calls=10_000, period=1),
        **config,
    )  # fmt: skip
    return WeChatClient("wxlane", SECRET, token_store=MemoryTokenStore(), config=api, lane=lane)


async def test_a_json_call_goes_by_the_lane_with_its_token_and_body(
    platform: tuple[Platform, str], lane: JsonLane
) -> None:
    fake, url = platform
    client = _client(url, lane)
    msgid = await client.send_template(
        "o1", "tpl", {"first": "孕晚期"}, url="https://b.example/x", client_msg_id="p:o1"
    )
    assert msgid == 42
    api, query, body = fake.calls[-1]
    assert api == "message/template/send" and query == {"access_token": "tok/+=&x"}  # quoted, read back whole
    assert body["data"] == {"first": {"value": "孕晚期"}} and body["client_msg_id"] == "p:o1"
    await client._lane.aclose()  # type: ignore[union-attr]


async def test_errcodes_and_server_errors_follow_the_client_s_rules(
    platform: tuple[Platform, str], lane: JsonLane
) -> None:
    fake, url = platform
    client = _client(url, lane, minute_quota_retries=1)
    fake.answers = [(200, {"errcode": 45011, "errmsg": "minute quota"})] * 2
    with pytest.raises(QuotaExceeded):
        await client.send_template("o1", "tpl", {"first": "x"})
    assert [call[0] for call in fake.calls].count("message/template/send") == 2  # 45011 waited out once
    fake.answers = [(502, {})]
    with pytest.raises(TransportError):  # a send without client_msg_id is never repeated after a 5xx
        await client.send_template("o1", "tpl", {"first": "x"})
    await client._lane.aclose()  # type: ignore[union-attr]


async def test_a_refused_connection_never_sent_anything_and_is_retried(lane: JsonLane) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    client = _client(f"http://127.0.0.1:{port}", lane, retries=1)
    client._tokens._fetch = _token
    with pytest.raises(TransportError) as caught:
        await client.send_template("o1", "tpl", {"first": "x"})
    assert ("ClientConnectorError" in str(caught.value) or "ConnectionRefusedError" in str(caught.value)) and (
        "tok" not in str(caught.value)
    )
    await client._lane.aclose()  # type: ignore[union-attr]


async def test_uploads_still_go_by_httpx(platform: tuple[Platform, str], lane: JsonLane) -> None:
    fake, url = platform
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"type": "image", "media_id": "m1", "created_at": 1})

    api = WeChatApiConfig(base_url=url, default_rate_limit=RateLimit(calls=10_000, period=1))
    client = WeChatClient(
        "wxlane",
        SECRET,
        token_store=MemoryTokenStore(),
        config=api,
        lane=lane,
        transport=httpx.MockTransport(handler),
    )
    await client.upload_media("image", "a.png", b"\x89PNG....")
    assert seen == ["/cgi-bin/media/upload"]
    assert [call[0] for call in fake.calls] == ["stable_token"]  # the token came by the lane
    await client.aclose()
    await client._lane.aclose()  # type: ignore[union-attr]


async def _token(force_refresh: bool) -> AccessToken:
    return AccessToken("tok", datetime.now(UTC) + timedelta(hours=2))


async def test_the_http_lane_keeps_connections_and_survives_a_server_closing_them(
    platform: tuple[Platform, str],
) -> None:
    fake, url = platform
    lane = HttpLane(timeout=2.0)
    client = _client(url, lane)
    await asyncio.gather(*(client.send_template(f"o{n}", "tpl", {"first": "x"}) for n in range(20)))
    kept = len(lane._open)
    for n in range(20):
        await client.send_template(f"o{n}", "tpl", {"first": "x"})
    assert len(lane._open) <= kept  # one at a time: an idle connection each time
    fake.close_next = True  # the server answers with Connection: close, then closes
    await client.send_template("o1", "tpl", {"first": "x"})
    await client.send_template("o2", "tpl", {"first": "x"})
    assert [call[0] for call in fake.calls].count("message/template/send") == 42
    await lane.aclose()


async def test_the_http_lane_gives_up_on_a_silent_server_and_never_resends_a_send() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lane = HttpLane(timeout=0.3)
    client = _client(f"http://127.0.0.1:{port}", lane, retries=3)
    client._tokens._fetch = _token
    try:
        with pytest.raises(TransportError, match="no answer in time"):
            await client.send_custom_message("o1", Text(content="hi"))
    finally:
        await lane.aclose()
        server.close()
