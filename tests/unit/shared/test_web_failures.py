"""The HTTP shell's answers when storage or the WeChat platform fails a request (issue 22, items 1-2).

A stale pooled connection fails the first command sent on it: the request is run once more when
nothing it wrote can have stuck, and otherwise answered 503 with a reason and Retry-After, never a
500. A failed WeChat API call is 502 (unreachable, refused) or 503 (not configured, busy, quota).
The real-server side of it is tests/integration/shared/test_stale_connections.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from pydantic import Field
from pymongo.errors import AutoReconnect, NotPrimaryError, OperationFailure, ServerSelectionTimeoutError

from shared.request_bodies import read_body
from shared.settings import ServiceSettings
from shared.storage import (
    StorageConflict,
    StorageUnavailable,
    current_writes,
    repeatable_writes,
    storage_failure,
    watch_writes,
)
from shared.storage._writes import WRITE_WATCH
from shared.web import create_service_app
from shared.wechat_client import (
    CredentialsRejected,
    InvalidRequest,
    MemoryTokenStore,
    NotFollower,
    PlatformBusy,
    QuotaExceeded,
    Text,
    TokenUnavailable,
    TransportError,
    WeChatApiConfig,
    WeChatApiError,
    WeChatClient,
    wechat_failure,
)


@dataclass
class Flaky:
    """Fails the first ``failures`` runs of a route with ``error``; remembers every run's body."""

    failures: int = 0
    error: Exception = field(default_factory=lambda: AutoReconnect("connection is already closed"))
    write_first: str | None = None
    repeatable: bool = False
    bodies: list[Any] = field(default_factory=list)

    def run(self, body: Any) -> None:
        self.bodies.append(body)
        if self.write_first is not None:
            log = current_writes()
            assert log is not None, "every request is watched"
            if self.repeatable:
                with repeatable_writes():
                    log.record(self.write_first, {})
            else:
                log.record(self.write_first, {})
        if len(self.bodies) <= self.failures:
            raise self.error


router = APIRouter()


def _flaky(request: Request) -> Flaky:
    flaky: Flaky = request.app.state.service
    return flaky


@router.post("/things")
async def make(request: Request, body: dict[str, int]) -> dict[str, int]:
    _flaky(request).run(body)
    return body


@router.get("/things")
async def read(request: Request) -> dict[str, str]:
    _flaky(request).run(None)
    return {"read": "ok"}


@router.post("/uploads")
async def upload(request: Request) -> dict[str, int]:
    """Reads its body itself, as the template and code uploads do."""
    body = await read_body(request.scope, request.receive, 1 << 20)
    _flaky(request).run(body)
    return {"bytes": len(body or b"")}


@router.post("/wechat")
async def call_wechat(request: Request) -> None:
    raise _flaky(request).error


class WithWeChat(ServiceSettings):
    wechat_api: WeChatApiConfig = Field(default_factory=lambda: WeChatApiConfig(base_url="https://api.weixin.qq.com"))


