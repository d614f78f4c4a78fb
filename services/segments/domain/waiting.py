"""Sends that wait for the window: a member outside the 48-hour window whose variant has only a
customer-service message is not skipped when the push waits (``Push.wait_for_window``); their delivery
record stays ``waiting`` until their next interaction opens the window (then the message goes) or the
wait runs out (``expired_waiting``). Pure rules; the use cases are in ``service_layer/waiting.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.segments.domain.pushes import Push, SkipReason

__all__ = ["EXPIRED_WAITING", "SENT_AFTER_WAIT", "WAITING", "waiting_fields"]

#: The delivery record's status while the member is waited for, and the push's counter of them now.
WAITING = "waiting"
#: Counters (``stats.total.<name>``, per variant too) of members sent to after waiting, and of waits
#: that ran out; ``waiting`` goes down by one for either.
SENT_AFTER_WAIT = "sent_after_wait"
EXPIRED_WAITING = "expired_waiting"


def waiting_fields(push: Push, reason: SkipReason, now: datetime) -> dict[str, Any] | None:
    """The delivery record's fields when a member skipped for ``reason`` waits instead; None when not."""
    if push.wait_for_window is None or push.broadcast or reason is not SkipReason.OUTSIDE_WINDOW:
        return None
    return {"status": WAITING, "wait_until": now + push.wait_for_window, "window_until": None}
