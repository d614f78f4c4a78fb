"""Customer-service windows: when the account may write to a member, and how often.

A member's message opens a window of ``message_rule`` (5 messages within 48 h); a follow, QR scan or
menu click opens one of ``event_rule`` (3 within 1 minute). A new interaction of the same kind opens a
fresh window with a fresh count. A send uses the open window that closes first; with no open window
the platform answers 45015, with open but used-up windows 45047. Unfollowing closes everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.wechat_sim.domain.errors import ApiError


@dataclass(frozen=True)
class WindowRule:
    messages: int
    seconds: float


@dataclass
class Window:
    opened_at: float
    rule: WindowRule
    used: int = 0

    @property
    def closes_at(self) -> float:
        return self.opened_at + self.rule.seconds

    def is_open(self, now: float) -> bool:
        return self.opened_at <= now < self.closes_at

    @property
    def left(self) -> int:
        return max(0, self.rule.messages - self.used)


class ServiceWindows:
    def __init__(self, message_rule: WindowRule, event_rule: WindowRule) -> None:
        self._message_rule = message_rule
        self._event_rule = event_rule
        self._after_message: Window | None = None
        self._after_event: Window | None = None

    def member_wrote(self, now: float) -> None:
        self._after_message = Window(now, self._message_rule)

    def member_interacted(self, now: float) -> None:
        """Follow, QR scan or a menu click."""
        self._after_event = Window(now, self._event_rule)

    def close(self) -> None:
        self._after_message = self._after_event = None

    def use(self, now: float) -> Window:
        """Count one customer-service message, or raise 45015 / 45047."""
        open_windows = [w for w in (self._after_message, self._after_event) if w is not None and w.is_open(now)]
        if not open_windows:
            raise ApiError(45015)
        usable = [w for w in open_windows if w.left > 0]
        if not usable:
            raise ApiError(45047)
        window = min(usable, key=lambda w: w.closes_at)
        window.used += 1
        return window

    def describe(self, now: float) -> list[dict[str, float | int | str]]:
        windows = (("message", self._after_message), ("event", self._after_event))
        return [
            {"kind": kind, "opened_at": w.opened_at, "closes_at": w.closes_at, "left": w.left}
            for kind, w in windows
            if w is not None and w.is_open(now)
        ]
