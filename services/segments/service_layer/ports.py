"""What the segments service needs from the outside world, as small interfaces (fakes in unit tests).
The MongoDB implementations are in :mod:`services.segments.adapters.store`; documents are plain dicts
whose shape only the adapters know, except where a port says otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from services.segments.domain.consents import ConsentChange, SubscriptionConsent
from services.segments.domain.participation import Standing
from services.segments.domain.pushes import Channel, MessageContent, Push, SubscriptionContent, TemplateContent
from services.segments.domain.rules import MemberFacts
from services.segments.domain.segments import SavedSegment
from shared.contracts import MassSendFinished
from shared.events import Envelope, Topic

__all__ = [
    "ConsentStore",
    "ConsentUnitOfWork",
    "Content",
    "DeliveryUnitOfWork",
    "DeliveryWrites",
    "JobFinishStore",
    "MemberFactsReader",
    "ParticipationStore",
    "ParticipationUnitOfWork",
    "PushReader",
    "PushRepository",
    "PushStore",
    "RecipientReader",
    "RefusalKind",
    "SegmentRepository",
    "SendRefused",
    "Sender",
    "WaitingStore",
]

Content = MessageContent | TemplateContent | SubscriptionContent

#: window: the interaction window is closed (another channel may still work); quota: the day's quota
#: is used up (stop the push until ``retry_after``); transient: worth retrying; recipient: this member
#: cannot get it; rejected: the platform refused the request itself.
RefusalKind = Literal["window", "quota", "transient", "recipient", "rejected"]


class SendRefused(Exception):
    def __init__(self, errcode: int, kind: RefusalKind, message: str, retry_after: float = 0.0) -> None:
        super().__init__(f"{errcode}: {message}")
        self.errcode = errcode
        self.kind = kind
        self.retry_after = retry_after


class Sender(Protocol):
    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        """Send one message; the template ``msgid`` for templates. Raises :class:`SendRefused`."""
        ...

    async def create_tag(self, appid: str, name: str) -> int: ...

    async def tag_members(self, appid: str, tag_id: int, openids: Sequence[str]) -> None: ...

    async def delete_tag(self, appid: str, tag_id: int) -> None: ...

    async def mass_send(self, appid: str, content: MessageContent, tag_id: int, clientmsgid: str) -> int:
        """A mass send to the members carrying ``tag_id``; the job's msg_id."""
        ...


