"""Held notices sent as the account's service-notice template once held long enough
(``domain/notice_templates.py``): the campaigns worker runs :func:`fall_back` every few seconds.

A notice is claimed (``held → template_sending``, conditional) before its template is sent, so the
member's next interaction (which sends held notices as customer-service messages) and a second
worker never send it again; it ends ``sent`` (``channel: template`` and the template's ``msgid``),
``dropped`` when the member no longer follows, or back to ``held`` when the platform could not take
it now (it is tried again on the next sweep, or goes with the member's next interaction).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from services.campaigns.domain.notice_templates import NoticeTemplate, render_fields
from services.campaigns.domain.participants import Notice
from shared.wechat_client import RecipientUnavailable, TransportError, WeChatApiError

__all__ = ["HeldNotices", "TemplateMessenger", "fall_back", "running", "templates_of"]

log = structlog.get_logger(__name__)


class HeldNotices(Protocol):
    async def held_before(self, appid: str, before: datetime, limit: int) -> Sequence[Notice]:
        """The account's notices held since ``before`` or earlier (their text as rendered when held)."""
        ...

    async def claim(self, notice_id: str, at: datetime) -> bool:
        """held → template_sending; False when it is no longer held."""
        ...

    async def settle(self, notice_id: str, status: str, at: datetime, fields: dict[str, Any]) -> None:
        """template_sending → ``status`` with ``fields``."""
        ...


class TemplateMessenger(Protocol):
    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = ...,
        client_msg_id: str | None = ...,
    ) -> int: ...


def templates_of(settings: Mapping[str, Any]) -> dict[str, NoticeTemplate]:
    """The accounts' templates from ``NOTICE_TEMPLATES`` (each a ``NoticeTemplateSetting``)."""
    return {
        appid: NoticeTemplate(
            template_id=entry.template_id,
            fields=dict(entry.fields),
            hold=timedelta(minutes=entry.hold_minutes),
            url=entry.url,
        )
        for appid, entry in settings.items()
    }


async def fall_back(
    held: HeldNotices,
    templates: Mapping[str, NoticeTemplate],
    messenger_for: Callable[[str], TemplateMessenger],
    now: datetime,
    *,
    limit: int = 100,
) -> int:
    """Send the notices held for longer than their account's hold as its template; how many went."""
    sent = 0
    for appid, template in templates.items():
        for notice in await held.held_before(appid, now - template.hold, limit):
            if not await held.claim(notice.id, now):
                continue  # the member's interaction sent it meanwhile
            data = render_fields(template, notice.text, notice.kind, now)
            try:
                client_msg_id = f"notice:{notice.id}"[:64]  # the platform drops a repeat of it
                msgid = await messenger_for(appid).send_template(
                    notice.openid, template.template_id, data, url=template.url, client_msg_id=client_msg_id
                )
            except RecipientUnavailable:
                await held.settle(notice.id, "dropped", now, {"channel": "template"})
                continue
            except (WeChatApiError, TransportError) as error:
                await held.settle(notice.id, "held", now, {"template_error": str(error)[:200]})
                log.warning("held notice's template refused", notice=notice.id, error=str(error)[:200])
                continue
            await held.settle(notice.id, "sent", now, {"channel": "template", "msgid": msgid, "template_data": data})
            sent += 1
    return sent


@asynccontextmanager
async def running(
    held: HeldNotices,
    templates: Mapping[str, NoticeTemplate],
    messenger_for: Callable[[str], TemplateMessenger],
    clock: Callable[[], datetime],
    every: float,
) -> AsyncIterator[None]:
    """:func:`fall_back` every ``every`` seconds while the block runs (nothing when no account has a
    template); a failed sweep is logged and the next one tries again."""
    if not templates:
        yield
        return

    async def loop() -> None:
        while True:
            try:
                await fall_back(held, templates, messenger_for, clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("held notices' template sweep failed")
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
