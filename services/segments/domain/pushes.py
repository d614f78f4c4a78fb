"""Push campaigns: what is sent, to whom, through which channel, and what stops a send.

The rules here are WeChat's and the brand's, decided per member without I/O:

- a member gets a push at most once (the delivery record's key is the push and the member);
- frequency caps count the member's pushes over the last day and the last seven days, across pushes;
- unfollowed members and members without marketing consent are skipped, with the reason recorded;
- the channel: a customer-service message while the member's interaction window is open (48 hours
  after their last message, click, scan or follow), otherwise a template message, otherwise a
  subscription message, only to a member with an unused consent to its template (the platform answers
  43101 without one: such members are skipped as ``no_subscription_consent`` before it is called);
- quiet hours (Beijing time) hold a push back until they end;
- A/B variants split members by a hash of the push and the member, so a resumed push keeps every
  member in the variant they were first given;
- an operator pauses, resumes and cancels a push only from the statuses :data:`ACTION_SOURCES` names
  (:func:`operator_move`); anything else is an :class:`IllegalTransition`;
- a push may start as a draft: composed, not scheduled (the dispatcher and the freezer never see it),
  edited and deleted only while it is a draft (:func:`draft_change`), and scheduled by the SEND action.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone
from enum import StrEnum

__all__ = [
    "ACTION_SOURCES",
    "BEIJING",
    "INTERACTION_WINDOW",
    "INTERRUPTED",
    "MASS_MONTHLY",
    "MAX_WINDOW_WAIT",
    "REFUSED_LOCALLY",
    "RETIRED_TEMPLATE_FIELDS",
    "TRANSPORT_FAILED",
    "Article",
    "Channel",
    "Creator",
    "Decision",
    "DraftChange",
    "FrequencyCap",
    "IllegalTransition",
    "MessageContent",
    "Move",
    "Push",
    "PushAction",
    "PushInvalid",
    "PushNotFound",
    "PushStatus",
    "QuietHours",
    "Recipient",
    "SkipReason",
    "SubscriptionContent",
    "TemplateContent",
    "Variant",
    "assign_variant",
    "check_marketing",
    "check_variants",
    "check_window_wait",
    "decide",
    "draft_change",
    "effective_send_at",
    "fallback_channel",
    "new_push",
    "operator_move",
    "send_time",
]

BEIJING = timezone(timedelta(hours=8))
#: Customer-service messages reach a member only this long after their last interaction.
INTERACTION_WINDOW = timedelta(hours=48)

# A failed send's code is the WeChat API's errcode, or one of ours (negative, below WeChat's -1):
#: the API could not be reached (network, access token) through every retry.
TRANSPORT_FAILED = -2
#: refused here before calling the API (content the channel cannot carry).
REFUSED_LOCALLY = -3
#: the worker stopped between sending and recording the outcome; not sent again (at most once).
INTERRUPTED = -4


class Channel(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    TEMPLATE = "template"
    SUBSCRIPTION = "subscription"
    MASS = "mass"


class SkipReason(StrEnum):
    UNFOLLOWED = "unfollowed"
    NO_CONSENT = "no_consent"
    FREQUENCY_CAP = "frequency_cap"
    #: Outside the interaction window and the variant has no template or subscription message.
    OUTSIDE_WINDOW = "outside_window"
    #: The member had no profile when the push was sent (frozen into the audience, gone since).
    UNKNOWN_MEMBER = "unknown_member"
    #: Mass sends: the member already had this month's four.
    MASS_BUDGET = "mass_budget"
    #: The subscription message was the way left and the member has no unused consent to its template
    #: (the platform would answer 43101): decided here, the platform is not called.
    NO_SUBSCRIPTION_CONSENT = "no_subscription_consent"


class PushStatus(StrEnum):
    #: Composed, not scheduled: no audience, nothing sent until an operator sends it.
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    #: The audience is being frozen from the segment.
    MATERIALIZING = "materializing"
    SENDING = "sending"
    PAUSED = "paused"
    #: A daily quota ran out (45009); sending resumes at ``resume_at``.
    WAITING_QUOTA = "waiting_quota"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (PushStatus.FINISHED, PushStatus.CANCELLED, PushStatus.FAILED)


class PushAction(StrEnum):
    """What an operator may do to a push."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    #: Schedule a draft (``push:send``; composing it needed only ``push:compose``).
    SEND = "send"