def _client(flaky: Flaky, settings: ServiceSettings | None = None) -> TestClient:
    @asynccontextmanager
    async def bootstrap() -> AsyncIterator[Flaky]:
        yield flaky

    app = create_service_app(
        settings or ServiceSettings(), title="t", bootstrap=bootstrap, readiness={}, operator_routers=[router]
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def client(flaky: Flaky) -> Iterator[TestClient]:
    with _client(flaky) as client:
        yield client


@pytest.mark.parametrize(
    "error",
    [AutoReconnect("connection is already closed"), NotPrimaryError("not primary"), StorageConflict("lost a race")],
    ids=["stale", "not-primary", "conflict"],
)
def test_a_request_that_wrote_nothing_is_run_again_with_its_body(
    client: TestClient, flaky: Flaky, error: Exception
) -> None:
    flaky.failures, flaky.error = 1, error
    response = client.post("/things", json={"n": 7})
    assert (response.status_code, response.json()) == (200, {"n": 7})
    assert flaky.bodies == [{"n": 7}, {"n": 7}]


def test_a_read_is_run_again(client: TestClient, flaky: Flaky) -> None:
    flaky.failures = 1
    assert client.get("/things").json() == {"read": "ok"}
    assert len(flaky.bodies) == 2


def test_a_body_the_route_reads_itself_is_replayed(client: TestClient, flaky: Flaky) -> None:
    flaky.failures = 1
    response = client.post("/uploads", content=b"x" * 100_000)
    assert response.json() == {"bytes": 100_000}
    assert flaky.bodies == [b"x" * 100_000, b"x" * 100_000]


def test_only_once_then_503_with_reason_and_retry_after(client: TestClient, flaky: Flaky) -> None:
    flaky.failures = 5
    response = client.post("/things", json={"n": 1})
    assert response.status_code == 503
    assert response.json() == {
        "detail": "storage unavailable (MongoDB: AutoReconnect), retry later",
        "reason": "storage_unavailable",
    }
    assert response.headers["retry-after"] == "5"
    assert len(flaky.bodies) == 2


def test_a_request_whose_write_may_have_stuck_is_not_run_again(client: TestClient, flaky: Flaky) -> None:
    flaky.failures, flaky.write_first = 1, "commitTransaction"
    response = client.post("/things", json={"n": 1})
    assert (response.status_code, response.json()["reason"]) == (503, "storage_unavailable")
    assert len(flaky.bodies) == 1, "a second run could write twice"


def test_a_message_sent_to_a_member_is_not_sent_twice(flaky: Flaky) -> None:
    """The WeChat client reports a send that is not safe to repeat: the request is not run again."""
    sends: list[str] = []

    def platform(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("stable_token"):
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        sends.append(request.url.path)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    send_router = APIRouter()

    @send_router.post("/greet")
    async def greet(request: Request) -> None:
        async with WeChatClient(
            "wx1", "secret-0123456789abcdef", token_store=MemoryTokenStore(), transport=httpx.MockTransport(platform)
        ) as wechat:
            await wechat.send_custom_message("o_mom", Text(content="hi"))
        _flaky(request).run(None)

    @asynccontextmanager
    async def bootstrap() -> AsyncIterator[Flaky]:
        yield flaky

    flaky.failures = 1
    app = create_service_app(
        ServiceSettings(), title="t", bootstrap=bootstrap, readiness={}, operator_routers=[send_router]
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/greet")
    assert (response.status_code, response.json()["reason"]) == (503, "storage_unavailable")
    assert sends == ["/cgi-bin/message/custom/send"], "one message, not two"


def test_repeatable_writes_do_not_stop_a_second_run(client: TestClient, flaky: Flaky) -> None:
    flaky.failures, flaky.write_first, flaky.repeatable = 1, "update", True
    assert client.post("/things", json={"n": 1}).status_code == 200
    assert len(flaky.bodies) == 2


def test_no_second_wait_when_no_server_answered_at_all(client: TestClient, flaky: Flaky) -> None:
    flaky.failures, flaky.error = 5, StorageUnavailable("MongoDB unreachable")
    flaky.error.__cause__ = ServerSelectionTimeoutError("no server in 5 s")
    response = client.post("/things", json={"n": 1})
    assert (response.status_code, response.json()["reason"]) == (503, "storage_unavailable")
    assert len(flaky.bodies) == 1


def test_a_conflict_asks_for_an_immediate_retry(client: TestClient, flaky: Flaky) -> None:
    flaky.failures, flaky.error = 5, StorageConflict("lost a race")
    response = client.post("/things", json={"n": 1})
    assert (response.status_code, response.json()["reason"], response.headers["retry-after"]) == (
        503,
        "storage_conflict",
        "1",
    )


def test_a_wrong_query_stays_a_500(client: TestClient, flaky: Flaky) -> None:
    flaky.failures, flaky.error = 5, OperationFailure("unknown operator: $nope", code=2)
    assert client.post("/things", json={"n": 1}).status_code == 500
    assert len(flaky.bodies) == 1


def test_what_may_stick() -> None:
    with watch_writes() as log:
        log.record("find", {})
        log.record("update", {"autocommit": False, "txnNumber": 1})  # inside a transaction
        log.record("abortTransaction", {})
        log.record("aggregate", {"pipeline": [{"$match": {}}]})
        assert not log.stuck
        log.record("aggregate", {"pipeline": [{"$match": {}}, {"$merge": {"into": "x"}}]})
        assert log.commands == ["aggregate"]
    for command in ("insert", "update", "delete", "findAndModify", "commitTransaction", "createIndexes"):
        with watch_writes() as log:
            log.record(command, {"txnNumber": 3} if command != "commitTransaction" else {"autocommit": False})
            assert log.stuck, command


def test_the_client_listener_records_into_the_current_block_only() -> None:
    class Started:
        command_name = "insert"
        command: ClassVar[dict[str, Any]] = {"insert": "x"}

    WRITE_WATCH.started(Started())  # type: ignore[arg-type]  # outside any block: nothing to tell
    with watch_writes() as outer:
        with watch_writes() as inner:
            WRITE_WATCH.started(Started())  # type: ignore[arg-type]
        assert inner.stuck and not outer.stuck


def test_storage_failure_reads_the_cause_chain() -> None:
    wrapped = RuntimeError("repository failed")
    wrapped.__cause__ = AutoReconnect("gone")
    failure = storage_failure(wrapped)
    assert failure is not None and failure.reason == "storage_unavailable"
    assert storage_failure(ValueError("a bug")) is None


# -- WeChat -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "reason", "retry_after"),
    [
        (TransportError("qrcode/create", "ConnectError: [Errno 111] refused"), 502, "wechat_unreachable", None),
        (CredentialsRejected(40013, "invalid appid", "stable_token"), 503, "wechat_not_configured", None),
        (TokenUnavailable("no fresh token"), 503, "wechat_token_unavailable", "5"),
        (PlatformBusy(-1, "system error", "qrcode/create"), 503, "wechat_busy", "5"),
        (QuotaExceeded(45009, "daily quota", "media/upload", 3600.2), 503, "wechat_quota_exceeded", "3601"),
        (NotFollower(43004, "require subscribe", "message/custom/send"), 409, "wechat_recipient_unavailable", None),
        (WeChatApiError(40037, "invalid template_id", "message/template/send"), 502, "wechat_refused", None),
        (InvalidRequest("openid must be a non-empty string"), 422, "wechat_invalid_request", None),
    ],
)
def test_wechat_failures_get_one_answer_everywhere(
    error: Exception, status: int, reason: str, retry_after: str | None
) -> None:
    flaky = Flaky(error=error)
    with _client(flaky, WithWeChat()) as client:
        response = client.post("/wechat")
    assert (response.status_code, response.json()["reason"], response.headers.get("retry-after")) == (
        status,
        reason,
        retry_after,
    )
    assert "access_token" not in response.text


def test_unreachable_names_the_base_url_a_local_run_forgot_to_set() -> None:
    flaky = Flaky(error=TransportError("qrcode/create", "ConnectError: [Errno -3] name resolution"))
    with _client(flaky, WithWeChat()) as client:
        body = client.post("/wechat").json()
    assert body["api"] == "qrcode/create"
    assert "https://api.weixin.qq.com" in body["detail"] and "WECHAT_API__BASE_URL" in body["detail"]


def test_errcode_answers_carry_the_errcode() -> None:
    failure = wechat_failure(WeChatApiError(40037, "invalid template_id", "message/template/send"))
    assert failure is not None and (failure.errcode, failure.api) == (40037, "message/template/send")
    assert wechat_failure(ValueError("not ours")) is None
