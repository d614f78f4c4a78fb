"""What every HTTP service answers when its storage or the WeChat platform fails a request.

- Storage (a :class:`shared.storage.StorageError`, or a driver error no adapter translated): 503 with
  ``{"detail", "reason"}`` (``storage_unavailable`` or ``storage_conflict``) and ``Retry-After``,
  never a 500. Before answering so, the request is run once more when that is safe:
  :class:`RetryStaleStorage` replays it (its body included) if none of its writes can have stuck
  (``shared.storage.watch_writes``): a pooled connection the server had dropped fails the first
  command sent on it, and the second run gets a fresh one.
- The WeChat API client's errors: the table of ``shared.wechat_client.wechat_failure`` (502 when the
  platform is unreachable or refused the call, 503 when it is not configured, busy or over quota).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.storage import WriteLog, storage_failure, watch_writes
from shared.wechat_client import wechat_failure

__all__ = ["RetryStaleStorage", "storage_failed", "wechat_failed"]

log = structlog.get_logger("shared.web")


@dataclass
class _Attempt:
    """One run of a request: may it run again, and has the storage handler asked for that."""

    may_repeat: bool
    writes: WriteLog = field(default_factory=WriteLog)
    again: bool = False


_attempt: ContextVar[_Attempt | None] = ContextVar("scrm_web_attempt", default=None)


class RetryStaleStorage:
    """Runs a request a second time when its first run failed on storage and wrote nothing that stuck.

    The first run's messages from the client are recorded and replayed, so routes that read their
    body themselves see it again; its 503 is held back and never sent. Plain ASGI: it must see the
    answer of the app's own exception handlers, which are inside it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        recorded: list[Message] = []

        async def recording() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                recorded.append(message)
            return message

        # The layers inside write into the scope (route, exit stacks, state): the second run starts
        # from the scope as it came in.
        fresh, state = dict(scope), dict(scope.get("state") or {})
        first = await self._run(scope, recording, send, may_repeat=True)
        if not first.again:
            return
        log.info("request run again after a storage failure", method=scope["method"], path=scope["path"])
        replay = list(recorded)

        async def replaying() -> Message:
            return replay.pop(0) if replay else await recording()

        await self._run({**fresh, "state": state}, replaying, send, may_repeat=False)

    async def _run(self, scope: Scope, receive: Receive, send: Send, *, may_repeat: bool) -> _Attempt:
        attempt = _Attempt(may_repeat)

        async def sending(message: Message) -> None:
            if not attempt.again:  # a run that will be repeated answers nothing
                await send(message)

        with watch_writes() as writes:
            attempt.writes = writes
            token = _attempt.set(attempt)
            try:
                await self._app(scope, receive, sending)
            finally:
                _attempt.reset(token)
        return attempt


async def storage_failed(request: Request, exc: Exception) -> JSONResponse:
    """503 with the reason and Retry-After; asks :class:`RetryStaleStorage` for a second run if safe."""
    failure = storage_failure(exc)
    if failure is None:
        raise exc  # not the database's trouble but a bug: the 500 it is
    attempt = _attempt.get()
    if attempt is not None and attempt.may_repeat and failure.repeatable and not attempt.writes.stuck:
        attempt.again = True
    log.warning(
        "storage failure",
        reason=failure.reason,
        error=type(exc).__name__,
        path=request.url.path,
        run_again=attempt is not None and attempt.again,
        written=None if attempt is None else attempt.writes.commands,
    )
    headers = {"Retry-After": str(failure.retry_after)}
    return JSONResponse({"detail": failure.detail, "reason": failure.reason}, 503, headers=headers)


def wechat_failed(base_url: str | None) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """The handler for the WeChat client's errors, naming ``base_url`` where it helps."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        failure = wechat_failure(exc, base_url=base_url)
        if failure is None:
            raise exc
        log.warning("wechat call failed", reason=failure.reason, api=failure.api, path=request.url.path)
        body: dict[str, object] = {"detail": failure.detail, "reason": failure.reason}
        if failure.api is not None:
            body["api"] = failure.api
        if failure.errcode is not None:
            body["errcode"] = failure.errcode
        headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
        return JSONResponse(body, failure.status, headers=headers)

    return handle
