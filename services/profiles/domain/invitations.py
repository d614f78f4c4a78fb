"""H5 invitations that could not go out when the member followed, kept for their next interaction.

The invitation to the interest page is a customer-service message: it needs the window a member's own
action opens (a follow allows 3 messages within a minute; a message, click or scan 5 within 48 hours).
A worker that lagged behind a follow meets 45015 (window closed) or 45047 (its messages used up): the
invitation is then *held*, one per member, and goes out with the member's next interaction, which
opens a new window, as campaign notices do. A held invitation older than :data:`HOLD_FOR` is dropped
when met: a member who answers weeks later gets no welcome for a follow they forgot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["HOLD_FOR", "HeldInvitation"]

HOLD_FOR = timedelta(days=30)


@dataclass(frozen=True)
class HeldInvitation:
    appid: str
    openid: str
    #: When it was first held (kept across later attempts).
    held_at: datetime
    #: Why the last attempt did not go out (the platform's errcode and message).
    reason: str
    attempts: int = 1

    def expired(self, now: datetime) -> bool:
        return now - self.held_at > HOLD_FOR

    def again(self, reason: str) -> HeldInvitation:
        """Still held after another attempt."""
        return HeldInvitation(self.appid, self.openid, self.held_at, reason, self.attempts + 1)
