"""Subscription-message consents: kept from the platform's pushes, used by the dispatcher.

- :func:`record_consents` applies a popup answer (``member.subscription_popup_answered``), a switch in
  the member's settings (``member.subscription_settings_changed``) or a refused message
  (``wechat.subscription_send_finished`` with ``failed:user block``) once: the processed-event claim
  commits with the change, so a redelivered push changes nothing.
- :class:`ConsentGate` is what the dispatcher asks: who of a slice may get which template now, and to
  use (claim) one consent per subscription message before sending it, giving it back when the message
  was not sent. A message whose answer was lost keeps its consent used, as the platform may have shown it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from services.segments.domain.consents import (
    ConsentChange,
    change_of_popup,
    change_of_send_result,
    change_of_settings,
)
from services.segments.domain.pushes import Push
from services.segments.service_layer.ports import ConsentStore, ConsentUnitOfWork
from shared.contracts import SubscriptionPopupAnswered, SubscriptionSendFinished, SubscriptionSettingsChanged
from shared.events import Envelope

__all__ = ["CONSUMER", "ConsentGate", "ConsentPush", "record_consents"]

CONSUMER = "segments.consents"

ConsentPush = SubscriptionPopupAnswered | SubscriptionSettingsChanged | SubscriptionSendFinished


def _changes(message: ConsentPush) -> tuple[datetime, list[tuple[str, ConsentChange, str]]]:
    """When, and per template: the change and the member's answer."""
    if isinstance(message, SubscriptionPopupAnswered):
        return message.answered_at, [(c.template_id, change_of_popup(c.status), c.status) for c in message.choices]
    if isinstance(message, SubscriptionSettingsChanged):
        return message.changed_at, [(c.template_id, change_of_settings(c.status), "") for c in message.choices]
    changes = []
    for result in message.results:
        change = change_of_send_result(result.error_code, result.error_status)
        if change is not None:
            changes.append((result.template_id, change, ""))
    return message.finished_at, changes


async def record_consents(
    envelope: Envelope, message: ConsentPush, uow: ConsentUnitOfWork, long_term_templates: Collection[str]
) -> bool:
    """Apply what the push says about the member's consents; False for a redelivery."""
    at, changes = _changes(message)
    async with uow:
        if not await uow.claim(CONSUMER, envelope.event_id):
            return False
        for template_id, change, answer in changes:
            await uow.consents.apply(
                envelope.appid,
                message.openid,
                template_id,
                change,
                long_term=template_id in long_term_templates,
                at=at,
                answer=answer,
            )
        await uow.commit()
    return True


class ConsentGate:
    """The consents as the dispatcher uses them (one store, no transaction: each use is atomic)."""

    def __init__(self, store: ConsentStore) -> None:
        self._store = store

    @staticmethod
    def templates_of(push: Push) -> list[str]:
        return sorted({v.subscription.template_id for v in push.variants if v.subscription is not None})

    async def usable(self, push: Push, openids: Sequence[str]) -> dict[str, frozenset[str]] | None:
        """Per member, the push's templates they may be sent now; None when the push has no subscription
        message (nothing to decide on)."""
        templates = self.templates_of(push)
        if not templates or push.broadcast:
            return None
        return await self._store.usable(push.appid, openids, templates)

    async def claim(self, appid: str, wanted: Sequence[tuple[str, str]], at: datetime) -> dict[str, bool]:
        """Use one consent per (openid, template); see :meth:`ConsentStore.claim`."""
        if not wanted:
            return {}
        return await self._store.claim(appid, wanted, at)

    async def release(self, appid: str, given_back: Sequence[tuple[str, str]]) -> None:
        if given_back:
            await self._store.release(appid, given_back)

    async def refused(self, appid: str, refused: Sequence[tuple[str, str]], at: datetime) -> None:
        """The platform answered 43101 although a consent was kept: it ends here too."""
        for openid, template_id in refused:
            await self._store.apply(appid, openid, template_id, ConsentChange.CANCEL, long_term=False, at=at)
