"""Parametric QR codes: what ``qrcode/create`` accepts, and the tickets it hands out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.wechat_sim.domain.errors import ApiError

TEMPORARY = frozenset({"QR_SCENE", "QR_STR_SCENE"})
PERMANENT = frozenset({"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"})
MAX_EXPIRE_SECONDS = 2_592_000  # 30 days
MAX_PERMANENT_SCENE_ID = 100_000
MAX_TEMPORARY_SCENE_ID = 2**32 - 1
MAX_SCENE_STR = 64


@dataclass(frozen=True)
class QrRequest:
    action_name: str
    scene_id: int | None
    scene_str: str | None
    #: None for permanent codes
    expire_seconds: int | None

    @property
    def permanent(self) -> bool:
        return self.action_name in PERMANENT


def parse_qr_request(payload: Mapping[str, Any], *, default_expire_seconds: int) -> QrRequest:
    """Validate a ``qrcode/create`` body. ``expire_seconds`` above 30 days is cut to 30 days."""
    action = payload.get("action_name")
    if action not in TEMPORARY | PERMANENT:
        raise ApiError(40052)
    info = payload.get("action_info")
    scene = info.get("scene") if isinstance(info, Mapping) else None
    if not isinstance(scene, Mapping):
        raise ApiError(40053)
    scene_id: int | None = None
    scene_str: str | None = None
    if action in ("QR_SCENE", "QR_LIMIT_SCENE"):
        raw_id = scene.get("scene_id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, int):
            raise ApiError(40053)
        upper = MAX_PERMANENT_SCENE_ID if action == "QR_LIMIT_SCENE" else MAX_TEMPORARY_SCENE_ID
        if not 1 <= raw_id <= upper:
            raise ApiError(40053)
        scene_id = raw_id
    else:
        raw_str = scene.get("scene_str")
        if not isinstance(raw_str, str) or not 1 <= len(raw_str) <= MAX_SCENE_STR:
            raise ApiError(40053)
        scene_str = raw_str
    if action in PERMANENT:
        return QrRequest(action, scene_id, scene_str, None)
    expire = payload.get("expire_seconds", default_expire_seconds)
    if isinstance(expire, bool) or not isinstance(expire, int) or expire < 1:
        raise ApiError(40097)
    return QrRequest(action, scene_id, scene_str, min(expire, MAX_EXPIRE_SECONDS))


@dataclass(frozen=True)
class QrTicket:
    ticket: str
    #: What the QR image encodes (``http://weixin.qq.com/q/…``).
    url: str
    action_name: str
    scene_id: int | None
    scene_str: str | None
    created_at: float
    expires_at: float | None

    @property
    def scene(self) -> str:
        """The scene value as pushes carry it in EventKey."""
        return self.scene_str if self.scene_str is not None else str(self.scene_id)

    @property
    def permanent(self) -> bool:
        return self.expires_at is None

    def is_live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at

    def expires_in(self, now: float) -> int:
        return 0 if self.expires_at is None else max(0, int(self.expires_at - now))

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "url": self.url,
            "action_name": self.action_name,
            "scene": self.scene,
            "permanent": self.permanent,
            "expires_in": None if self.permanent else self.expires_in(now),
            "live": self.is_live(now),
        }