class DraftChange(StrEnum):
    """What may be done to a push only while it is a draft (its status stays, or it goes)."""

    EDIT = "edit"
    DELETE = "delete"


#: The statuses each action moves a push out of; from any other status the action is refused.
ACTION_SOURCES: Mapping[PushAction, frozenset[PushStatus]] = {
    PushAction.PAUSE: frozenset(
        {PushStatus.SCHEDULED, PushStatus.MATERIALIZING, PushStatus.SENDING, PushStatus.WAITING_QUOTA}
    ),
    # From waiting_quota too: ops who cleared the quota (clear_quota) need not wait for midnight.
    PushAction.RESUME: frozenset({PushStatus.PAUSED, PushStatus.WAITING_QUOTA}),
    # A draft was never scheduled: it is deleted, not cancelled.
    PushAction.CANCEL: frozenset(
        status for status in PushStatus if not status.final and status is not PushStatus.DRAFT
    ),
    PushAction.SEND: frozenset({PushStatus.DRAFT}),
}


class IllegalTransition(Exception):
    """The action is not allowed from the push's status."""

    def __init__(self, action: PushAction | DraftChange, status: PushStatus) -> None:
        super().__init__(f"cannot {action.value} a push that is {status.value}")
        self.action = action
        self.status = status


class PushNotFound(LookupError):
    def __init__(self, push_id: str) -> None:
        super().__init__(f"no push {push_id}")
        self.push_id = push_id


class PushInvalid(ValueError):
    """A push that cannot be sent as asked (variants, broadcast, schedule)."""


@dataclass(frozen=True)
class Move:
    """An allowed operator action: the push goes from one of ``sources`` (the store moves it only if it
    is still in one of them when written) to ``target``."""

    action: PushAction
    sources: frozenset[PushStatus]
    target: PushStatus


def operator_move(action: PushAction, status: PushStatus, *, frozen: bool) -> Move:
    """Where ``action`` takes a push that is ``status``; ``frozen``: its audience has been frozen (a
    resumed push then goes on sending, otherwise it waits to be frozen again). Raises
    :class:`IllegalTransition` when the action is not allowed from ``status``."""
    sources = ACTION_SOURCES[action]
    if status not in sources:
        raise IllegalTransition(action, status)
    if action is PushAction.PAUSE:
        target = PushStatus.PAUSED
    elif action is PushAction.CANCEL:
        target = PushStatus.CANCELLED
    elif action is PushAction.SEND:
        target = PushStatus.SCHEDULED
    else:
        target = PushStatus.SENDING if frozen else PushStatus.SCHEDULED
    return Move(action, sources, target)


def send_time(asked: datetime | None, now: datetime) -> datetime:
    """When a draft sent at ``now`` goes out: at the time it asked for if that is still ahead, else now."""
    return asked if asked is not None and asked > now else now


#: Statuses in which a push has not started sending: when it will is still ahead (or now).
_NOT_STARTED = frozenset({PushStatus.DRAFT, PushStatus.SCHEDULED, PushStatus.MATERIALIZING})


def effective_send_at(send_at: datetime | None, quiet_hours: QuietHours | None, status: PushStatus) -> datetime | None:
    """When a push that has not started sending really will: ``send_at``, or the end of the quiet hours
    it falls in (a ``send_at`` inside them is accepted and held, as the dispatcher holds it). None once
    it has started (``resume_at`` says when it goes on) and for a draft that goes out when it is sent."""
    if send_at is None or status not in _NOT_STARTED:
        return None
    held_until = quiet_hours.until(send_at) if quiet_hours is not None else None
    return held_until or send_at


