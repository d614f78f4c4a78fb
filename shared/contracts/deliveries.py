"""What became of each targeted push, member by member, as the segments service records it.

Emitted through the segments service's outbox in the same transaction as the delivery or click
record, so each is published if and only if that record committed. ``project_id`` names the brand
project the push was composed for (``None`` when it was for none): what a brand pays for is the
deliveries counted under it.

``push_name`` and ``segment_name`` copy what the operators called the push and its segment when the
event was made, so a consumer that cannot read the segments API (a brand's value report) can show names
rather than ids. They came after the first events of this release, so version 1 gained them as optional
fields: an event without them still reads, and a consumer falls back to the id.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from shared.events import Event

OpenId = Annotated[str, Field(min_length=1, max_length=128)]
PushId = Annotated[str, Field(min_length=1, max_length=64, description="The push.")]
SegmentId = Annotated[str, Field(min_length=1, max_length=64, description="The segment it was sent to.")]
Variant = Annotated[str | None, Field(max_length=32, description="The A/B variant received, if any.")]
ProjectId = Annotated[str | None, Field(max_length=64, description="The brand project it counts for, if any.")]
PushName = Annotated[str | None, Field(max_length=200, description="The push's name when it was sent, if known.")]
SegmentName = Annotated[
    str | None, Field(max_length=200, description="The segment's name when the push was sent, if known.")
]
Channel = Annotated[str, Field(min_length=1, max_length=32, description="How it was sent, e.g. template.")]


class PushDelivered(Event):
    """The WeChat API accepted a push for a member."""

    message_type = "push.delivered"
    message_version = 1

    openid: OpenId
    push_id: PushId
    segment_id: SegmentId
    variant: Variant = None
    project_id: ProjectId = None
    push_name: PushName = None
    segment_name: SegmentName = None
    channel: Channel
    delivered_at: AwareDatetime


class PushDeliveryFailed(Event):
    """A push could not be delivered to a member; ``errcode`` is the WeChat API's (or ours, negative)."""

    message_type = "push.delivery_failed"
    message_version = 1

    openid: OpenId
    push_id: PushId
    segment_id: SegmentId
    variant: Variant = None
    project_id: ProjectId = None
    push_name: PushName = None
    segment_name: SegmentName = None
    channel: Channel
    errcode: int
    failed_at: AwareDatetime


class PushClicked(Event):
    """A member opened a push's link; ``first`` marks their first click on that push."""

    message_type = "push.clicked"
    message_version = 1

    openid: OpenId
    push_id: PushId
    segment_id: SegmentId
    variant: Variant = None
    project_id: ProjectId = None
    push_name: PushName = None
    segment_name: SegmentName = None
    first: bool
    click_id: Annotated[str, Field(min_length=1, max_length=96)]
    clicked_at: AwareDatetime


def push_delivered_event_id(push_id: str, openid: str) -> str:
    return f"push_delivered:{push_id}:{openid}"


def push_failed_event_id(push_id: str, openid: str) -> str:
    return f"push_failed:{push_id}:{openid}"


def push_clicked_event_id(click_id: str) -> str:
    return f"push_clicked:{click_id}"
