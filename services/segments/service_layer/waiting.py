"""Sends that waited for the window (``domain/waiting.py``): a member's interaction opens their 48-hour
window, and every push still waiting for them sends its customer-service message then; a sweep expires
waits that ran out and sends those whose window opened while the push was held (quiet hours).

Each send re-decides the member as the dispatcher does (following, consent, frequency cap) with the
window open from the interaction. A record moves ``waiting → sending`` conditionally before the send
(one worker sends it, a redelivered interaction finds nothing to take), then the send is reserved
against the member's caps as the dispatcher reserves its sends (conditional on the version of the
member's sends the decision read: a push that reserved the member meanwhile wins, the member is
decided again, and a capped one is put back to wait for a later interaction), and its outcome is
written with its ``push.delivered`` / ``push.delivery_failed`` event in one transaction, as the
dispatcher does: the reservation is the count, given back in that transaction when the platform
refused the send, kept after a transport failure (it may have been delivered).
Counters: ``waiting`` goes down by one, and ``sent_after_wait`` (with ``sent`` and the channel),
``failed.<code>``, ``skipped.<reason>`` or ``expired_waiting`` goes up.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog

from services.segments.domain.pushes import (
    BEIJING,
    INTERACTION_WINDOW,
    TRANSPORT_FAILED,
    Channel,
    Decision,
    Push,
    PushStatus,
    Recipient,
    SkipReason,
    Variant,
    decide,
)
from services.segments.domain.waiting import EXPIRED_WAITING, SENT_AFTER_WAIT, WAITING
from services.segments.service_layer.delivery_events import delivered_event, failed_event
from services.segments.service_layer.dispatch import recipient_of
from services.segments.service_layer.ports import Content, PushReader, PushStore, Sender, SendRefused, WaitingStore
from shared.contracts import (
    PUSH_DELIVERIES,
    ImageMessageReceived,
    MemberFollowed,
    MenuClicked,
    MenuLinkOpened,
    QrCodeScanned,
    TextMessageReceived,
)
from shared.events import Envelope, Message
from shared.storage import retry_transient

__all__ = ["Interaction", "WaitingSends", "interaction_of"]

log = structlog.get_logger(__name__)

Personalize = Callable[[Content, str, str, str], Content]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Interaction:
    """A member's own doing that opens their window: who, when, and whether it was a follow."""

    __slots__ = ("at", "followed", "openid")

    def __init__(self, openid: str, at: datetime, *, followed: bool = False) -> None:
        self.openid, self.at, self.followed = openid, at, followed


def interaction_of(message: Message) -> Interaction | None:
    """The interaction a platform push reports (what profiles count for ``last_active_at``); None else."""
    match message:
        case MemberFollowed():
            return Interaction(message.openid, message.followed_at, followed=True)
        case QrCodeScanned():
            return Interaction(message.openid, message.scanned_at)
        case MenuClicked():
            return Interaction(message.openid, message.clicked_at)
        case MenuLinkOpened():
            return Interaction(message.openid, message.opened_at)
        case TextMessageReceived() | ImageMessageReceived():
            return Interaction(message.openid, message.received_at)
    return None


#: Statuses whose waiting members may be sent to (a finished push's audience has been gone through;
#: its waits stay open until they run out).
_SENDS = frozenset({PushStatus.SENDING, PushStatus.FINISHED, PushStatus.WAITING_QUOTA})
#: Statuses that end every wait.
_ENDED = frozenset({PushStatus.CANCELLED, PushStatus.FAILED})
#: Reservation attempts for one send before giving up (each lost one means another push reserved the
#: member just then; the member is put back to wait).
_RESERVE_ROUNDS = 5


