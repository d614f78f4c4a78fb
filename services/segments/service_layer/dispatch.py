"""Sending a push: one slice of its frozen audience at a time, every member decided, recorded, then sent.

Per slice: read the members' profiles and recent sends, decide each member, insert the delivery
records (the unique ``push:openid`` key makes a member's delivery happen once even with two workers;
a resumed or re-claimed push finds the members recorded already there, and skips them: a record still
marked ``sending`` was cut off by a crash and is closed as ``interrupted``, never resent), reserve each send
against the member's frequency caps (conditional on the sends the decision read, so two pushes to one
member at once cannot both pass a cap; the reservation is the count, released when the send is
refused or not made), send concurrently through the rate-limited client, and write the outcomes and
the counters.

A subscription message goes only to a member with an unused consent to its template
(``service_layer/consents.py``): the decision reads the consents with the slice, and each consent is
used (claimed, conditional on one being left) after the caps are reserved, so two pushes never use one;
a member who lost it meanwhile is skipped (``no_subscription_consent``), a message not sent gives it back.

A closed interaction window (45015) moves the member to the template or subscription message when the
variant has one. A daily quota running out (45009) stops the push: the records of sends not made are
removed, and the push waits until the quota resets. Transient failures are retried with doubling
backoff, then recorded with their code.

Each member's outcome is reported on ``segments.deliveries`` (``push.delivered``, or
``push.delivery_failed`` with the code) through the outbox, in the transaction that writes the slice's
outcomes: an event exists if and only if its record does, and its id is the push's and the member's,
so a retried slice emits the same events. Broadcasts report no member: the platform counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from services.segments.domain.click_links import ClickLink, sign_click
from services.segments.domain.pushes import (
    BEIJING,
    INTERRUPTED,
    TRANSPORT_FAILED,
    Channel,
    MessageContent,
    Push,
    PushStatus,
    Recipient,
    SkipReason,
    SubscriptionContent,
    TemplateContent,
    Variant,
    assign_variant,
    decide,
    fallback_channel,
)
from services.segments.domain.waiting import WAITING, waiting_fields
from services.segments.service_layer.consents import ConsentGate
from services.segments.service_layer.delivery_events import delivered_event, failed_event
from services.segments.service_layer.ports import (
    Content,
    DeliveryWrites,
    PushReader,
    PushStore,
    Sender,
    SendRefused,
)
from shared.contracts import PUSH_DELIVERIES
from shared.events import Envelope
from shared.storage import retry_transient

__all__ = ["DispatchConfig", "Dispatcher", "link_urls", "recipient_of"]

log = structlog.get_logger(__name__)

#: Links in a text message become signed redirects (longer ones are left as they are: no redirect can hold them).
_LINK = re.compile(r"https?://[^\s\"'<>]{1,2000}(?![^\s\"'<>])")


@dataclass(frozen=True)
class DispatchConfig:
    click_base_url: str
    click_key: bytes
    #: How long a click link works after it was sent.
    click_ttl: timedelta = timedelta(days=90)
    slice_size: int = 500
    concurrency: int = 64
    retries: int = 3
    retry_seconds: float = 0.5
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class _Sent:
    channel: Channel
    msgid: int | None


@dataclass(frozen=True)
class _Failed:
    channel: Channel
    code: int


@dataclass(frozen=True)
class _QuotaHit:
    retry_after: float


class _NotAttempted:
    pass


@dataclass
class _Slice:
    """One slice of the audience, read and decided: the delivery records and the sends they plan."""

    records: list[dict[str, Any]]
    plans: dict[str, tuple[Variant, Channel]]
    counters: _Counters
    month: str
    #: Each planned member as decided, and the version of their sends the decision read.
    recipients: dict[str, Recipient] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


_Outcome = _Sent | _Failed | _QuotaHit | _NotAttempted

#: The platform's code for a subscription message without consent: recorded when a fallback to the
#: subscription message finds none (the platform is not asked).
SUBSCRIPTION_CONSENT_MISSING = 43101

#: Rounds of reserving a slice's sends: each round, every member lost to another push is decided again.
_RESERVE_ROUNDS = 20


class _Counters:
    """``$inc`` of a push's stats, total and per variant."""

    def __init__(self) -> None:
        self.inc: Counter[str] = Counter()

    def add(self, variant: str, field: str, by: int = 1) -> None:
        self.inc[f"stats.total.{field}"] += by
        self.inc[f"stats.variants.{variant}.{field}"] += by

    def targeted(self, variant: str, by: int = 1) -> None:
        # The total is set when the audience is frozen; variants learn theirs as members are assigned.
        self.inc[f"stats.variants.{variant}.targeted"] += by


