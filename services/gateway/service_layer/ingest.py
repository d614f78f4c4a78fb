"""The gateway's one use case: accept a push, publish its event once, answer the platform."""

from __future__ import annotations

import hashlib
import time

from services.gateway.domain import pushes, replies
from services.gateway.domain.inbound import PushParams, Refused, open_push, replay_key, well_formed
from services.gateway.service_layer.ports import (
    AccountDirectory,
    Claim,
    ClaimResult,
    PushLedger,
    ReplyRules,
    SeenRequests,
)
from shared.contracts import WECHAT_PUSHES
from shared.events import Envelope, Event
from shared.messaging import EventPublisher
from shared.observability import get_logger
from shared.wechat import InvalidXml, seal_reply

log = get_logger(__name__)

SUCCESS = b"success"


async def ingest_push(
    appid: str,
    params: PushParams,
    body: bytes,
    *,
    accounts: AccountDirectory,
    ledger: PushLedger,
    rules: ReplyRules,
    publisher: EventPublisher,
    replay_window_seconds: int,
    seen: SeenRequests | None = None,
    now: float | None = None,
) -> bytes:
    """Return the response body for the platform, or raise :class:`Refused`.

    The event is published before anything is acknowledged; if Kafka does not take it the caller
    answers 5xx and the platform retries. The event id is derived from the push, and the ledger
    answers the platform's retries with the first answer without publishing again.
    """
    well_formed(params)
    keys = await accounts.find(appid)
    if keys is None:
        raise Refused(404, f"unknown account {appid!r}")
    opened = open_push(
        keys, params, body, now=time.time() if now is None else now, window_seconds=replay_window_seconds
    )
    if seen is not None and not await _first_use(seen, f"{appid}:{replay_key(params)}", body):
        raise Refused(403, "this signed request was already used with another body (replayed)")
    try:
        push = pushes.parse(opened.message)
        event = pushes.normalize(push)  # before any claim: a push no event can hold is refused outright
    except InvalidXml as exc:
        raise Refused(400, str(exc)) from None
    key = push.dedup_key(appid)

    claim = await _claim(ledger, key)
    if claim.claim is Claim.DONE:
        return claim.reply or SUCCESS
    if claim.claim is Claim.IN_FLIGHT:
        raise Refused(503, "the first delivery of this push is still being handled; retry")

    envelope = Envelope.wrap(event, appid=appid, key=push.from_user, occurred_at=push.occurred_at, event_id=key)
    try:
        await publisher.publish(WECHAT_PUSHES, envelope)
    except Exception:
        await _release(ledger, key)
        raise

    answer = SUCCESS
    reply = await _reply_for(rules, appid, event)
    if reply is not None:
        xml = replies.render(reply, to_openid=push.from_user, from_account=push.to_user, now=int(time.time()))
        answer = (
            xml
            if opened.cipher is None
            else seal_reply(xml, token=keys.token, crypto=opened.cipher, timestamp=params.timestamp, nonce=params.nonce)
        )
    await _complete(ledger, key, answer)
    return answer


# The ledger and the reply rules make answers better, never possible: when their storage is down the
# push is still published (consumers deduplicate by event id) and answered plainly.


async def _claim(ledger: PushLedger, key: str) -> ClaimResult:
    try:
        return await ledger.claim(key)
    except Exception as exc:
        log.warning("push ledger unavailable; publishing without retry detection", error=type(exc).__name__)
        return ClaimResult(Claim.NEW)


async def _first_use(seen: SeenRequests, key: str, body: bytes) -> bool:
    try:
        return await seen.first_use(key, hashlib.sha256(body).hexdigest())
    except Exception as exc:
        log.warning("replay store unavailable; accepting on the timestamp window alone", error=type(exc).__name__)
        return True


async def _complete(ledger: PushLedger, key: str, answer: bytes) -> None:
    try:
        await ledger.complete(key, answer)
    except Exception as exc:
        log.warning("push ledger unavailable; a retry of this push will be published again", error=type(exc).__name__)


async def _release(ledger: PushLedger, key: str) -> None:
    try:
        await ledger.release(key)
    except Exception as exc:
        log.warning("push ledger unavailable; claim expires on its own", error=type(exc).__name__)


async def _reply_for(rules: ReplyRules, appid: str, event: Event) -> replies.Reply | None:
    try:
        return replies.choose(await rules.for_account(appid), event)
    except Exception as exc:
        log.warning("reply rules unavailable; answering without a passive reply", error=type(exc).__name__)
        return None
