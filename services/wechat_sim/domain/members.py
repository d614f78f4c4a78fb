"""Simulated members: follow state, tags, windows, consents, and the inbox of what they received."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from services.wechat_sim.domain.calendar import platform_month
from services.wechat_sim.domain.qrcodes import QrTicket
from services.wechat_sim.domain.windows import ServiceWindows

#: How a message reached the member.
Channel = Literal["custom", "template", "subscribe", "mass", "passive", "platform"]

#: What WeChat shows a member when the account's server did not answer properly (reference §4).
SERVICE_UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"


@dataclass(frozen=True)
class InboxEntry:
    seq: int
    at: int
    channel: Channel
    msgtype: str
    payload: dict[str, Any]
    #: msgid / mass msg_id / the push's MsgId, when there is one
    ref: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "channel": self.channel,
            "msgtype": self.msgtype,
            "payload": self.payload,
            "ref": self.ref,
        }


@dataclass
class Consent:
    """Permission to send subscription notices: one per accepted popup (one-time; accepts add up) or
    any number (long-term)."""

    template_id: str
    long_term: bool
    granted_at: float
    #: One-time notices still allowed (each accepted popup adds one, each notice sent takes one).
    credits: int = 1


@dataclass
class SimMember:
    openid: str
    windows: ServiceWindows
    following: bool = False
    subscribe_time: int | None = None
    subscribe_scene: str = "ADD_SCENE_OTHERS"
    qr_scene: int = 0
    qr_scene_str: str = ""
    remark: str = ""
    tag_ids: list[int] = field(default_factory=list)
    inbox: list[InboxEntry] = field(default_factory=list)
    consents: dict[str, Consent] = field(default_factory=dict)
    #: The member refuses template messages: TEMPLATESENDJOBFINISH reports ``failed:user block``.
    blocks_templates: bool = False
    _mass_by_month: dict[tuple[int, int], int] = field(default_factory=dict)

    def follow(self, now: float, *, subscribe_scene: str, ticket: QrTicket | None) -> None:
        self.following = True
        self.subscribe_time = int(now)
        self.subscribe_scene, self.qr_scene, self.qr_scene_str = subscribe_scene, 0, ""
        if ticket is not None:
            self.subscribe_scene = "ADD_SCENE_QR_CODE"
            self.qr_scene = ticket.scene_id or 0
            self.qr_scene_str = ticket.scene_str or ""
        self.windows.member_interacted(now)

    def unfollow(self) -> None:
        """The platform forgets tags and remark with the follow; windows close."""
        self.following = False
        self.tag_ids.clear()
        self.remark = ""
        self.windows.close()

    def receive(
        self, now: float, channel: Channel, msgtype: str, payload: dict[str, Any], ref: str | None = None
    ) -> InboxEntry:
        entry = InboxEntry(len(self.inbox) + 1, int(now), channel, msgtype, payload, ref)
        self.inbox.append(entry)
        return entry

    def mass_received(self, now: float) -> int:
        return self._mass_by_month.get(platform_month(now), 0)

    def count_mass(self, now: float) -> None:
        month = platform_month(now)
        self._mass_by_month[month] = self._mass_by_month.get(month, 0) + 1

    def user_info(self) -> dict[str, Any]:
        """``user/info`` as the platform answers it since 2021-12-27: no nickname, avatar, sex or region."""
        if not self.following:
            return {"subscribe": 0, "openid": self.openid}
        return {
            "subscribe": 1,
            "openid": self.openid,
            "subscribe_time": self.subscribe_time,
            "remark": self.remark,
            "groupid": 0,
            "tagid_list": list(self.tag_ids),
            "subscribe_scene": self.subscribe_scene,
            "qr_scene": self.qr_scene,
            "qr_scene_str": self.qr_scene_str,
        }

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "openid": self.openid,
            "following": self.following,
            "subscribe_time": self.subscribe_time,
            "subscribe_scene": self.subscribe_scene,
            "qr_scene": self.qr_scene,
            "qr_scene_str": self.qr_scene_str,
            "tag_ids": list(self.tag_ids),
            "windows": self.windows.describe(now),
            "mass_this_month": self.mass_received(now),
            "consents": [
                {
                    "template_id": c.template_id,
                    "long_term": c.long_term,
                    "granted_at": c.granted_at,
                    "credits": c.credits,
                }
                for c in self.consents.values()
            ],
            "blocks_templates": self.blocks_templates,
            "inbox_size": len(self.inbox),
        }