class WaitingSends:
    def __init__(
        self,
        pushes: PushStore,
        waiting: WaitingStore,
        sender: Sender,
        personalize: Personalize,
        *,
        read_push: PushReader,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retries: int = 3,
        retry_seconds: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch: int = 200,
    ) -> None:
        self._pushes = pushes
        self._waiting = waiting
        self._sender = sender
        self._personalize = personalize
        self._read_push = read_push
        self._clock = clock
        self._retries = retries
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self._batch = batch

    async def on_interaction(self, appid: str, interaction: Interaction) -> int:
        """Open the member's window and send what waits for them; how many were sent."""
        now = self._clock()
        until = _utc(interaction.at) + INTERACTION_WINDOW
        if until <= now:  # a replay of an old interaction: its window has closed
            return 0
        records = await self._waiting.open_window(appid, interaction.openid, until, now)
        sent = 0
        for doc in records:
            sent += await self._one(doc, now, followed=interaction.followed)
        return sent

    async def sweep(self) -> bool:
        """Expire the waits that ran out, send those with an open window; True when there was work."""
        now = self._clock()
        expired = await self._waiting.due_to_expire(now, self._batch)
        for doc in expired:
            await self._end(doc, now, EXPIRED_WAITING)
        sent = 0
        for doc in await self._waiting.ready(now, self._batch):
            sent += await self._one(doc, now)
        return bool(expired) or sent > 0

    async def _one(self, doc: dict[str, Any], now: datetime, *, followed: bool = False) -> int:
        current = await self._pushes.get(doc["push_id"])
        if current is None or PushStatus(current["status"]) in _ENDED or _utc(doc["wait_until"]) <= now:
            await self._end(doc, now, EXPIRED_WAITING)
            return 0
        push = self._read_push(current)
        if PushStatus(push.status) not in _SENDS:  # paused: the member's next interaction tries again
            await self._waiting.close_window(doc["_id"])
            return 0
        if push.quiet_hours is not None and push.quiet_hours.until(now) is not None:
            return 0  # the window stays open: the sweep sends it when the quiet hours end
        variant = next((v for v in push.variants if v.name == doc["variant"]), None)
        openid = doc["openid"]
        profile = (await self._pushes.profiles_of(push.appid, [openid])).get(openid)
        recent = (await self._pushes.recent_sends(push.appid, [openid])).get(openid, {})
        decision = _decide(push, variant, _recipient(profile, recent, doc, now, followed=followed), now)
        if decision is None or decision.reason is not None:
            reason = SkipReason.OUTSIDE_WINDOW if decision is None else decision.reason
            assert reason is not None
            if reason is SkipReason.FREQUENCY_CAP:  # capped today: a later interaction may still send it
                await self._waiting.close_window(doc["_id"])
                return 0
            await self._end(doc, now, f"skipped.{reason.value}", {"status": "skipped", "reason": reason.value})
            return 0
        if decision.channel is not Channel.CUSTOMER_SERVICE or variant is None or variant.message is None:
            await self._waiting.close_window(doc["_id"])  # nothing to send by the window
            return 0
        if not await self._waiting.take(doc["_id"], now):
            return 0  # another worker took it, or it ended meanwhile
        if not await self._reserve(push, variant, profile, recent, doc, now, followed=followed):
            await self._waiting.put_back(doc["_id"])  # capped by a send reserved first: the next interaction
            return 0
        content = self._personalize(variant.message, push.id, variant.name, openid)
        try:
            await self._send(push, openid, content)
        except SendRefused as refused:
            if refused.kind == "quota":  # not sent: waits again, and the cap gets its reservation back
                await self._waiting.put_back(doc["_id"])
                await self._pushes.release_sends(push.appid, push.id, [openid])
                return 0
            await self._settle(push, doc, now, refused.errcode)
            return 0
        await self._settle(push, doc, now, None)
        return 1

    async def _reserve(
        self,
        push: Push,
        variant: Variant,
        profile: dict[str, Any] | None,
        recent: dict[str, Any],
        doc: dict[str, Any],
        now: datetime,
        *,
        followed: bool,
    ) -> bool:
        """Count the send toward the member's caps before it is made, conditional on the version of
        their sends the decision read (the dispatcher's reservation): False when a send reserved
        meanwhile leaves this one over the cap."""
        openid = doc["openid"]
        for _ in range(_RESERVE_ROUNDS):
            version = int(recent.get("v", 0))
            if not await self._pushes.reserve_sends(push.appid, push.id, [(openid, version)], now):
                return True
            recent = (await self._pushes.recent_sends(push.appid, [openid])).get(openid, {})
            again = _decide(push, variant, _recipient(profile, recent, doc, now, followed=followed), now)
            if again is None or again.channel is not Channel.CUSTOMER_SERVICE:
                return False
        log.warning("waiting send not reserved: the member's sends kept changing", push=push.id, openid=openid)
        return False

    async def _send(self, push: Push, openid: str, content: Content) -> None:
        attempt = 0
        while True:
            try:
                await self._sender.send(
                    push.appid, openid, Channel.CUSTOMER_SERVICE, content, f"{push.id}:{openid}"[:64]
                )
                return
            except SendRefused as refused:
                if refused.kind == "transient" and attempt < self._retries:
                    attempt += 1
                    await self._sleep(self._retry_seconds * 2 ** (attempt - 1))
                    continue
                raise

    async def _settle(self, push: Push, doc: dict[str, Any], now: datetime, errcode: int | None) -> None:
        """The taken record's outcome and its event in one transaction; then the push's counters."""
        finished = self._clock()
        openid, variant, key = doc["openid"], doc["variant"], doc["_id"]
        channel = Channel.CUSTOMER_SERVICE
        inc: Counter[str] = Counter()
        _count(inc, variant, WAITING, -1)
        fields: dict[str, Any] = {"channel": channel.value, "finished_at": finished, "window_until": None}
        event: Envelope
        if errcode is None:
            fields |= {"status": "sent", "sent_at": finished, "after_wait": True}
            event = delivered_event(push, openid, variant, channel, finished)
            for name in (SENT_AFTER_WAIT, "sent", f"channels.{channel.value}"):
                _count(inc, variant, name)
        else:
            fields |= {"status": "failed", "errcode": errcode, "after_wait": True}
            event = failed_event(push, openid, variant, channel, errcode, finished)
            _count(inc, variant, f"failed.{errcode}")

        async def transaction() -> None:
            async with self._pushes.transaction() as uow:
                await uow.deliveries.settle([(key, fields)])
                if errcode is not None and errcode != TRANSPORT_FAILED:  # refused: not sent, not counted
                    await uow.deliveries.release_sends(push.appid, push.id, [openid])
                await uow.emit(PUSH_DELIVERIES, event)
                await uow.commit()

        await retry_transient(transaction)
        await self._pushes.update(push.id, {}, dict(inc))
        log.info("sent after waiting for the window", push=push.id, sent=errcode is None, errcode=errcode)

    async def _end(
        self, doc: dict[str, Any], now: datetime, counter: str, fields: dict[str, Any] | None = None
    ) -> None:
        """A wait that ends without a send: expired (or skipped for ``fields``' reason)."""
        ended = fields or {"status": "skipped", "reason": EXPIRED_WAITING}
        if not await self._waiting.finish(doc["_id"], {**ended, "finished_at": now}):
            return  # someone else ended or took it
        inc: Counter[str] = Counter()
        _count(inc, doc["variant"], WAITING, -1)
        _count(inc, doc["variant"], counter)
        await self._pushes.update(doc["push_id"], {}, dict(inc))


def _recipient(
    profile: dict[str, Any] | None, recent: dict[str, Any], doc: dict[str, Any], now: datetime, *, followed: bool
) -> Recipient | None:
    """The member as the dispatcher reads them, with the window the interaction opened."""
    recipient = recipient_of(profile, recent, now.astimezone(BEIJING).strftime("%Y-%m"))
    if recipient is None:
        return None
    opened = doc.get("window_until")
    active = _utc(opened) - INTERACTION_WINDOW if opened is not None else now
    return replace(recipient, following=recipient.following or followed, last_active_at=active)


def _decide(push: Push, variant: Variant | None, recipient: Recipient | None, now: datetime) -> Decision | None:
    return decide(recipient, variant, push.cap, now) if variant is not None else None


def _count(inc: Counter[str], variant: str, name: str, by: int = 1) -> None:
    inc[f"stats.total.{name}"] += by
    inc[f"stats.variants.{variant}.{name}"] += by
