"""The profiles service's composition root: its API (mall webhook, profiles, ops tags) and its worker
build their adapters here; tests pass a publisher fake and get everything else real."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import structlog

from services.profiles.adapters import surveys as survey_docs
from services.profiles.adapters.invitations import MongoHeldInvitations
from services.profiles.adapters.memory import (
    InMemoryHeldInvitations,
    InMemoryProfileReader,
    InMemoryProfileStore,
    InMemorySurveys,
    InMemorySurveysUnitOfWork,
)
from services.profiles.adapters.repository import (
    INDEXES,
    Announce,
    MongoProfileRepository,
    MongoProfilesUnitOfWork,
)
from services.profiles.adapters.surveys import MongoSurveys
from services.profiles.domain.h5_links import LinkRejected, open_link
from services.profiles.service_layer import activity, h5, mall
from services.profiles.service_layer.ports import (
    HeldInvitations,
    Messenger,
    ProfileReader,
    SurveyStore,
    SurveysUnitOfWork,
)
from services.profiles.settings import ProfilesSettings
from shared.contracts import (
    PROFILE_CHANGES,
    TOPICS,
    MallEventReceived,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    ProfileChanged,
    TextMessageReceived,
)
from shared.datarights import ERASURE_INDEXES, MemberRights, MongoMemberRights
from shared.events import Envelope, Message
from shared.maternal_infant import Taxonomy, load_taxonomy
from shared.messaging import EventPublisher, connect_publisher
from shared.storage import PROCESSED_EVENTS_INDEXES, connect
from shared.wechat_client import ACCESS_TOKEN_INDEXES, MongoTokenStore, WeChatClients

__all__ = ["Profiles", "bootstrap"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Profiles:
    settings: ProfilesSettings
    taxonomy: Taxonomy
    #: A new transaction over profiles, surveys and processed-event claims.
    uow: Callable[[], SurveysUnitOfWork]
    profiles: ProfileReader
    surveys: SurveyStore
    #: Publishes what the API receives and which profiles changed; None when built with publish=False.
    publisher: EventPublisher | None
    readiness: dict[str, Callable[[], Awaitable[Any]]]
    #: The worker's WeChat clients (it invites new followers to the H5 page); None in the API.
    clients: WeChatClients | None = None
    #: Invitations waiting for their member's next interaction (the window was closed at the follow).
    held_invitations: HeldInvitations = field(default_factory=InMemoryHeldInvitations)
    #: Erased members (their events are dropped by the worker); None in memory.
    rights: MemberRights | None = None

    def link(self, appid: str, openid: str, now: datetime, page: str = "interests") -> str:
        """A signed link to one of the member's H5 pages (the interest page unless ``page`` says)."""
        return h5.member_link(
            self.settings.h5_base_url,
            self.settings.h5_link_secret.get_secret_value().encode(),
            appid,
            openid,
            now,
            timedelta(days=self.settings.h5_link_days),
            page,
        )

    def member_of(self, appid: str, token: str, page: str = "interests") -> str | None:
        """The openid a signed link names for ``appid`` and ``page``; None if it is forged, damaged,
        expired, another account's or another page's."""
        try:
            link = open_link(self.settings.h5_link_secret.get_secret_value().encode(), token, time.time(), page)
        except LinkRejected:
            return None
        return link.openid if link.appid == appid else None

    @cached_property
    def accounts(self) -> frozenset[str]:
        """The appids of the accounts this service holds."""
        return frozenset(account.appid for account in self.settings.wechat_accounts)

    def messenger(self, appid: str) -> Messenger | None:
        """The account's customer-service messages, when this process holds WeChat clients."""
        if self.clients is None or appid not in self.clients:
            return None
        return self.clients[appid]

    @property
    def half_life(self) -> timedelta:
        return timedelta(days=self.settings.interest_half_life_days)

    async def handle_batch(self, batch: Sequence[tuple[Envelope, Message]]) -> None:
        """What the worker consumes, many records at a time: mall events and the members' own pushes are
        applied in one transaction each; tags from keywords and menus, and invitations, one by one."""
        mall_events = [(envelope, message) for envelope, message in batch if isinstance(message, MallEventReceived)]
        if mall_events:
            await mall.apply_mall_events(
                mall_events,
                self.uow(),
                self.taxonomy,
                self.half_life,
                consent_required=self.settings.mall_needs_data_use,
            )
        await activity.record_activity(batch, self.uow())
        for envelope, message in batch:
            await self._react(envelope, message)
        await self._invite_held(batch)

    async def handle(self, envelope: Envelope, message: Message) -> None:
        await self.handle_batch([(envelope, message)])

    async def _react(self, envelope: Envelope, message: Message) -> None:
        if isinstance(message, TextMessageReceived) and message.content.strip() in self.taxonomy.keywords:
            codes = self.taxonomy.keywords[message.content.strip()]
            await h5.tag_from_trigger(envelope, message.openid, codes, "keyword", self.uow(), self.taxonomy)
        elif isinstance(message, MenuClicked) and message.key in self.taxonomy.menu_keys:
            codes = self.taxonomy.menu_keys[message.key]
            await h5.tag_from_trigger(envelope, message.openid, codes, "menu", self.uow(), self.taxonomy)
        elif isinstance(message, MemberFollowed) and (messenger := self.messenger(envelope.appid)) is not None:
            now = datetime.now(UTC)
            text = self.invitation(envelope.appid, message.openid, now)
            await h5.invite_after_follow(envelope, message, self.uow(), messenger, text, self.held_invitations, now)

    def invitation(self, appid: str, openid: str, now: datetime) -> str:
        """The H5 invitation's text, with a link signed now."""
        return self.settings.h5_invitation.format(link=self.link(appid, openid, now))

    async def _invite_held(self, batch: Sequence[tuple[Envelope, Message]]) -> None:
        """Members who interacted in ``batch`` (a message, click or scan opened their window) get the
        invitation held for them, if any; a follow sent its own already (see :meth:`_react`)."""
        interacting: dict[str, list[str]] = {}
        for envelope, message in batch:
            if isinstance(message, (MemberFollowed, MemberUnfollowed)):
                continue
            if (found := activity.member_activity(message)) is not None:
                interacting.setdefault(envelope.appid, []).append(found[0])
        now = datetime.now(UTC)
        for appid, openids in interacting.items():
            if (messenger := self.messenger(appid)) is not None:
                text_for = functools.partial(self.invitation, appid, now=now)
                await h5.invite_held(appid, openids, self.held_invitations, messenger, text_for, now)


