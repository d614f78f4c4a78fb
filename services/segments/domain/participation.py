"""Campaign participation as segments know it: each participant's latest standing, from events.

Campaigns announce a participant's standing after every change (a join, a credit, a revocation), but
announcements from different workers may arrive out of order. ``revision`` counts the changes, so the
standing with the greater revision is the newer one; an equal revision is the same standing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Standing"]


@dataclass(frozen=True)
class Standing:
    """A member's participation in one campaign: invites credited to them there, as of ``revision``."""

    appid: str
    openid: str
    campaign_id: str
    credited: int
    revision: int
    occurred_at: datetime

    def supersedes(self, kept: Standing | None) -> bool:
        """Whether this standing replaces ``kept`` (None: nothing kept yet). Never a step back."""
        if kept is None:
            return True
        return (self.revision, self.occurred_at) > (kept.revision, kept.occurred_at)
