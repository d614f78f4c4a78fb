"""Sending pushes to the account's server the way the platform does.

One push is sealed once (signature, and encryption in compatible/safe mode) and the same params and
body are POSTed up to ``attempts`` times: the platform retries when the server does not answer within
``timeout`` seconds, cannot be reached, or answers 5xx. A 2xx answer ends it: ``success`` or an empty
body means "no reply", a passive reply XML is shown to the member, anything else makes the platform
show its "service unavailable" notice. So does giving up.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any

from services.wechat_sim.domain import pushes
from services.wechat_sim.domain.errors import ApiError
from services.wechat_sim.domain.members import InboxEntry
from services.wechat_sim.service_layer.platform import Platform, PreparedPush
from services.wechat_sim.service_layer.ports import PushFailed, PushResponse, PushSender
from shared.observability import get_logger
from shared.wechat import SignedRequest, seal_push

log = get_logger(__name__)


@dataclass(frozen=True)
class Attempt:
    number: int
    #: HTTP status, or None when no answer came (``error`` says why)
    status: int | None
    error: str | None
    elapsed_ms: float

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "status": self.status, "error": self.error, "elapsed_ms": self.elapsed_ms}


@dataclass(frozen=True)
class ReplyInfo:
    msgtype: str
    payload: dict[str, Any]
    encrypted: bool

    def as_json(self) -> dict[str, Any]:
        return {"msgtype": self.msgtype, "payload": self.payload, "encrypted": self.encrypted}


@dataclass(frozen=True)
class PushOutcome:
    """What happened to one push: every attempt, the answer, and what the member saw."""

    appid: str
    openid: str
    kind: str
    fields: pushes.PushFields
    url: str
    request: SignedRequest
    attempts: list[Attempt] = field(default_factory=list)
    #: the server answered 2xx
    acknowledged: bool = False
    answer: bytes | None = None
    reply: ReplyInfo | None = None
    #: why the answer could not be shown (garbage, wrong encryption, unknown media...)
    reply_error: str | None = None
    #: what landed in the member's inbox: the reply, or the platform's notice
    inbox_entry: InboxEntry | None = None

    @property
    def statuses(self) -> list[int | None]:
        return [a.status for a in self.attempts]

    def as_json(self) -> dict[str, Any]:
        return {
            "appid": self.appid,
            "openid": self.openid,
            "kind": self.kind,
            "fields": self.fields,
            "url": self.url,
            "params": self.request.params,
            "body": self.request.body.decode("utf-8", "replace"),
            "attempts": [a.as_json() for a in self.attempts],
            "acknowledged": self.acknowledged,
            "answer": None if self.answer is None else self.answer.decode("utf-8", "replace"),
            "reply": None if self.reply is None else self.reply.as_json(),
            "reply_error": self.reply_error,
            "inbox_entry": None if self.inbox_entry is None else self.inbox_entry.as_json(),
        }


class PushDriver:
    def __init__(self, platform: Platform, sender: PushSender, *, timeout_seconds: float, attempts: int) -> None:
        self._platform = platform
        self._sender = sender
        self._timeout = timeout_seconds
        self._attempts = attempts

    async def deliver(self, push: PreparedPush) -> PushOutcome:
        wire = self._platform.wire(push.appid)
        request = seal_push(
            pushes.render(push.fields),
            token=wire.token,
            mode=wire.mode,
            crypto=wire.crypto,
            timestamp=int(self._platform.now()),
            openid=push.openid,
            to_user=wire.original_id,
        )
        attempts, response = await self._post(wire.gateway_url, request)
        outcome = PushOutcome(push.appid, push.openid, push.kind, push.fields, wire.gateway_url, request, attempts)
        if response is None or not 200 <= response.status < 300:
            log.info("push not acknowledged", appid=push.appid, kind=push.kind, statuses=outcome.statuses)
            notice = self._platform.record_notice(push.appid, push.openid) if push.member_facing else None
            return replace(outcome, inbox_entry=notice, answer=None if response is None else response.body)
        return self._read_answer(push, outcome, response.body)

    async def _post(self, url: str, request: SignedRequest) -> tuple[list[Attempt], PushResponse | None]:
        attempts: list[Attempt] = []
        for number in range(1, self._attempts + 1):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._sender.post(url, request.params, request.body)
            except TimeoutError:
                attempts.append(Attempt(number, None, "timeout", _ms(started)))
                continue
            except PushFailed as exc:
                attempts.append(Attempt(number, None, str(exc) or type(exc).__name__, _ms(started)))
                continue
            attempts.append(Attempt(number, response.status, None, _ms(started)))
            if response.status < 500:
                return attempts, response
        return attempts, None

    def _read_answer(self, push: PreparedPush, outcome: PushOutcome, body: bytes) -> PushOutcome:
        wire = self._platform.wire(push.appid)
        outcome = replace(outcome, acknowledged=True, answer=body)
        try:
            reply = pushes.read_reply(
                body,
                mode=wire.mode,
                token=wire.token,
                crypto=wire.crypto,
                openid=push.openid,
                original_id=wire.original_id,
            )
        except pushes.InvalidReply as exc:
            return self._unshowable(push, outcome, str(exc))
        if reply is None:
            return outcome
        info = ReplyInfo(reply.msgtype, reply.payload, reply.encrypted)
        outcome = replace(outcome, reply=info)
        if not push.member_facing or reply.msgtype == "transfer_customer_service":
            return outcome
        try:
            entry = self._platform.record_reply(push.appid, push.openid, reply.msgtype, reply.payload, reply.media)
        except ApiError as error:
            return self._unshowable(push, outcome, f"reply media refused: {error.errmsg}")
        return replace(outcome, inbox_entry=entry)

    def _unshowable(self, push: PreparedPush, outcome: PushOutcome, why: str) -> PushOutcome:
        log.info("push answer not shown", appid=push.appid, kind=push.kind, reason=why)
        notice = self._platform.record_notice(push.appid, push.openid) if push.member_facing else None
        return replace(outcome, reply_error=why, inbox_entry=notice)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