def draft_change(change: DraftChange, status: PushStatus) -> None:
    """Raises :class:`IllegalTransition` unless a push that is ``status`` may take ``change`` (drafts only:
    once scheduled, a push's content and audience are what its deliveries were decided on)."""
    if status is not PushStatus.DRAFT:
        raise IllegalTransition(change, status)


@dataclass(frozen=True)
class Article:
    title: str
    url: str
    description: str = ""
    picurl: str = ""


@dataclass(frozen=True)
class MessageContent:
    """What a customer-service message (or a mass send) carries: text, an image, or a news link."""

    kind: str  # text | image | news
    text: str = ""
    media_id: str = ""
    articles: tuple[Article, ...] = ()


@dataclass(frozen=True)
class TemplateContent:
    template_id: str
    data: Mapping[str, str]
    url: str = ""

    @staticmethod
    def retired_field(name: str) -> str | None:
        """Why a template field may not be written any more (None when it may): see
        :data:`RETIRED_TEMPLATE_FIELDS`."""
        if name in RETIRED_TEMPLATE_FIELDS:
            return (
                f"{name!r} is no longer shown by WeChat (template messages show only their keyword fields "
                "since May 2023); put the text in one of the template's keyword fields"
            )
        return None


#: Template-message fields WeChat stopped showing (May 2023): the API still takes them and reports the
#: message delivered, and the member sees nothing of them. Composition refuses them (422 naming the
#: field), so nobody writes copy that silently disappears; pushes stored before still send.
RETIRED_TEMPLATE_FIELDS = frozenset({"first", "remark"})


@dataclass(frozen=True)
class SubscriptionContent:
    template_id: str
    data: Mapping[str, str]
    page: str = ""


@dataclass(frozen=True)
class Variant:
    name: str
    #: Share of the audience, relative to the other variants' weights.
    weight: int
    message: MessageContent | None = None
    template: TemplateContent | None = None
    subscription: SubscriptionContent | None = None

    @property
    def empty(self) -> bool:
        return self.message is None and self.template is None and self.subscription is None

    def content_for(self, channel: Channel) -> MessageContent | TemplateContent | SubscriptionContent:
        content: MessageContent | TemplateContent | SubscriptionContent | None = {
            Channel.CUSTOMER_SERVICE: self.message,
            Channel.MASS: self.message,
            Channel.TEMPLATE: self.template,
            Channel.SUBSCRIPTION: self.subscription,
        }[channel]
        if content is None:
            raise ValueError(f"variant {self.name!r} has nothing for {channel}")
        return content


@dataclass(frozen=True)
class QuietHours:
    """Beijing wall-clock hours in which nothing is sent; ``start`` after ``end`` spans midnight."""

    start: time
    end: time

    def until(self, now: datetime) -> datetime | None:
        """When the quiet hours around ``now`` end; None when ``now`` is outside them."""
        local = now.astimezone(BEIJING)
        clock = local.timetz().replace(tzinfo=None)
        if self.start == self.end:
            return None
        inside = self.start <= clock < self.end if self.start < self.end else clock >= self.start or clock < self.end
        if not inside:
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=BEIJING)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)


@dataclass(frozen=True)
class FrequencyCap:
    """At most this many pushes per member per rolling day and per rolling week, across pushes."""

    per_day: int = 1
    per_week: int = 3

    def reached(self, sent_at: Sequence[datetime], now: datetime) -> bool:
        day = sum(1 for at in sent_at if now - at < timedelta(days=1))
        week = sum(1 for at in sent_at if now - at < timedelta(days=7))
        return day >= self.per_day or week >= self.per_week


@dataclass(frozen=True)
class Creator:
    """The operator who composed a push: their id and a copy of their name, from the caller's identity."""

    id: str
    name: str


