"""The ``segments.deliveries`` events, built from what the dispatcher and the click redirect record.

Events carry the push's name and its segment's (as named when the audience was frozen: kept on the
push) beside their ids, read from the push already in hand: no lookup per send.

Ids are what the event is about (``shared.contracts``): the push and the member for a delivery or a
failure, the member's n-th click on the push for a click, so a retried transaction emits the same ids.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.segments.domain.pushes import Channel, Push
from shared.contracts import (
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
    push_clicked_event_id,
    push_delivered_event_id,
    push_failed_event_id,
)
from shared.events import Envelope

__all__ = ["click_id", "clicked_event", "delivered_event", "failed_event"]

#: What the contract allows a click id, and a push's or segment's name.
_CLICK_ID_MAX = 96
_NAME_MAX = 200


def _bounded(name: str | None) -> str | None:
    """A name as the contract holds it: None when empty, cut short when longer than it allows."""
    return name[:_NAME_MAX] if name else None


def delivered_event(push: Push, openid: str, variant: str, channel: Channel, at: datetime) -> Envelope:
    """``push.delivered``: the WeChat API accepted the push for the member."""
    event = PushDelivered(
        openid=openid,
        push_id=push.id,
        segment_id=push.segment_id,
        variant=variant,
        project_id=push.project_id,
        push_name=_bounded(push.name),
        segment_name=_bounded(push.segment_name),
        channel=channel.value,
        delivered_at=at,
    )
    event_id = push_delivered_event_id(push.id, openid)
    return Envelope.wrap(event, appid=push.appid, key=openid, occurred_at=at, event_id=event_id)


def failed_event(push: Push, openid: str, variant: str, channel: Channel, errcode: int, at: datetime) -> Envelope:
    """``push.delivery_failed`` with WeChat's errcode, or ours (negative: ``domain.pushes``)."""
    event = PushDeliveryFailed(
        openid=openid,
        push_id=push.id,
        segment_id=push.segment_id,
        variant=variant,
        project_id=push.project_id,
        push_name=_bounded(push.name),
        segment_name=_bounded(push.segment_name),
        channel=channel.value,
        errcode=errcode,
        failed_at=at,
    )
    event_id = push_failed_event_id(push.id, openid)
    return Envelope.wrap(event, appid=push.appid, key=openid, occurred_at=at, event_id=event_id)


def click_id(push_id: str, variant: str, openid: str, number: int) -> str:
    """The member's ``number``-th click on the push (1: the first); hashed when too long to be an id."""
    plain = f"{push_id}:{variant}:{openid}:{number}"
    if len(plain) <= _CLICK_ID_MAX:
        return plain
    return "h:" + hashlib.sha256(plain.encode()).hexdigest()


def clicked_event(
    *,
    appid: str,
    push_id: str,
    segment_id: str,
    project_id: str | None,
    variant: str,
    push_name: str | None = None,
    segment_name: str | None = None,
    openid: str,
    number: int,
    at: datetime,
) -> Envelope:
    """``push.clicked``: the member's ``number``-th click on the push's links (``first`` when 1)."""
    clicked = click_id(push_id, variant, openid, number)
    event = PushClicked(
        openid=openid,
        push_id=push_id,
        segment_id=segment_id,
        variant=variant,
        project_id=project_id,
        push_name=_bounded(push_name),
        segment_name=_bounded(segment_name),
        first=number == 1,
        click_id=clicked,
        clicked_at=at,
    )
    return Envelope.wrap(event, appid=appid, key=openid, occurred_at=at, event_id=push_clicked_event_id(clicked))