async def _in_memory() -> None:
    """Readiness of an in-memory store: always."""


def _announcer(publisher: EventPublisher) -> Announce:
    """Publishes ``profile.changed`` for each profile a transaction wrote, once it has committed."""

    async def announce(written: Sequence[tuple[str, str]]) -> None:
        sent = await asyncio.gather(
            *(
                publisher.publish(
                    PROFILE_CHANGES, Envelope.wrap(ProfileChanged(openid=openid), appid=appid, key=openid)
                )
                for appid, openid in written
            ),
            return_exceptions=True,
        )
        failed = [outcome for outcome in sent if isinstance(outcome, Exception)]
        if failed:
            # The write is committed and must stand: readers sweep recent writes (written_at) and catch up.
            log.warning("profile changes not announced", count=len(failed), error=str(failed[0]))

    return announce


@asynccontextmanager
async def bootstrap(
    settings: ProfilesSettings,
    *,
    publish: bool = True,
    publisher: EventPublisher | None = None,
    messaging: bool = False,
    clients: WeChatClients | None = None,
    store: InMemoryProfileStore | None = None,
) -> AsyncIterator[Profiles]:
    """MongoDB, the taxonomy file and (for the API) a Kafka publisher; ``publisher`` replaces the last.

    ``store``: profiles kept in memory instead of MongoDB, no Kafka unless ``publisher`` is given
    (tests that mount the API in process, the console's among them)."""
    taxonomy = load_taxonomy(settings.taxonomy_path)  # a broken taxonomy stops start-up, with the reason
    if store is not None:
        surveys = InMemorySurveys()
        processed: set[str] = set()  # one record of claims for every unit of work, as in MongoDB

        def uow() -> InMemorySurveysUnitOfWork:
            unit = InMemorySurveysUnitOfWork(store, surveys)
            unit.processed = processed
            return unit

        yield Profiles(
            settings,
            taxonomy,
            uow,
            InMemoryProfileReader(store),
            surveys,
            publisher,
            {"mongodb": _in_memory, "kafka": _in_memory},
            clients,
        )
        return
    indexes = (*INDEXES, *survey_docs.INDEXES, *PROCESSED_EVENTS_INDEXES, *ACCESS_TOKEN_INDEXES, *ERASURE_INDEXES)
    async with AsyncExitStack() as stack:
        mongo = await stack.enter_async_context(connect(settings, indexes))
        client, database = mongo.client, mongo.database
        readiness: dict[str, Callable[[], Awaitable[Any]]] = {"mongodb": mongo.ready}
        if publish and publisher is None:
            kafka = await stack.enter_async_context(connect_publisher(settings, TOPICS))
            readiness["kafka"] = kafka.ready
            publisher = kafka
        if messaging and clients is None:
            clients = await stack.enter_async_context(
                WeChatClients.for_accounts(settings.wechat_accounts, MongoTokenStore(database), settings.wechat_api)
            )
        announce = None if publisher is None else _announcer(publisher)
        yield Profiles(
            settings,
            taxonomy,
            lambda: MongoProfilesUnitOfWork(client, settings.mongodb_database, announce),
            MongoProfileRepository(database),
            MongoSurveys(database),
            publisher,
            readiness,
            clients,
            MongoHeldInvitations(database),
            MongoMemberRights(database),
        )