@dataclass
class Push:
    id: str
    appid: str
    name: str
    segment_id: str
    variants: tuple[Variant, ...]
    #: None only for a draft that goes out when it is sent.
    send_at: datetime | None
    cap: FrequencyCap = field(default_factory=FrequencyCap)
    quiet_hours: QuietHours | None = None
    #: Whole-segment broadcast through a mass send by a WeChat tag (each member 4 per month).
    broadcast: bool = False
    status: PushStatus = PushStatus.SCHEDULED
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    segment_version: int | None = None
    #: The segment's name when the audience was frozen (the delivery events carry it for those who
    #: cannot read segments); None before then.
    segment_name: str | None = None
    audience_size: int | None = None
    resume_at: datetime | None = None
    note: str = ""
    created_by: Creator | None = None
    #: The brand project the push counts for (the brands service owns projects), if any.
    project_id: str | None = None
    #: Members outside the 48-hour window whose variant has only a customer-service message wait this
    #: long for their next interaction instead of being skipped (None: skipped; service_layer/waiting.py).
    wait_for_window: timedelta | None = None
    #: Marketing content (promotions): never sent as a template message, which WeChat keeps for service
    #: notices (:func:`check_marketing`).
    marketing: bool = False


def check_variants(variants: Sequence[Variant], *, broadcast: bool) -> None:
    """Raises :class:`PushInvalid` unless the variants make a push (a broadcast: one text or image)."""
    if not variants:
        raise PushInvalid("a push needs a variant")
    for variant in variants:
        if variant.empty:
            raise PushInvalid("a variant needs a message, a template or a subscription message")
        if variant.weight < 1:
            raise PushInvalid("a variant's weight is at least 1")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise PushInvalid("variant names must differ")
    if broadcast:
        if len(variants) != 1:
            raise PushInvalid("a broadcast is one message to everybody: exactly one variant")
        message = variants[0].message
        if message is None or message.kind not in ("text", "image"):
            raise PushInvalid("a broadcast's variant needs a text or image message")


def new_push(
    *,
    push_id: str,
    appid: str,
    name: str,
    segment_id: str,
    variants: Sequence[Variant],
    now: datetime,
    send_at: datetime | None = None,
    cap: FrequencyCap | None = None,
    quiet_hours: QuietHours | None = None,
    broadcast: bool = False,
    created_by: Creator | None = None,
    draft: bool = False,
    project_id: str | None = None,
    wait_for_window: timedelta | None = None,
    marketing: bool = False,
) -> Push:
    """A push scheduled for ``send_at`` (``now`` when None), its audience frozen when it comes due; a
    ``draft`` keeps ``send_at`` as asked (None: when it is sent) and waits for an operator to send it."""
    check_variants(variants, broadcast=broadcast)
    check_window_wait(wait_for_window, broadcast=broadcast)
    check_marketing(variants, marketing=marketing)
    if send_at is not None and send_at.tzinfo is None:
        raise PushInvalid("send_at needs a timezone")
    return Push(
        id=push_id,
        appid=appid,
        name=name,
        segment_id=segment_id,
        variants=tuple(variants),
        send_at=send_at.astimezone(UTC) if send_at is not None else None if draft else now,
        cap=cap or FrequencyCap(),
        quiet_hours=quiet_hours,
        broadcast=broadcast,
        status=PushStatus.DRAFT if draft else PushStatus.SCHEDULED,
        created_at=now,
        created_by=created_by,
        project_id=project_id,
        wait_for_window=wait_for_window,
        marketing=marketing,
    )


#: The longest a member may be waited for (a push's content goes stale; the records stay open meanwhile).
MAX_WINDOW_WAIT = timedelta(days=30)


def check_window_wait(wait: timedelta | None, *, broadcast: bool) -> None:
    """Raises :class:`PushInvalid` unless ``wait`` is a wait for the window this push may have."""
    if wait is None:
        return
    if broadcast:
        raise PushInvalid("a broadcast goes by mass send, which has no window to wait for")
    if not timedelta(hours=1) <= wait <= MAX_WINDOW_WAIT:
        raise PushInvalid("a wait for the window is between 1 hour and 30 days")