class Dispatcher:
    def __init__(
        self,
        store: PushStore,
        sender: Sender,
        config: DispatchConfig,
        *,
        read_push: PushReader,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        consents: ConsentGate | None = None,
    ) -> None:
        self._consents = consents
        #: Subscription consents used for sends not yet settled: delivery id → (template, one-time).
        self._claimed: dict[str, tuple[str, bool]] = {}
        self._store = store
        self._sender = sender
        self._config = config
        self._read_push = read_push
        self._clock = clock
        self._sleep = sleep

    async def run_once(self) -> bool:
        """Claim one due push and send it as far as it goes now; False when none is due."""
        now = self._clock()
        doc = await self._store.claim_due(
            [PushStatus.SENDING, PushStatus.WAITING_QUOTA], PushStatus.SENDING, now, self._config.lease
        )
        if doc is None:
            return False
        try:
            await self.send(doc)
        except Exception:
            await self._store.update(doc["_id"], {"lease_until": None})
            raise
        return True

    async def send(self, doc: dict[str, Any]) -> None:
        """Send a claimed push as far as it goes now. While one slice is being sent, the next one is read
        and decided and the previous one's outcomes are written: MongoDB and the platform work at once."""
        push = self._read_push(doc)
        cursor = dict(doc.get("cursor") or {"chunk": 0, "offset": 0})
        chunk: list[str] | None = None
        ahead: asyncio.Task[_Slice] | None = None
        settling: asyncio.Task[None] | None = None
        try:
            while True:
                now = self._clock()
                current = await self._store.get(push.id)
                if current is None or current["status"] != PushStatus.SENDING:
                    log.info("push stopped", push=push.id, status=None if current is None else current["status"])
                    return
                quiet_until = push.quiet_hours.until(now) if push.quiet_hours else None
                if quiet_until is not None:
                    await self._store.update(push.id, {"resume_at": quiet_until, "lease_until": None})
                    return
                if chunk is None:
                    chunk = await self._store.audience_chunk(push.id, cursor["chunk"])
                    if chunk is None:
                        if settling is not None:
                            await settling
                            settling = None
                        await self._finish(push, current, now)
                        return
                start = cursor["offset"]
                part = chunk[start : start + self._config.slice_size]
                if not part:
                    cursor, chunk = {"chunk": cursor["chunk"] + 1, "offset": 0}, None
                    continue
                piece = await ahead if ahead is not None else await self._read(push, part, now)
                ahead = None
                await self._claim(push, piece, now)
                if push.broadcast:
                    await self._queue_for_mass(push, current, list(piece.plans), piece.counters)
                    await self._store.update(push.id, {}, piece.counters.inc)
                else:
                    sending = asyncio.create_task(self._deliver_all(push, piece.plans))
                    following = chunk[start + len(part) : start + len(part) + self._config.slice_size]
                    if following:
                        ahead = asyncio.create_task(self._read(push, following, now))
                    outcomes = await sending
                    if settling is not None:
                        await settling
                    settling = asyncio.create_task(self._settle(push, piece.plans, outcomes, piece.counters, now))
                    quota = [o.retry_after for o in outcomes.values() if isinstance(o, _QuotaHit)]
                    if quota:
                        await settling
                        settling = None
                        await self._wait_for_quota(push, now + timedelta(seconds=max(quota)))
                        return
                cursor = {"chunk": cursor["chunk"], "offset": start + len(part)}
                lease = self._clock() + self._config.lease
                await self._store.update(push.id, {"cursor": cursor, "lease_until": lease})
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead
            if settling is not None:
                await settling

    async def _wait_for_quota(self, push: Push, resume: datetime) -> None:
        note = "daily quota used up (45009); resumes when it resets"
        fields = {"status": PushStatus.WAITING_QUOTA, "resume_at": resume, "lease_until": None, "note": note}
        await self._store.update(push.id, fields)
        log.warning("push waits for quota", push=push.id, resume_at=resume.isoformat())

    # -- one slice ---------------------------------------------------------------------------------------

    async def _read(self, push: Push, openids: Sequence[str], now: datetime) -> _Slice:
        """Read what one slice needs and decide each member. Members recorded already are found when
        their records are inserted (:meth:`_claim`): rare (a resumed slice), so not read for beforehand."""
        counters = _Counters()
        todo = list(openids)
        profiles = await self._store.profiles_of(push.appid, todo)
        recent = await self._store.recent_sends(push.appid, todo)
        usable = await self._consents.usable(push, todo) if self._consents is not None else None
        month = now.astimezone(BEIJING).strftime("%Y-%m")
        piece = _Slice([], {}, counters, month)
        for openid in todo:
            variant = assign_variant(push.id, openid, push.variants)
            sends = recent.get(openid, {})
            subscriptions = None if usable is None else usable.get(openid, frozenset())
            recipient = recipient_of(profiles.get(openid), sends, month, subscriptions=subscriptions)
            decision = decide(recipient, variant, push.cap, now, broadcast=push.broadcast)
            record: dict[str, Any] = {"_id": f"{push.id}:{openid}", "push_id": push.id, "appid": push.appid}
            record |= {"openid": openid, "variant": variant.name, "created_at": now, "finished_at": None}
            if decision.channel is None:
                assert decision.reason is not None
                # Waits for the window instead; a member without a subscription consent too, when the
                # variant has a message the window would carry.
                reason = decision.reason
                if reason is SkipReason.NO_SUBSCRIPTION_CONSENT and variant.message is not None:
                    reason = SkipReason.OUTSIDE_WINDOW
                waits = waiting_fields(push, reason, now)
                if waits is not None:
                    piece.records.append(record | waits)
                    continue
                piece.records.append(
                    record | {"status": "skipped", "reason": decision.reason.value, "finished_at": now}
                )
                continue
            status = "queued" if push.broadcast else "sending"
            piece.records.append(record | {"status": status, "channel": decision.channel.value})
            piece.plans[openid] = (variant, decision.channel)
            assert recipient is not None
            piece.recipients[openid] = recipient
            piece.versions[openid] = int(sends.get("v", 0))
        return piece

    async def _claim(self, push: Push, piece: _Slice, now: datetime) -> None:
        """Insert the slice's delivery records (a member whose record exists already is someone else's),
        then reserve the sends they plan against the members' caps."""
        taken = await self._store.record(piece.records)
        if taken:
            await self._close_interrupted(push, taken, piece.counters, now)
        for record in piece.records:
            if record["openid"] in taken:
                piece.plans.pop(record["openid"], None)
                continue
            piece.counters.targeted(record["variant"])
            if record["status"] == "skipped":
                piece.counters.add(record["variant"], f"skipped.{record['reason']}")
            elif record["status"] == WAITING:
                piece.counters.add(record["variant"], WAITING)
        await self._reserve(push, piece, now)
        await self._use_consents(push, piece, now)

    async def _use_consents(self, push: Push, piece: _Slice, now: datetime) -> None:
        """Use one subscription consent per subscription message planned, atomically: a member whose
        consent another push used meanwhile is skipped (and their cap reservation given back)."""
        if self._consents is None:
            return
        wanted = [
            (openid, variant.subscription.template_id)
            for openid, (variant, channel) in piece.plans.items()
            if channel is Channel.SUBSCRIPTION and variant.subscription is not None
        ]
        claimed = await self._consents.claim(push.appid, wanted, now)
        lost, skipped = [], []
        reason = SkipReason.NO_SUBSCRIPTION_CONSENT
        for openid, template_id in wanted:
            if openid in claimed:
                self._claimed[f"{push.id}:{openid}"] = (template_id, claimed[openid])
                continue
            variant = piece.plans.pop(openid)[0]
            piece.counters.add(variant.name, f"skipped.{reason.value}")
            skipped.append((f"{push.id}:{openid}", {"status": "skipped", "reason": reason.value, "finished_at": now}))
            lost.append(openid)
        if lost:
            await self._store.settle(skipped)
            await self._store.release_sends(push.appid, push.id, lost)

    async def _close_interrupted(self, push: Push, taken: set[str], counters: _Counters, now: datetime) -> None:
        """Of members recorded already, those still ``sending`` were cut off by a crash: closed as
        ``interrupted`` (never sent again: the send may have gone out). The others are done or waiting."""
        recorded = await self._store.recorded(push.id, sorted(taken))
        interrupted = [doc for doc in recorded.values() if doc["status"] == "sending"]
        if not interrupted:
            return
        closed = {"status": "failed", "errcode": "interrupted", "finished_at": now}
        events = [
            failed_event(push, doc["openid"], doc["variant"], Channel(doc["channel"]), INTERRUPTED, now)
            for doc in interrupted
        ]
        await self._write(events, lambda writes: writes.settle([(doc["_id"], closed) for doc in interrupted]))
        for doc in interrupted:
            counters.add(doc["variant"], "failed.interrupted")

    async def _reserve(self, push: Push, piece: _Slice, now: datetime) -> None:
        """Count each planned send toward the member's caps before it is made: the reservation is the
        count (a crash after the send cannot under-count), conditional on the sends the decision read.
        A member another push reserved meanwhile is decided again on what is there now."""
        month = piece.month if push.broadcast else None
        todo = [(openid, piece.versions.get(openid, 0)) for openid in piece.plans]
        for _ in range(_RESERVE_ROUNDS):
            lost = await self._store.reserve_sends(push.appid, push.id, todo, now, month)
            if not lost:
                return
            recent = await self._store.recent_sends(push.appid, sorted(lost))
            todo, skipped = [], []
            for openid in sorted(lost):
                sends = recent.get(openid, {})
                recipient = replace(
                    piece.recipients[openid],
                    recent_sends=_send_times(sends),
                    mass_this_month=int((sends.get("mass") or {}).get(piece.month, 0)),
                )
                variant = piece.plans[openid][0]
                decision = decide(recipient, variant, push.cap, now, broadcast=push.broadcast)
                if decision.channel is None:
                    assert decision.reason is not None
                    del piece.plans[openid]
                    piece.counters.add(variant.name, f"skipped.{decision.reason.value}")
                    fields = {"status": "skipped", "reason": decision.reason.value, "finished_at": now}
                    skipped.append((f"{push.id}:{openid}", fields))
                    continue
                piece.plans[openid] = (variant, decision.channel)
                todo.append((openid, int(sends.get("v", 0))))
            await self._store.settle(skipped)
            if not todo:
                return
        raise RuntimeError(f"push {push.id}: members' sends kept changing while reserving ({len(todo)} left)")

    async def _deliver_all(self, push: Push, plans: dict[str, tuple[Variant, Channel]]) -> dict[str, _Outcome]:
        gate = asyncio.Semaphore(self._config.concurrency)
        stop = asyncio.Event()

        async def one(openid: str, variant: Variant, channel: Channel) -> tuple[str, _Outcome]:
            async with gate:
                return openid, await self._deliver(push, openid, variant, channel, stop)

        done = await asyncio.gather(*(one(openid, v, c) for openid, (v, c) in plans.items()))
        return dict(done)

    async def _deliver(
        self, push: Push, openid: str, variant: Variant, channel: Channel, stop: asyncio.Event
    ) -> _Outcome:
        attempt = 0
        while True:
            if stop.is_set():
                return _NotAttempted()
            content = self._personalize(variant.content_for(channel), push.id, variant.name, openid)
            try:
                msgid = await self._sender.send(push.appid, openid, channel, content, f"{push.id}:{openid}"[:64])
            except SendRefused as refused:
                if refused.kind == "window":
                    fallback = fallback_channel(channel, variant)
                    if fallback is Channel.SUBSCRIPTION and not await self._consent_for_fallback(push, openid, variant):
                        return _Failed(Channel.SUBSCRIPTION, SUBSCRIPTION_CONSENT_MISSING)
                    if fallback is not None:
                        channel = fallback
                        continue
                if refused.kind == "quota":
                    stop.set()
                    return _QuotaHit(refused.retry_after)
                if refused.kind == "transient" and attempt < self._config.retries:
                    attempt += 1
                    await self._sleep(self._config.retry_seconds * 2 ** (attempt - 1))
                    continue
                return _Failed(channel, refused.errcode)
            return _Sent(channel, msgid)

    async def _consent_for_fallback(self, push: Push, openid: str, variant: Variant) -> bool:
        """A customer-service message the window refused goes as the subscription message only with a
        consent, used now (without one the platform would refuse it: 43101, recorded without asking)."""
        if self._consents is None or variant.subscription is None:
            return True
        template_id = variant.subscription.template_id
        claimed = await self._consents.claim(push.appid, [(openid, template_id)], self._clock())
        if openid not in claimed:
            return False
        self._claimed[f"{push.id}:{openid}"] = (template_id, claimed[openid])
        return True

    async def _give_back_consents(self, push: Push, outcomes: dict[str, _Outcome]) -> None:
        """One-time consents of messages not sent are given back; a sent one (or one whose answer was lost)
        stays used. When the platform itself answers 43101 it knows better than our copy: the consent
        ends (no later push asks again)."""
        given_back, refused = [], []
        for openid, outcome in outcomes.items():
            claim = self._claimed.pop(f"{push.id}:{openid}", None)
            if claim is None or isinstance(outcome, _Sent):
                continue
            if isinstance(outcome, _Failed) and outcome.code == SUBSCRIPTION_CONSENT_MISSING:
                refused.append((openid, claim[0]))
            elif claim[1] and not (isinstance(outcome, _Failed) and outcome.code == TRANSPORT_FAILED):
                given_back.append((openid, claim[0]))
        if self._consents is not None:
            await self._consents.release(push.appid, given_back)
            await self._consents.refused(push.appid, refused, self._clock())

    async def _settle(
        self,
        push: Push,
        plans: dict[str, tuple[Variant, Channel]],
        outcomes: dict[str, _Outcome],
        counters: _Counters,
        now: datetime,
    ) -> None:
        settled: list[tuple[str, dict[str, Any]]] = []
        templates: list[tuple[int, str, str]] = []
        not_sent: list[tuple[str, str]] = []
        released: list[str] = []
        events: list[Envelope] = []
        finished = self._clock()
        for openid, outcome in outcomes.items():
            variant = plans[openid][0].name
            key = f"{push.id}:{openid}"
            match outcome:
                case _Sent(channel, msgid):
                    fields: dict[str, Any] = {"status": "sent", "channel": channel.value, "sent_at": finished}
                    if msgid is not None:  # finished when the platform's TEMPLATESENDJOBFINISH says so
                        templates.append((msgid, key, variant))
                    else:
                        fields["finished_at"] = finished
                    settled.append((key, fields))
                    events.append(delivered_event(push, openid, variant, channel, finished))
                    counters.add(variant, "sent")
                    counters.add(variant, f"channels.{channel.value}")
                case _Failed(channel, code):
                    settled.append(
                        (key, {"status": "failed", "channel": channel.value, "errcode": code, "finished_at": finished})
                    )
                    events.append(failed_event(push, openid, variant, channel, code, finished))
                    counters.add(variant, f"failed.{code}")
                    if code != TRANSPORT_FAILED:  # refused: not sent (a lost answer may have been)
                        released.append(openid)
                case _QuotaHit() | _NotAttempted():
                    not_sent.append((key, variant))
                    released.append(openid)
        for _, variant in not_sent:  # back to the audience: sent after the quota resets
            counters.targeted(variant, -1)

        async def outcomes_of_slice(writes: DeliveryWrites) -> None:
            await writes.remember_templates(push.appid, push.id, templates)
            await writes.settle(settled)
            await writes.forget([key for key, _ in not_sent])
            await writes.release_sends(push.appid, push.id, released)

        await self._write(events, outcomes_of_slice)
        await self._give_back_consents(push, outcomes)
        # The counters stay out of the transaction: clicks add to the same document all the time.
        await self._store.update(push.id, {}, {k: v for k, v in counters.inc.items() if v})

    async def _write(self, events: Sequence[Envelope], writes: Callable[[DeliveryWrites], Awaitable[None]]) -> None:
        """``writes`` and the ``events`` reporting them in one transaction, retried while it conflicts
        (two pushes counting one member's sends): the same events each time."""

        attempts = 0

        async def transaction() -> None:
            nonlocal attempts
            attempts += 1
            # A first attempt writes its events unread: only a rerun can meet its own (or a racing
            # dispatcher's) entries, so only a rerun reads which are there first.
            async with self._store.transaction(fresh=attempts == 1) as uow:
                await writes(uow.deliveries)
                for envelope in events:
                    await uow.emit(PUSH_DELIVERIES, envelope)
                await uow.commit()

        await retry_transient(transaction)

    # -- broadcasts ----------------------------------------------------------------------------------

    async def _queue_for_mass(
        self, push: Push, current: dict[str, Any], openids: list[str], counters: _Counters
    ) -> None:
        if not openids:
            return
        tag_id = (current.get("mass") or {}).get("tag_id")
        if tag_id is None:
            tag_id = await self._sender.create_tag(push.appid, f"push-{push.id[-12:]}")
            await self._store.update(push.id, {"mass.tag_id": tag_id})
            current.setdefault("mass", {})["tag_id"] = tag_id
        await self._sender.tag_members(push.appid, tag_id, openids)  # counted when reserved
        counters.inc["stats.total.queued"] += len(openids)

    async def _finish(self, push: Push, current: dict[str, Any], now: datetime) -> None:
        mass = current.get("mass") or {}
        if not push.broadcast or mass.get("tag_id") is None:
            await self._store.update(
                push.id, {"status": PushStatus.FINISHED, "finished_at": now, "lease_until": None, "cursor.done": True}
            )
            log.info("push finished", push=push.id)
            return
        variant = push.variants[0]
        assert variant.message is not None
        content = self._personalize(variant.message, push.id, variant.name, "")
        assert isinstance(content, MessageContent)
        try:
            msg_id = await self._sender.mass_send(push.appid, content, mass["tag_id"], push.id[:64])
        except SendRefused as refused:
            if refused.kind in ("quota", "transient"):
                resume = now + timedelta(seconds=max(refused.retry_after, 60.0))
                await self._store.update(
                    push.id, {"status": PushStatus.WAITING_QUOTA, "resume_at": resume, "lease_until": None}
                )
                return
            await self._store.update(
                push.id,
                {"status": PushStatus.FAILED, "note": f"mass send refused: {refused}", "lease_until": None},
            )
            return
        # Done when MASSSENDJOBFINISH arrives; "cursor.done" keeps the push from being claimed again.
        await self._store.update(
            push.id, {"mass.msg_id": msg_id, "mass.sent_at": now, "cursor.done": True, "lease_until": None}
        )
        log.info("mass send queued", push=push.id, msg_id=msg_id)

    # -- links ---------------------------------------------------------------------------------------

    def personalize(self, content: Content, push_id: str, variant: str, openid: str) -> Content:
        """The content as this dispatcher sends it (signed click links); used by sends after a wait."""
        return self._personalize(content, push_id, variant, openid)

    def _personalize(self, content: Content, push_id: str, variant: str, openid: str) -> Content:
        """The content with every link turned into a signed redirect that counts the click."""

        def link(url: str) -> str:
            expires_at = int((self._clock() + self._config.click_ttl).timestamp())
            token = sign_click(self._config.click_key, ClickLink(push_id, variant, openid, url, expires_at))
            return f"{self._config.click_base_url.rstrip('/')}/r/{token}"

        if isinstance(content, MessageContent):
            if content.kind == "text":
                return replace(content, text=_LINK.sub(lambda m: link(m.group(0)), content.text))
            if content.kind == "news":
                return replace(content, articles=tuple(replace(a, url=link(a.url)) for a in content.articles))
            return content
        if isinstance(content, TemplateContent) and content.url:
            return replace(content, url=link(content.url))
        if isinstance(content, SubscriptionContent):
            return content
        return content


