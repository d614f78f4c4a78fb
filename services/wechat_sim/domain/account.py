"""One simulated Official Account: its members, tags, QR codes, media and tokens, and the rules
the send and user APIs apply to them. Pure: the caller passes the time and an id source."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.wechat_sim.domain import pushes
from services.wechat_sim.domain.errors import ApiError, InvalidAction, UnknownMember
from services.wechat_sim.domain.limits import CallLimiter, FaultPlan
from services.wechat_sim.domain.media import MediaItem, MediaLimits
from services.wechat_sim.domain.members import InboxEntry, SimMember
from services.wechat_sim.domain.messages import (
    CUSTOM_TYPES,
    MASS_TYPES,
    Outgoing,
    TemplateMessage,
    parse_message,
    parse_template,
    required_openid,
)
from services.wechat_sim.domain.qrcodes import QrRequest, QrTicket
from services.wechat_sim.domain.tags import TagBook, TagRules
from services.wechat_sim.domain.tokens import TokenBook, TokenRules
from services.wechat_sim.domain.windows import ServiceWindows, WindowRule


class IdSource(Protocol):
    def token(self) -> str: ...
    def qr_code(self) -> str: ...
    def media_id(self) -> str: ...
    def msg_id(self) -> int: ...
    def openid(self) -> str: ...


@dataclass(frozen=True)
class AccountRules:
    tokens: TokenRules
    daily_quotas: Mapping[str, int]
    minute_limits: Mapping[str, int]
    message_window: WindowRule
    event_window: WindowRule
    mass_monthly_limit: int
    tags: TagRules
    media: MediaLimits
    qr_default_expire_seconds: int
    qr_url_base: str
    user_get_page_size: int
    batchget_limit: int = 100
    #: Calls per clock second, by API (none unless configured).
    second_limits: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingPush:
    """A push the platform owes the account's server (job-finish events), sent a moment later."""

    openid: str
    fields: pushes.PushFields


@dataclass(frozen=True)
class MassResult:
    msg_id: int
    msg_data_id: int
    total: int
    sent: int
    skipped: list[str] = field(default_factory=list)