def check_marketing(variants: Sequence[Variant], *, marketing: bool) -> None:
    """Raises :class:`PushInvalid` when a marketing push has a template message: WeChat forbids
    marketing content in templates, so such a push reaches members outside the window only by waiting."""
    if not marketing:
        return
    for variant in variants:
        if variant.template is not None:
            raise PushInvalid(
                f"variant {variant.name}: marketing content is never sent as a template message (WeChat "
                "keeps templates for service notices); drop the template or wait for the window"
            )


@dataclass(frozen=True)
class Recipient:
    """What the send decision needs to know of one member, read when their turn comes."""

    openid: str
    following: bool
    marketing_consent: bool
    last_active_at: datetime | None
    #: When this member was sent pushes recently (any push), for the frequency caps.
    recent_sends: tuple[datetime, ...] = ()
    #: Mass messages the member has had this calendar month (the platform allows four).
    mass_this_month: int = 0
    #: Templates the member has an unused subscription-message consent for (domain/consents.py);
    #: None: not known (nothing is decided on consent, as before consents were kept).
    subscriptions: frozenset[str] | None = None


@dataclass(frozen=True)
class Decision:
    """Send through ``channel``, or skip for ``reason``: exactly one is set."""

    channel: Channel | None = None
    reason: SkipReason | None = None


def assign_variant(push_id: str, openid: str, variants: Sequence[Variant]) -> Variant:
    """The member's variant: a stable hash, so the split holds across retries and resumes."""
    total = sum(v.weight for v in variants)
    digest = hashlib.blake2b(f"{push_id}\x00{openid}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") % total
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    raise AssertionError("weights exhausted")  # pragma: no cover - the modulo keeps point below total


#: Mass messages a 服务号 member receives per calendar month.
MASS_MONTHLY = 4


def decide(
    recipient: Recipient | None, variant: Variant, cap: FrequencyCap, now: datetime, *, broadcast: bool = False
) -> Decision:
    """Whether and how one member gets the push now; a broadcast reaches everyone who may get it by
    mass send (no interaction window), within the month's four."""
    if recipient is None:
        return Decision(reason=SkipReason.UNKNOWN_MEMBER)
    if not recipient.following:
        return Decision(reason=SkipReason.UNFOLLOWED)
    if not recipient.marketing_consent:
        return Decision(reason=SkipReason.NO_CONSENT)
    if cap.reached(recipient.recent_sends, now):
        return Decision(reason=SkipReason.FREQUENCY_CAP)
    if broadcast:
        if recipient.mass_this_month >= MASS_MONTHLY:
            return Decision(reason=SkipReason.MASS_BUDGET)
        return Decision(channel=Channel.MASS)
    in_window = recipient.last_active_at is not None and now - recipient.last_active_at < INTERACTION_WINDOW
    if variant.message is not None and in_window:
        return Decision(channel=Channel.CUSTOMER_SERVICE)
    if variant.template is not None:
        return Decision(channel=Channel.TEMPLATE)
    if variant.subscription is not None:
        if recipient.subscriptions is not None and variant.subscription.template_id not in recipient.subscriptions:
            return Decision(reason=SkipReason.NO_SUBSCRIPTION_CONSENT)
        return Decision(channel=Channel.SUBSCRIPTION)
    return Decision(reason=SkipReason.OUTSIDE_WINDOW)


def fallback_channel(channel: Channel, variant: Variant) -> Channel | None:
    """Where a customer-service message goes when the platform says the window has closed (45015):
    our record of the member's last interaction can be behind the platform's."""
    if channel is not Channel.CUSTOMER_SERVICE:
        return None
    if variant.template is not None:
        return Channel.TEMPLATE
    if variant.subscription is not None:
        return Channel.SUBSCRIPTION
    return None