class DeliveryWrites(Protocol):
    """The writes to delivery and click records that commit together with the events reporting them
    (bound to one :class:`DeliveryUnitOfWork`)."""

    async def settle(self, outcomes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Write what happened to each send: (delivery id, fields to set)."""
        ...

    async def remember_templates(self, appid: str, push_id: str, sent: Sequence[tuple[int, str, str]]) -> None:
        """Which delivery each template ``msgid`` belongs to: (msgid, delivery id, variant)."""
        ...

    async def forget(self, delivery_ids: Sequence[str]) -> None:
        """Remove the records of sends that were not made (sent again later)."""
        ...

    async def count_sends(self, appid: str, openids: Sequence[str], at: datetime, month: str | None = None) -> None: ...

    async def release_sends(self, appid: str, push_id: str, openids: Sequence[str]) -> None:
        """Give back the members' reservations for ``push_id`` (:meth:`PushStore.reserve_sends`): the
        send was not made, so it does not count toward their caps."""
        ...

    async def record_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> int:
        """Record a click; which of the member's clicks on this push it is (1: the first). A mass send's
        clicks are anonymous (``openid`` empty): counted on the push, 0."""
        ...


class DeliveryUnitOfWork(Protocol):
    """One transaction over delivery and click records and the outbox: the events emitted in it are
    published if, and only if, it commits (MongoDB: ``MongoDeliveryUnitOfWork``). Leaving the block
    without :meth:`commit` aborts."""

    @property
    def deliveries(self) -> DeliveryWrites:
        """The records bound to this transaction (inside ``async with`` only)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def emit(self, topic: Topic, envelope: Envelope) -> None:
        """Publish ``envelope`` on ``topic`` once this transaction commits (the outbox)."""
        ...

    async def commit(self) -> None: ...


class PushStore(DeliveryWrites, Protocol):
    """Where the dispatcher keeps pushes, frozen audiences, delivery records and members' recent sends
    (MongoDB: :class:`~services.segments.adapters.store.MongoPushes`). Documents are plain dicts. Its
    own delivery writes are outside any transaction: the dispatcher writes outcomes, which events
    report, through :meth:`transaction`."""

    def transaction(self, *, fresh: bool = False) -> DeliveryUnitOfWork:
        """A new transaction over the delivery records and the outbox. ``fresh``: the caller expects none
        of its events or template ids to be written yet (a first attempt): they are written without
        first reading which are; should one be there after all, the transaction fails as a conflict,
        to be run again without ``fresh`` (which keeps the first entry of each)."""
        ...

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None:
        """The next due push in ``statuses`` nobody holds, moved to ``to_status`` and leased."""
        ...

    async def get(self, push_id: str, appid: str | None = None) -> dict[str, Any] | None: ...

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None:
        """Set ``fields`` (dotted paths allowed) and add ``inc`` to counters."""
        ...

    async def audience_chunk(self, push_id: str, chunk: int) -> list[str] | None: ...

    async def recorded(self, push_id: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def record(self, documents: Sequence[dict[str, Any]]) -> set[str]:
        """Insert delivery records; the openids whose record existed already."""
        ...

    async def profiles_of(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def recent_sends(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each member's recent sends (``recent``, ``mass``) and the version ``v`` they were read at."""
        ...

    async def reserve_sends(
        self, appid: str, push_id: str, members: Sequence[tuple[str, int]], at: datetime, month: str | None = None
    ) -> set[str]:
        """Count a send of ``push_id`` at ``at`` toward each member's caps (and ``month``'s mass sends
        when given), each only if the member's sends are still at the version read ((openid, version),
        0 for none): the openids whose sends changed meanwhile, not reserved (read again, decide
        again). Two pushes deciding one member at once cannot both pass a cap."""
        ...


class RecipientReader(Protocol):
    """What deciding a member reads: their profile and their recent sends (``PushStore`` has both)."""

    async def profiles_of(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def recent_sends(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...


class PushReader(Protocol):
    """A push document read into the domain's :class:`Push` (the adapters know the document)."""

    def __call__(self, document: Mapping[str, Any], /) -> Push: ...


class SegmentRepository(Protocol):
    """Saved segments and their versions (MongoDB: :class:`~services.segments.adapters.store.MongoSegments`)."""

    async def create(self, appid: str, name: str, description: str, rule: dict[str, Any]) -> SavedSegment:
        """Version 1. Raises :class:`~services.segments.domain.segments.SegmentNameTaken`."""
        ...

    async def update(
        self,
        appid: str,
        segment_id: str,
        name: str,
        description: str,
        rule: dict[str, Any],
        expected_version: int | None = None,
    ) -> SavedSegment | None:
        """The next version; None if there is no such segment. Raises ``SegmentNameTaken``, and
        ``SegmentVersionConflict`` when ``expected_version`` is given and is not the current one (also
        when another save lands first)."""
        ...

    async def get(self, appid: str, segment_id: str) -> SavedSegment | None: ...

    async def of_account(self, appid: str) -> list[SavedSegment]: ...

    async def versions(self, segment_id: str) -> list[dict[str, Any]]:
        """Every version (``version``, ``name``, ``rule``, ``saved_at``), newest first."""
        ...

    async def delete(self, appid: str, segment_id: str) -> bool: ...


class PushRepository(Protocol):
    """Pushes as the operator's API and the audience freezer see them, their frozen audiences, their
    deliveries and their clicks (MongoDB: :class:`~services.segments.adapters.store.MongoPushes`)."""

    async def add(self, push: Push) -> dict[str, Any]:
        """Store a new push; its document as the API shows it."""
        ...

    async def get(self, push_id: str, appid: str | None = None) -> dict[str, Any] | None: ...

    async def of_account(self, appid: str, limit: int = 100, project_id: str | None = None) -> list[dict[str, Any]]:
        """Newest first; only the pushes linked to ``project_id`` when given."""
        ...

    async def transition(
        self, push_id: str, from_statuses: Sequence[str], to_status: str, **fields: Any
    ) -> dict[str, Any] | None:
        """Move a push between statuses atomically; None if it was not in one of ``from_statuses``."""
        ...

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None: ...

    async def save_audience(self, push_id: str, openids: Sequence[str], chunk: int) -> int:
        """The frozen audience in parts of ``chunk`` openids; how many parts."""
        ...

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None: ...

    async def deliveries_of(
        self, push_id: str, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...

    async def count_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> bool:
        """Record a click outside a transaction (no event); True when it is the member's first on this
        push or anonymous. The redirect records clicks with their event, through :meth:`transaction`."""
        ...

    def transaction(self) -> DeliveryUnitOfWork:
        """A new transaction over the delivery and click records and the outbox."""
        ...

    async def edit_draft(self, push: Push, version: int) -> dict[str, Any] | None:
        """Replace the draft's content with ``push``'s if it is still a draft at ``version`` (the version
        goes up by one); None otherwise."""
        ...

    async def send_draft(self, push_id: str, version: int, send_at: datetime) -> dict[str, Any] | None:
        """The draft at ``version``, scheduled for ``send_at``; None if it is no longer that draft."""
        ...

    async def delete_draft(self, push_id: str, version: int | None) -> bool:
        """Delete the push if it is a draft (at ``version`` when given)."""
        ...

    async def of_segment(self, appid: str, segment_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The account's pushes to ``segment_id``, newest first."""
        ...

    async def of_member(self, appid: str, openid: str, limit: int) -> list[dict[str, Any]]:
        """The member's delivery records (any push), newest first."""
        ...

    async def clicks_of(self, openid: str, push_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The member's click records on these pushes (``push_id``, ``variant``, ``url``, ``first_at``...)."""
        ...

    async def testers(self, appid: str) -> list[dict[str, str]]:
        """The account's test whitelist (``openid``, ``label``)."""
        ...

    async def set_testers(self, appid: str, testers: Sequence[dict[str, str]]) -> None: ...

    async def record_test_sends(self, documents: Sequence[dict[str, Any]]) -> None:
        """Keep what a test send did (apart from the push's deliveries and stats)."""
        ...


class JobFinishStore(Protocol):
    """What settling the platform's job-finish pushes changes (MongoDB: ``MongoPushes``)."""

    async def finish_template(self, appid: str, msgid: int, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Settle the template delivery of ``msgid`` once; the record before, None if settled or unknown."""
        ...

    async def transition_mass(self, appid: str, msg_id: int, event: MassSendFinished) -> dict[str, Any] | None:
        """The broadcast waiting for job ``msg_id``, finished; None when none waits for it."""
        ...

    async def mark_mass_sent(self, push_id: str, at: datetime) -> None: ...

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None: ...


class MemberFactsReader(Protocol):
    """One member's facts as rules see them (MongoDB: ``MongoFacts``)."""

    async def one(self, appid: str, openid: str, today: date) -> MemberFacts | None: ...


class ParticipationStore(Protocol):
    """Segments' own copy of campaign participation (MongoDB:
    :class:`~services.segments.adapters.participation.MongoParticipation`)."""

    async def kept(self, appid: str, openid: str, campaign_id: str) -> Standing | None: ...

    async def keep(self, standing: Standing) -> None:
        """Store ``standing`` in place of the one kept for its member and campaign."""
        ...


class ParticipationUnitOfWork(Protocol):
    """One transaction over the participation copy and the processed-event records."""

    @property
    def participation(self) -> ParticipationStore:
        """The store bound to this transaction (inside ``async with`` only)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` processes ``event_id``; False if it already did."""
        ...

    async def commit(self) -> None: ...


class WaitingStore(Protocol):
    """Delivery records that wait for the member's window (``service_layer/waiting.py``; MongoDB:
    :class:`~services.segments.adapters.waiting_store.MongoWaitingSends`). Every move is conditional on
    the record's status, so two workers never both send one."""

    async def open_window(self, appid: str, openid: str, until: datetime, now: datetime) -> list[dict[str, Any]]:
        """Mark the member's waiting records (not yet expired) as having an open window until ``until``;
        return them."""
        ...

    async def ready(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Waiting records whose window is open now (an interaction seen, the send held back)."""
        ...

    async def due_to_expire(self, now: datetime, limit: int) -> list[dict[str, Any]]: ...

    async def take(self, delivery_id: str, now: datetime) -> bool:
        """waiting → sending; False when someone else took or closed it."""
        ...

    async def close_window(self, delivery_id: str) -> None:
        """Keep waiting, for the next interaction (the window seen cannot be used: cap, pause)."""
        ...

    async def put_back(self, delivery_id: str) -> None:
        """sending → waiting, window closed (the send was not made)."""
        ...

    async def finish(self, delivery_id: str, fields: Mapping[str, Any]) -> bool:
        """waiting → ``fields`` (skipped or expired); False when it was no longer waiting."""
        ...


class ConsentStore(Protocol):
    """Members' subscription-message consents per (account, member, template) (``domain/consents.py``;
    MongoDB: :class:`~services.segments.adapters.consents.MongoConsents`). A one-time consent is used by
    :meth:`claim`, atomically, so two pushes never both use one."""

    async def apply(
        self,
        appid: str,
        openid: str,
        template_id: str,
        change: ConsentChange,
        *,
        long_term: bool,
        at: datetime,
        answer: str = "",
    ) -> None:
        """Apply one of the platform's answers (``long_term``: the template allows any number)."""
        ...

    async def of_member(self, appid: str, openid: str) -> list[SubscriptionConsent]: ...

    async def usable(
        self, appid: str, openids: Sequence[str], template_ids: Sequence[str]
    ) -> dict[str, frozenset[str]]:
        """Per member (only those with any), the templates among ``template_ids`` they may be sent now."""
        ...

    async def claim(self, appid: str, wanted: Sequence[tuple[str, str]], at: datetime) -> dict[str, bool]:
        """Use one consent per (openid, template) for a message about to be sent: the members who had
        one, each with True when a one-time credit was used (False: long-term). The others had none."""
        ...

    async def release(self, appid: str, given_back: Sequence[tuple[str, str]]) -> None:
        """Give one-time credits back for messages claimed and not sent (openid, template)."""
        ...


class ConsentUnitOfWork(Protocol):
    """One transaction over the consents and the processed-event records."""

    @property
    def consents(self) -> ConsentStore:
        """The store bound to this transaction (inside ``async with`` only)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` processes ``event_id``; False if it already did."""
        ...

    async def commit(self) -> None: ...