class SimAccount:
    def __init__(self, appid: str, original_id: str, rules: AccountRules, ids: IdSource) -> None:
        self.appid = appid
        self.original_id = original_id
        self.rules = rules
        self._ids = ids
        self.tokens = TokenBook(rules.tokens, ids.token)
        self.limiter = CallLimiter(rules.daily_quotas, rules.minute_limits, rules.second_limits)
        self.faults = FaultPlan()
        self.tags = TagBook(rules.tags)
        self.members: dict[str, SimMember] = {}
        self.tickets: dict[str, QrTicket] = {}
        self._tickets_by_url: dict[str, str] = {}
        self._permanent: dict[tuple[str, str], str] = {}
        self.media: dict[str, MediaItem] = {}
        self.outbox: list[PendingPush] = []

    # -- members ------------------------------------------------------------------------------

    def add_member(self, openid: str | None = None) -> SimMember:
        openid = openid or self._ids.openid()
        member = self.members.get(openid)
        if member is None:
            member = SimMember(openid, ServiceWindows(self.rules.message_window, self.rules.event_window))
            self.members[openid] = member
        return member

    def member(self, openid: str) -> SimMember:
        """For sim-only operations: an unknown openid is the caller's mistake."""
        member = self.members.get(openid)
        if member is None:
            raise UnknownMember(f"no member {openid!r} in account {self.appid!r}")
        return member

    def api_member(self, openid: str) -> SimMember:
        """For API calls: an unknown openid is the platform's 40003."""
        member = self.members.get(openid)
        if member is None:
            raise ApiError(40003)
        return member

    def follower(self, openid: str, doing: str) -> SimMember:
        member = self.member(openid)
        if not member.following:
            raise InvalidAction(f"{openid!r} does not follow {self.appid!r}, so cannot {doing}")
        return member

    # -- QR codes -----------------------------------------------------------------------------

    def create_qr(self, request: QrRequest, now: float) -> QrTicket:
        scene = request.scene_str if request.scene_str is not None else str(request.scene_id)
        if request.permanent:
            known = self._permanent.get((request.action_name, scene))
            if known is not None:
                return self.tickets[known]
        code = self._ids.qr_code()
        url = self.rules.qr_url_base + code
        expires_at = None if request.expire_seconds is None else now + request.expire_seconds
        # Shaped like the platform's: Base64 (with +, / and =, so callers must URL-encode it).
        raw = b"\x81\x01" + url.encode() + int(expires_at or 0).to_bytes(8, "big")
        ticket = QrTicket(
            base64.b64encode(raw).decode(),
            url,
            request.action_name,
            request.scene_id,
            request.scene_str,
            now,
            expires_at,
        )
        self.tickets[ticket.ticket] = ticket
        self._tickets_by_url[url] = ticket.ticket
        if request.permanent:
            self._permanent[(request.action_name, scene)] = ticket.ticket
        return ticket

    def live_ticket(self, ticket: str, now: float) -> QrTicket:
        found = self.tickets.get(ticket)
        if found is None:
            raise InvalidAction(f"ticket {ticket!r} was not issued by {self.appid!r}")
        if not found.is_live(now):
            raise InvalidAction("this QR code has expired")
        return found

    def ticket_for_url(self, url: str, now: float) -> QrTicket:
        ticket = self._tickets_by_url.get(url.strip())
        if ticket is None:
            raise InvalidAction(f"{url!r} is not a QR code of {self.appid!r}")
        return self.live_ticket(ticket, now)

    def ticket_for_scene(self, scene: str, now: float) -> QrTicket:
        """A live ticket for ``scene`` (permanent first), or a new 30-day one: a poster made elsewhere."""
        live = [t for t in self.tickets.values() if t.scene == scene and t.is_live(now)]
        if live:
            return min(live, key=lambda t: (not t.permanent, -t.created_at))
        if scene.isdigit() and 1 <= int(scene) < 2**32:
            request = QrRequest("QR_SCENE", int(scene), None, 2_592_000)
        else:
            request = QrRequest("QR_STR_SCENE", None, scene[:64], 2_592_000)
        return self.create_qr(request, now)

    # -- media --------------------------------------------------------------------------------

    def store_media(self, media_type: str, content: bytes, content_type: str, filename: str, now: float) -> MediaItem:
        item = MediaItem(self._ids.media_id(), media_type, content, content_type, filename, now)
        self.media[item.media_id] = item
        cutoff = now - self.rules.media.ttl_seconds
        self.media = {k: v for k, v in self.media.items() if v.created_at > cutoff - 86_400}
        return item

    def live_media(self, media_id: str, now: float, media_type: str | None = None) -> MediaItem:
        item = self.media.get(media_id)
        if item is None or not item.is_live(now, self.rules.media.ttl_seconds):
            raise ApiError(40007)
        if media_type is not None and item.type != media_type:
            raise ApiError(40007)
        return item

    def _check_media(self, outgoing: Outgoing, now: float) -> None:
        if outgoing.media is not None:
            self.live_media(outgoing.media[0], now, outgoing.media[1])

    # -- sending --------------------------------------------------------------------------------

    def custom_send(self, payload: Mapping[str, Any], now: float) -> InboxEntry:
        outgoing = parse_message(payload, CUSTOM_TYPES)
        self._check_media(outgoing, now)
        member = self.api_member(required_openid(payload))
        if not member.following:
            raise ApiError(45015)
        member.windows.use(now)
        return member.receive(now, "custom", outgoing.msgtype, outgoing.body)

    def template_send(self, payload: Mapping[str, Any], now: float) -> int:
        message = parse_template(payload)
        member = self.api_member(message.touser)
        if not member.following:
            raise ApiError(43004)
        msgid = self._ids.msg_id()
        status = "failed:user block" if member.blocks_templates else "success"
        if not member.blocks_templates:
            member.receive(now, "template", "template", message.as_payload(), ref=str(msgid))
        fields = pushes.template_finished(self.original_id, member.openid, now, msgid, status)
        self.outbox.append(PendingPush(member.openid, fields))
        return msgid

    def subscribe_send(self, payload: Mapping[str, Any], now: float) -> None:
        message: TemplateMessage = parse_template(payload)
        member = self.api_member(message.touser)
        consent = member.consents.get(message.template_id)
        if consent is None:
            raise ApiError(43101)
        if not consent.long_term:
            consent.credits -= 1
            if consent.credits <= 0:
                del member.consents[message.template_id]
        body = message.as_payload()
        page = payload.get("page")
        if isinstance(page, str) and page:
            body["page"] = page
        msg_id = self._ids.msg_id()
        member.receive(now, "subscribe", "subscribe", body, ref=str(msg_id))
        fields = pushes.subscribe_sent(self.original_id, member.openid, now, message.template_id, msg_id)
        self.outbox.append(PendingPush(member.openid, fields))

    def mass_send(self, payload: Mapping[str, Any], now: float) -> MassResult:
        audience = self._mass_audience(payload.get("filter"))
        outgoing = parse_message(payload, MASS_TYPES)
        self._check_media(outgoing, now)
        msg_id, msg_data_id = self._ids.msg_id() % 10**10, self._ids.msg_id() % 10**10
        sent: list[SimMember] = []
        skipped: list[str] = []
        for member in audience:
            if member.mass_received(now) >= self.rules.mass_monthly_limit:
                skipped.append(member.openid)
                continue
            member.count_mass(now)
            member.receive(now, "mass", outgoing.msgtype, outgoing.body, ref=str(msg_id))
            sent.append(member)
        fields = pushes.mass_finished(
            self.original_id, now, msg_id, total=len(audience), filtered=len(sent), sent=len(sent), errors=0
        )
        self.outbox.append(PendingPush(pushes.MASS_HELPER, fields))
        return MassResult(msg_id, msg_data_id, len(audience), len(sent), skipped)

    def _mass_audience(self, raw_filter: object) -> list[SimMember]:
        if not isinstance(raw_filter, Mapping):
            raise ApiError(44002)
        followers = [m for m in self.members.values() if m.following]
        if raw_filter.get("is_to_all") is True:
            return followers
        tag_id = raw_filter.get("tag_id")
        if isinstance(tag_id, str) and tag_id.isdigit():
            tag_id = int(tag_id)
        if not self.tags.exists(tag_id):
            raise ApiError(45159)
        return [m for m in followers if tag_id in m.tag_ids]

    # -- tags -----------------------------------------------------------------------------------

    def batch_members(self, payload: Mapping[str, Any]) -> list[SimMember]:
        openids = payload.get("openid_list")
        if not isinstance(openids, list) or not openids or len(openids) > self.rules.tags.per_batch:
            raise ApiError(40032)
        members = [self.api_member(o) if isinstance(o, str) else self.api_member("") for o in openids]
        if not all(m.following for m in members):
            raise ApiError(40003)
        return members

    # -- users ----------------------------------------------------------------------------------

    def followers_page(self, next_openid: str) -> dict[str, Any]:
        """``user/get``: followers in follow order, a page at a time, after ``next_openid``."""
        order = list(self.members)
        start = 0
        if next_openid:
            if next_openid not in self.members:
                raise ApiError(40003)
            start = order.index(next_openid) + 1
        followers = [o for o in order[start:] if self.members[o].following]
        page = followers[: self.rules.user_get_page_size]
        total = sum(1 for m in self.members.values() if m.following)
        if not page:
            return {"total": total, "count": 0, "next_openid": ""}
        return {"total": total, "count": len(page), "data": {"openid": page}, "next_openid": page[-1]}

    def users_info(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        listed = payload.get("user_list")
        if not isinstance(listed, list) or not listed or len(listed) > self.rules.batchget_limit:
            raise ApiError(40032)
        infos = []
        for item in listed:
            openid = item.get("openid") if isinstance(item, Mapping) else None
            infos.append(self.api_member(openid if isinstance(openid, str) else "").user_info())
        return infos