def link_urls(content: Content) -> list[str]:
    """The links in ``content`` that are sent as signed click redirects (what _personalize wraps)."""
    if isinstance(content, MessageContent):
        if content.kind == "text":
            return _LINK.findall(content.text)
        if content.kind == "news":
            return [article.url for article in content.articles]
    if isinstance(content, TemplateContent) and content.url:
        return [content.url]
    return []


def recipient_of(
    profile: dict[str, Any] | None,
    sends: dict[str, Any],
    month: str,
    *,
    subscriptions: frozenset[str] | None = None,
) -> Recipient | None:
    if profile is None:
        return None
    last_active = profile.get("last_active_at")
    return Recipient(
        openid=profile["openid"],
        following=bool((profile.get("follow") or {}).get("following")),
        marketing_consent=bool(((profile.get("consents") or {}).get("marketing") or {}).get("given")),
        last_active_at=None if last_active is None else last_active.replace(tzinfo=UTC),
        recent_sends=_send_times(sends),
        mass_this_month=int((sends.get("mass") or {}).get(month, 0)),
        subscriptions=subscriptions,
    )


def _send_times(sends: dict[str, Any]) -> tuple[datetime, ...]:
    """When the member was sent something: sends counted before reservations existed are bare times."""
    return tuple(
        (entry["at"] if isinstance(entry, dict) else entry).replace(tzinfo=UTC) for entry in sends.get("recent", ())
    )


#: The name the benchmarks knew it by.
_recipient = recipient_of
