"""BodyLimit: oversized bodies get 413 before the app runs, declared or streamed; others reach the app
whole."""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from shared.request_bodies import BodyLimit


class App:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, App]:
    app = App()
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "POST", "headers": headers or []}
    await BodyLimit(app, limit=10)(scope, receive, send)
    return int(sent[0]["status"]), app


async def test_a_streamed_body_over_the_limit_is_refused_before_the_app_runs() -> None:
    status, app = await call([b"12345", b"67890", b"1"])
    assert status == 413 and app.bodies == []


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    status, app = await call([b"small"], headers=[(b"content-length", b"11")])
    assert status == 413 and app.bodies == []


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    status, app = await call([b"12345", b"67890"])
    assert status == 200 and app.bodies == [b"1234567890"]
