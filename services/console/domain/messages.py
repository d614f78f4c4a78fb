"""Texts the pages look up at run time (section names, statuses), marked so the catalogs hold them."""

from __future__ import annotations

__all__ = ["N_", "STATUS_LABELS"]


def N_(message: str) -> str:
    return message


#: Status values the APIs return → the English label the catalogs translate.
STATUS_LABELS: dict[str, str] = {
    "draft": N_("draft"),
    "active": N_("active"),
    "paused": N_("paused"),
    "ended": N_("ended"),
    "archived": N_("archived"),
    "scheduled": N_("scheduled"),
    "sending": N_("sending"),
    "quota": N_("waiting for quota"),
    "waiting_quota": N_("waiting for quota"),
    "materializing": N_("preparing the audience"),
    "finished": N_("finished"),
    "queued": N_("queued"),
    "sent": N_("sent"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
    "failed": N_("failed"),
    "review": N_("in review"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "delivered": N_("delivered"),
    "skipped": N_("skipped"),
    "held": N_("held"),
    "credited": N_("credited"),
    "revoked": N_("revoked"),
    "refused": N_("refused"),
    "pending": N_("pending"),
    "following": N_("following"),
    "unfollowed": N_("unfollowed"),
}
