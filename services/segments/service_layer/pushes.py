"""Push use cases for operators: schedule a push to a saved segment, pause, resume or cancel it (the
domain says which status may move where), read it with its deliveries; and count a member's click on
a pushed link."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.segments.domain.click_links import LinkForged, domain_allowed, open_click
from services.segments.domain.pushes import (
    Creator,
    FrequencyCap,
    IllegalTransition,
    PushAction,
    PushInvalid,
    PushNotFound,
    PushStatus,
    QuietHours,
    Variant,
    new_push,
    operator_move,
)
from services.segments.domain.segments import SegmentNotFound
from services.segments.service_layer.dispatch import link_urls
from services.segments.service_layer.ports import PushRepository, SegmentRepository

__all__ = ["DEFAULT", "PushDefaults", "PushUseCases"]

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
    ) -> None:
        self._pushes = pushes
        self._segments = segments
        self._defaults = defaults
        self._click_key = click_key
        self._click_domains = click_domains
        self._account_click_domains = dict(account_click_domains or {})
        self._clock = clock
        self._new_id = new_id

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
    ) -> dict[str, Any]:
        """Schedule a push to a saved segment; raises ``SegmentNotFound`` or ``PushInvalid``."""
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
        push = new_push(
            push_id=self._new_id(),
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
        )
        return await self._pushes.add(push)

    async def of_account(self, appid: str) -> list[dict[str, Any]]:
        return await self._pushes.of_account(appid)

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
        if await self._pushes.count_click(link.push_id, link.variant, link.openid, link.url, self._clock()):
            inc = {"stats.total.clicked": 1, f"stats.variants.{link.variant}.clicked": 1}
            await self._pushes.update(link.push_id, {}, inc)
        return link.url
