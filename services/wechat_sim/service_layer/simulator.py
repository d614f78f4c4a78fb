"""The simulator as a library: the platform's state and API plus the members that drive the gateway."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from services.wechat_sim.domain.account import IdSource
from services.wechat_sim.domain.clock import Clock
from services.wechat_sim.domain.errors import InvalidAction
from services.wechat_sim.domain.members import InboxEntry
from services.wechat_sim.service_layer.driver import PushDriver, PushOutcome
from services.wechat_sim.service_layer.platform import Platform, PreparedPush
from services.wechat_sim.service_layer.ports import PushSender, QrCodec
from services.wechat_sim.settings import WeChatSimSettings


class WeChatSimulator:
    """One simulated platform.

    Member actions (``follow``, ``scan``, ``text``...) change the platform's state first (a follow is
    visible to ``user/info`` before the push arrives, as on the real platform), then push to the
    account's gateway and report a :class:`PushOutcome`. The ``/cgi-bin/`` API is :attr:`platform`.
    """

    def __init__(
        self, settings: WeChatSimSettings, *, clock: Clock, sender: PushSender, qr: QrCodec, ids: IdSource
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.platform = Platform(settings, clock, ids)
        self.qr = qr
        self._driver = PushDriver(
            self.platform, sender, timeout_seconds=settings.push_timeout_seconds, attempts=settings.push_attempts
        )
        self._history: deque[PushOutcome] = deque(maxlen=500)

    # -- members act ---------------------------------------------------------------------------

    async def follow(
        self,
        appid: str,
        openid: str,
        *,
        ticket: str | None = None,
        scene: str | None = None,
        subscribe_scene: str = "ADD_SCENE_SEARCH",
    ) -> PushOutcome:
        """Follow the account; through a QR code when given its ticket, or any live code for ``scene``."""
        prepared = self.platform.prepare_follow(
            appid, openid, ticket=ticket, scene=scene, subscribe_scene=subscribe_scene
        )
        return await self._deliver(prepared)

    async def scan(
        self, appid: str, openid: str, *, ticket: str | None = None, scene: str | None = None
    ) -> PushOutcome:
        """A follower scans a parametric QR code (SCAN event)."""
        return await self._deliver(self.platform.prepare_scan(appid, openid, ticket=ticket, scene=scene))

    async def follow_by_poster(self, appid: str, openid: str, image: bytes) -> PushOutcome:
        """Scan the QR code printed on a poster: follow through it, or SCAN if following already."""
        url = await asyncio.to_thread(self.qr.decode, image)
        if url is None:
            raise InvalidAction("no QR code found in the image")
        return await self._deliver(self.platform.prepare_poster(appid, openid, url, "ADD_SCENE_QR_CODE"))

    async def unfollow(self, appid: str, openid: str) -> PushOutcome:
        return await self._deliver(self.platform.prepare_unfollow(appid, openid))

    async def click(self, appid: str, openid: str, key: str) -> PushOutcome:
        return await self._deliver(self.platform.prepare_click(appid, openid, key))

    async def view(self, appid: str, openid: str, url: str) -> PushOutcome:
        return await self._deliver(self.platform.prepare_view(appid, openid, url))

    async def text(self, appid: str, openid: str, content: str) -> PushOutcome:
        return await self._deliver(self.platform.prepare_text(appid, openid, content))

    async def image(self, appid: str, openid: str, image: bytes) -> PushOutcome:
        return await self._deliver(self.platform.prepare_image(appid, openid, image))

    async def consent(
        self, appid: str, openid: str, template_id: str, *, long_term: bool = False, accept: bool = True
    ) -> PushOutcome:
        """The member answers a subscription popup (accepts one notice, or any number when ``long_term``;
        or rejects it); the popup event is pushed."""
        prepared = self.platform.prepare_consent(appid, openid, template_id, long_term=long_term, accept=accept)
        return await self._deliver(prepared)

    async def cancel_consent(self, appid: str, openid: str, template_id: str) -> PushOutcome:
        """The member switches the template off in their settings (``subscribe_msg_change_event``)."""
        return await self._deliver(self.platform.prepare_consent_cancel(appid, openid, template_id))

    async def deliver_pending(self) -> list[PushOutcome]:
        """Send the job-finish pushes the platform owes (template and mass sends), oldest first."""
        return [await self._deliver(push) for push in self.platform.take_pending()]

    async def _deliver(self, prepared: PreparedPush) -> PushOutcome:
        outcome = await self._driver.deliver(prepared)
        self._history.append(outcome)
        return outcome

    # -- state ---------------------------------------------------------------------------------

    def add_member(self, appid: str, openid: str | None = None, *, following: bool = True) -> dict[str, Any]:
        """A member who was there before the simulation: no push."""
        return self.platform.add_member(appid, openid, following=following)

    def inbox(self, appid: str, openid: str, *, after: int = 0) -> list[InboxEntry]:
        return self.platform.inbox(appid, openid, after=after)

    def inject_fault(self, appid: str, api: str, errcode: int, *, count: int = 1, errmsg: str | None = None) -> None:
        self.platform.inject_fault(appid, api, errcode, count=count, errmsg=errmsg)

    def qr_png(self, ticket: str) -> bytes:
        """What ``showqrcode`` serves: a PNG of the ticket's URL (ApiError for unknown/expired tickets)."""
        return self.qr.render(self.platform.qr_ticket(ticket).url)

    def pushes(self, appid: str | None = None) -> list[PushOutcome]:
        """Recent push outcomes (the last 500), oldest first."""
        return [o for o in list(self._history) if appid is None or o.appid == appid]
