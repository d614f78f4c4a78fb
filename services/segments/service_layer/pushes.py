"""Push use cases for operators: compose a draft or schedule a push to a saved segment, edit, send or
delete a draft, pause, resume or cancel a push (the domain says which status may move where), read it
with its deliveries; see beforehand whom it would reach; test-send it to the account's testers; a
member's pushes and where a segment is used; and count a member's click on a pushed link."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.segments.domain.click_links import LinkForged, domain_allowed, link_key, open_click
from services.segments.domain.pushes import (
    Channel,
    Creator,
    DraftChange,
    FrequencyCap,
    IllegalTransition,
    Push,
    PushAction,
    PushInvalid,
    PushNotFound,
    PushStatus,
    QuietHours,
    Variant,
    draft_change,
    new_push,
    operator_move,
    send_time,
)
from services.segments.domain.rules import parse_rule
from services.segments.domain.segments import SegmentNotFound
from services.segments.service_layer.consents import ConsentGate
from services.segments.service_layer.delivery_events import clicked_event
from services.segments.service_layer.dispatch import link_urls
from services.segments.service_layer.eligibility import breakdown
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.ports import (
    PushReader,
    PushRepository,
    RecipientReader,
    SegmentRepository,
    Sender,
    SendRefused,
)
from shared.contracts import PUSH_DELIVERIES
from shared.storage import retry_transient

__all__ = [
    "DEFAULT",
    "ELIGIBILITY_SAMPLE",
    "MAX_TESTERS",
    "PushDefaults",
    "PushUseCases",
    "PushVersionConflict",
    "SegmentInUse",
    "SendingUnavailable",
]

#: Members decided at most for an eligibility breakdown; a larger segment is sampled evenly.
ELIGIBILITY_SAMPLE = 5_000
#: Openids on an account's test whitelist.
MAX_TESTERS = 20
#: Test messages in flight at once (a tester may get up to 30: ten variants, three channels each).
_TEST_CONCURRENCY = 8
#: Pushes whose audience the dispatcher will still send to: their segment may not be deleted.
_LIVE = frozenset({PushStatus.SCHEDULED, PushStatus.MATERIALIZING, PushStatus.SENDING, PushStatus.WAITING_QUOTA})
_LIVE |= {PushStatus.PAUSED}


class PushVersionConflict(Exception):
    """The draft was saved by someone else since the caller read it."""

    def __init__(self, push_id: str, expected: int, current: int) -> None:
        super().__init__(f"push {push_id} is at version {current}, not {expected}: read it again")
        self.expected = expected
        self.current = current


class SegmentInUse(Exception):
    """Pushes that will still send to the segment name it."""

    def __init__(self, segment_id: str, pushes: list[dict[str, Any]]) -> None:
        names = ", ".join(f"{p['_id']} ({p['name']}, {p['status']})" for p in pushes)
        super().__init__(f"segment {segment_id} is used by pushes still to send: {names}")
        self.pushes = pushes


class SendingUnavailable(Exception):
    """This process has no WeChat sender (or the account has no testers)."""


#: Asks for the service's default quiet hours.
DEFAULT: Literal["default"] = "default"


@dataclass(frozen=True)
class PushDefaults:
    """What a push gets when it does not say (the service's settings)."""

    cap: FrequencyCap
    quiet_hours: QuietHours | None


def _new_id() -> str:
    return "push_" + secrets.token_hex(8)


class PushUseCases:
    def __init__(
        self,
        pushes: PushRepository,
        segments: SegmentRepository,
        defaults: PushDefaults,
        *,
        click_key: bytes,
        clock: Callable[[], datetime],
        click_domains: frozenset[str] = frozenset(),
        account_click_domains: Mapping[str, frozenset[str]] | None = None,
        new_id: Callable[[], str] = _new_id,
        live: LiveIndex | None = None,
        recipients: RecipientReader | None = None,
        read_push: PushReader | None = None,
        sender: Sender | None = None,
        eligibility_sample: int = ELIGIBILITY_SAMPLE,
        consents: ConsentGate | None = None,
    ) -> None:
        self._consents = consents
        self._pushes = pushes
        self._segments = segments
        self._defaults = defaults
        self._click_key = click_key
        self._click_domains = click_domains
        self._account_click_domains = dict(account_click_domains or {})
        self._clock = clock
        self._new_id = new_id
        self._live = live
        self._recipients = recipients
        self._read_push = read_push
        self._sender = sender
        self._eligibility_sample = eligibility_sample

    def _domains(self, appid: str) -> frozenset[str]:
        return self._account_click_domains.get(appid, self._click_domains)

    async def create(
        self,
        appid: str,
        *,
        name: str,
        segment_id: str,
        variants: Sequence[Variant],
        send_at: datetime | None = None,
        quiet_hours: QuietHours | Literal["default"] | None = DEFAULT,
        cap: FrequencyCap | None = None,
        broadcast: bool = False,
        created_by: Creator | None = None,
        draft: bool = False,
        project_id: str | None = None,
        wait_for_window: timedelta | None = None,
        marketing: bool = False,
    ) -> dict[str, Any]:
        """Schedule a push to a saved segment, or keep it as a ``draft``; raises ``SegmentNotFound`` or
        ``PushInvalid``."""
        push = await self.compose(
            appid,
            push_id=self._new_id(),
            name=name,
            segment_id=segment_id,
            variants=variants,
            send_at=send_at,
            quiet_hours=quiet_hours,
            cap=cap,
            broadcast=broadcast,
            created_by=created_by,
            draft=draft,
            project_id=project_id,
            wait_for_window=wait_for_window,
            marketing=marketing,
        )
        return await self._pushes.add(push)

    async def compose(
        self,
        appid: str,
        *,
        push_id: str,
        name: str,
        segment_id: str,
        variants: Sequence[Variant],
        send_at: datetime | None = None,
        quiet_hours: QuietHours | Literal["default"] | None = DEFAULT,
        cap: FrequencyCap | None = None,
        broadcast: bool = False,
        created_by: Creator | None = None,
        draft: bool = False,
        project_id: str | None = None,
        wait_for_window: timedelta | None = None,
        marketing: bool = False,
    ) -> Push:
        """A push as asked, checked (segment, variants, link domains), not stored. ``project_id`` names
        the brand project it counts for (the brands service owns them; not checked here)."""
        if await self._segments.get(appid, segment_id) is None:
            raise SegmentNotFound(segment_id)
        for variant in variants:
            for content in (variant.message, variant.template, variant.subscription):
                for url in link_urls(content) if content is not None else ():
                    if not domain_allowed(url, self._domains(appid)):
                        raise PushInvalid(
                            f"variant {variant.name}: link to {url[:200]!r} is outside the account's link domains"
                            " (its link_domains, else CLICK_LINK_DOMAINS)"
                        )
        return new_push(
            push_id=push_id,
            appid=appid,
            name=name,
            segment_id=segment_id,
            variants=variants,
            now=self._clock(),
            send_at=send_at,
            cap=cap or self._defaults.cap,
            quiet_hours=self._defaults.quiet_hours if quiet_hours == DEFAULT else quiet_hours,
            broadcast=broadcast,
            created_by=created_by,
            draft=draft,
            project_id=project_id,
            wait_for_window=wait_for_window,
            marketing=marketing,
        )

    # -- drafts -------------------------------------------------------------------------------------------

    async def _draft(self, appid: str, push_id: str, change: DraftChange | PushAction, version: int | None) -> int:
        """The draft's version; raises ``PushNotFound``, ``IllegalTransition`` or ``PushVersionConflict``."""
        doc = await self.get(appid, push_id)
        status = PushStatus(doc["status"])
        if isinstance(change, DraftChange):
            draft_change(change, status)
        else:
            operator_move(change, status, frozen=False)
        current = int(doc.get("version", 1))
        if version is not None and version != current:
            raise PushVersionConflict(push_id, version, current)
        return current

    async def _lost(self, appid: str, push_id: str, change: DraftChange | PushAction, version: int) -> Exception:
        """Why a conditional write found no draft at ``version``: it moved or was saved meanwhile."""
        try:
            await self._draft(appid, push_id, change, version)
        except (PushNotFound, IllegalTransition, PushVersionConflict) as why:
            return why
        return PushVersionConflict(push_id, version, version + 1)  # pragma: no cover - changed and back

    async def edit(self, push: Push, version: int) -> dict[str, Any]:
        """Replace a draft's content (``push`` from :meth:`compose` with the draft's id) if the draft is
        still at ``version``; raises ``PushNotFound``, ``IllegalTransition`` or ``PushVersionConflict``."""
        await self._draft(push.appid, push.id, DraftChange.EDIT, version)
        edited = await self._pushes.edit_draft(push, version)
        if edited is None:
            raise await self._lost(push.appid, push.id, DraftChange.EDIT, version)
        return edited

    async def send(self, appid: str, push_id: str, version: int | None = None) -> dict[str, Any]:
        """Schedule a draft: at its ``send_at`` if still ahead, else now."""
        current = await self._draft(appid, push_id, PushAction.SEND, version)
        doc = await self.get(appid, push_id)
        if await self._segments.get(appid, doc["segment_id"]) is None:  # it would fail when frozen
            raise PushInvalid(f"the draft's segment {doc['segment_id']} was deleted: choose another")
        asked = doc.get("send_at")
        at = send_time(None if asked is None else asked.replace(tzinfo=asked.tzinfo or UTC), self._clock())
        sent = await self._pushes.send_draft(push_id, current, at)
        if sent is None:
            raise await self._lost(appid, push_id, PushAction.SEND, current)
        return sent

    async def delete(self, appid: str, push_id: str, version: int | None = None) -> dict[str, Any]:
        """Delete a draft; the draft as it was."""
        current = await self._draft(appid, push_id, DraftChange.DELETE, version)
        doc = await self.get(appid, push_id)
        if not await self._pushes.delete_draft(push_id, current):
            raise await self._lost(appid, push_id, DraftChange.DELETE, current)
        return doc

    # -- before sending -----------------------------------------------------------------------------------

    def _push_of(self, doc: Mapping[str, Any]) -> Push:
        assert self._read_push is not None, "the API's use cases read pushes"
        return self._read_push(doc)

    async def eligibility(self, push: Push) -> dict[str, Any]:
        """Whom of its segment ``push`` would reach if sent now, step by step (see
        :func:`~services.segments.service_layer.eligibility.breakdown`)."""
        assert self._live is not None and self._recipients is not None, "the API's use cases hold the index"
        segment = await self._segments.get(push.appid, push.segment_id)
        if segment is None:
            raise SegmentNotFound(push.segment_id)
        now = self._clock()
        index = self._live.index
        members = index.select(parse_rule(segment.rule), now) & index.account(push.appid)
        size = len(members)
        if size > self._eligibility_sample:
            step = size / self._eligibility_sample
            numbers = [members[int(i * step)] for i in range(self._eligibility_sample)]
        else:
            numbers = list(members)
        openids = [openid for _, openid in index.keys(numbers)]
        found = await breakdown(push, openids, size, self._recipients, now, self._consents)
        return found | {"segment_version": segment.version}

    async def eligibility_of(self, appid: str, push_id: str) -> dict[str, Any]:
        return await self.eligibility(self._push_of(await self.get(appid, push_id)))

    # -- test sends --------------------------------------------------------------------------------------

    async def testers(self, appid: str) -> list[dict[str, str]]:
        return await self._pushes.testers(appid)

    async def set_testers(self, appid: str, testers: Sequence[dict[str, str]]) -> list[dict[str, str]]:
        openids = [t["openid"] for t in testers]
        if len(set(openids)) != len(openids):
            raise PushInvalid("each tester once")
        if len(testers) > MAX_TESTERS:
            raise PushInvalid(f"at most {MAX_TESTERS} testers")
        await self._pushes.set_testers(appid, testers)
        return await self._pushes.testers(appid)

    async def test_send(self, push: Push, actor_id: str) -> list[dict[str, Any]]:
        """Send each variant of ``push`` to each of the account's testers now, through every channel the
        variant has content for (customer-service message, template, subscription message), so the
        tester sees each form a member may get. Recorded apart from the push: no delivery, no stats,
        and links are sent as written (no counted redirect)."""
        if self._sender is None:
            raise SendingUnavailable("this process cannot send test messages (no WeChat sender)")
        testers = await self._pushes.testers(push.appid)
        if not testers:
            raise SendingUnavailable("the account has no testers: PUT /accounts/{appid}/push-testers first")
        now = self._clock()
        sender = self._sender
        gate = asyncio.Semaphore(_TEST_CONCURRENCY)

        async def one(tester: dict[str, str], variant: Variant, channel: Channel) -> dict[str, Any]:
            result: dict[str, Any] = {"openid": tester["openid"], "label": tester.get("label", "")}
            result |= {"variant": variant.name, "channel": channel.value}
            key = f"test:{push.id}:{variant.name}:{channel.value}:{tester['openid']}:{int(now.timestamp())}"
            async with gate:
                try:
                    await sender.send(push.appid, tester["openid"], channel, variant.content_for(channel), key[:64])
                except SendRefused as refused:
                    return result | {"ok": False, "errcode": refused.errcode, "errmsg": str(refused)}
            return result | {"ok": True, "errcode": 0, "errmsg": "ok"}

        sends = [(t, v, c) for t in testers for v in push.variants for c in _channels(v)]
        results = list(await asyncio.gather(*(one(t, v, c) for t, v, c in sends)))
        await self._pushes.record_test_sends(
            [r | {"appid": push.appid, "push_id": push.id, "at": now, "by": actor_id} for r in results]
        )
        return results

    async def test_send_of(self, appid: str, push_id: str, actor_id: str) -> list[dict[str, Any]]:
        return await self.test_send(self._push_of(await self.get(appid, push_id)), actor_id)

    # -- the console's views ------------------------------------------------------------------------------

    async def of_segment(self, appid: str, segment_id: str) -> list[dict[str, Any]]:
        """The pushes to a segment (id, name, status), newest first."""
        return [
            {"id": doc["_id"], "name": doc["name"], "status": doc["status"]}
            for doc in await self._pushes.of_segment(appid, segment_id)
        ]

    async def check_segment_unused(self, appid: str, segment_id: str) -> None:
        """Raises :class:`SegmentInUse` when a push that will still send names the segment (its audience
        is frozen when it comes due: deleting the segment would fail it)."""
        live = [doc for doc in await self._pushes.of_segment(appid, segment_id) if doc["status"] in _LIVE]
        if live:
            raise SegmentInUse(segment_id, live)

    async def of_member(self, appid: str, openid: str, limit: int) -> list[dict[str, Any]]:
        """The pushes the member was in, newest first, with what happened and their clicks."""
        records = await self._pushes.of_member(appid, openid, limit)
        push_ids = sorted({r["push_id"] for r in records})
        clicks = {c["push_id"]: c for c in await self._pushes.clicks_of(openid, push_ids)}
        names = {}
        for push_id in push_ids:
            doc = await self._pushes.get(push_id, appid)
            names[push_id] = "" if doc is None else doc["name"]
        out = []
        for record in records:
            click = clicks.get(record["push_id"])
            status = record["status"]
            out.append(
                {
                    "push_id": record["push_id"],
                    "name": names.get(record["push_id"], ""),
                    "variant": record["variant"],
                    "channel": record.get("channel"),
                    "status": status,
                    "reason": record.get("reason"),
                    "errcode": record.get("errcode"),
                    "at": record.get("finished_at") or record.get("sent_at") or record["created_at"],
                    "clicks": {
                        "count": 0 if click is None else 1 + int(click.get("repeats", 0)),
                        "first_at": None if click is None else click.get("first_at"),
                        "links": [] if click is None else list(click.get("urls") or [click.get("url")]),
                    },
                }
            )
        return out

    async def of_account(self, appid: str, project_id: str | None = None) -> list[dict[str, Any]]:
        """The account's pushes, newest first; only those linked to ``project_id`` when given."""
        return await self._pushes.of_account(appid, project_id=project_id)

    async def get(self, appid: str, push_id: str) -> dict[str, Any]:
        doc = await self._pushes.get(push_id, appid)
        if doc is None:
            raise PushNotFound(push_id)
        return doc

    async def act(self, appid: str, push_id: str, action: PushAction) -> dict[str, Any]:
        """Pause, resume or cancel; raises ``PushNotFound`` or ``IllegalTransition`` (also when the
        push moved on between reading and writing it)."""
        doc = await self.get(appid, push_id)
        status = PushStatus(doc["status"])
        move = operator_move(action, status, frozen=doc.get("audience_size") is not None)
        fields: dict[str, Any] = {}
        if action is PushAction.PAUSE:
            fields["paused_from"] = status.value
        elif action is PushAction.RESUME:
            fields |= {"lease_until": None, "resume_at": None}
        else:
            fields["cancelled_at"] = self._clock()
        moved = await self._pushes.transition(push_id, sorted(move.sources), move.target, **fields)
        if moved is None:
            raise IllegalTransition(action, status)
        return moved

    async def deliveries(self, appid: str, push_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        await self.get(appid, push_id)
        return await self._pushes.deliveries_of(push_id, status, limit)

    async def click(self, token: str) -> str:
        """Count a click on a signed link (a member once per push); where it goes. Raises
        :class:`~services.segments.domain.click_links.LinkForged` for a link we did not sign."""
        link = open_click(self._click_key, token, now=self._clock().timestamp())
        push = await self._pushes.get(link.push_id)
        if push is None:
            raise LinkForged("link names no push")
        # The destination was checked when the push was made; checked again against what the account
        # allows now, so a domain taken off the list stops its links.
        if not domain_allowed(link.url, self._domains(push["appid"])):
            raise LinkForged("link destination is not an allowed domain")
        at = self._clock()

        async def record() -> int:
            # The click record and its event commit together; a mass send's clicks name nobody: no event.
            async with self._pushes.transaction() as uow:
                number = await uow.deliveries.record_click(link.push_id, link.variant, link.openid, link.url, at)
                if number:
                    clicked = clicked_event(
                        appid=push["appid"],
                        push_id=link.push_id,
                        segment_id=push["segment_id"],
                        project_id=push.get("project_id"),
                        push_name=push.get("name"),
                        segment_name=push.get("segment_name"),
                        variant=link.variant,
                        openid=link.openid,
                        number=number,
                        at=at,
                    )
                    await uow.emit(PUSH_DELIVERIES, clicked)
                await uow.commit()
                return number

        number = await retry_transient(record)  # two clicks of one member at once: one waits its turn
        # Every click counts on its link (per push and per variant); the member counts once per push.
        key = link_key(link.url)
        inc = {f"stats.links.{key}": 1, f"stats.variants.{link.variant}.links.{key}": 1}
        if number <= 1:
            inc |= {"stats.total.clicked": 1, f"stats.variants.{link.variant}.clicked": 1}
        await self._pushes.update(link.push_id, {f"links.{key}": link.url}, inc)
        return link.url


def _channels(variant: Variant) -> list[Channel]:
    """Every channel a variant has content for: a test shows each message a member may get."""
    has = {
        Channel.CUSTOMER_SERVICE: variant.message is not None,
        Channel.TEMPLATE: variant.template is not None,
        Channel.SUBSCRIPTION: variant.subscription is not None,
    }
    return [channel for channel, present in has.items() if present]
