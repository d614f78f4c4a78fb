"""The campaign pages' rules that need no I/O: the wizard's steps, Beijing wall-clock times to UTC,
the forms' text lists, edits as the fields that changed, and the live page's labels."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.domain.formatting import BEIJING, parse_time
from services.console.domain.messages import N_

__all__ = [
    "FUNNEL_STEPS",
    "JOINED_VIA",
    "MAX_TIERS",
    "MIN_QR_SIZE",
    "REJECTIONS",
    "SLOT_LABELS",
    "SLOT_NAMES",
    "STEPS",
    "STEP_KEYS",
    "Step",
    "changed",
    "default_dates",
    "from_beijing_input",
    "lines",
    "step_of_field",
    "step_of_problem",
    "to_beijing_input",
    "warnings_fingerprint",
]


@dataclass(frozen=True)
class Step:
    key: str
    #: English message id; the catalogs translate it.
    label: str


#: The wizard, in order. Each step saves the campaign (a PATCH with its version) before the next.
STEPS: tuple[Step, ...] = (
    Step("basics", N_("Basics")),
    Step("poster", N_("Poster")),
    Step("tiers", N_("Tiers and texts")),
    Step("pools", N_("Coupon codes")),
    Step("rules", N_("Rules")),
    Step("compliance", N_("Wording check")),
    Step("review", N_("Review and activate")),
)
STEP_KEYS = tuple(step.key for step in STEPS)

#: The campaigns API's own limits, repeated so the forms can say them before the API refuses.
MIN_QR_SIZE = 64
MAX_TIERS = 10
SLOT_NAMES: tuple[str, ...] = ("nickname", "campaign_name", "ends_on")
SLOT_LABELS = {
    "nickname": N_("Member's nickname"),
    "campaign_name": N_("Campaign name"),
    "ends_on": N_("End date"),
}

#: The referral funnel's steps as the stats name them → their labels.
FUNNEL_STEPS: dict[str, str] = {
    "poster_sent": N_("Poster sent"),
    "scanned": N_("Scanned"),
    "followed": N_("Followed"),
    "credited": N_("Credited"),
    "reached_tier": N_("Reached a tier"),
    "rewarded": N_("Rewarded"),
}

#: Why a follow earned no credit (the API's rule names) → labels.
REJECTIONS: dict[str, str] = {
    "campaign_not_running": N_("Campaign not running"),
    "self_invite": N_("Self-invite"),
    "not_a_new_follower": N_("Not a new follower"),
    "already_invited": N_("Already invited by someone else"),
    "inviter_blacklisted": N_("Inviter blacklisted"),
    "invitee_blacklisted": N_("Invitee blacklisted"),
    "daily_cap_reached": N_("Inviter's daily cap reached"),
    "existing_follower_scan": N_("Existing follower scanned"),
}

JOINED_VIA: dict[str, str] = {
    "campaign_qr": N_("Campaign QR code"),
    "referral": N_("A friend's poster"),
    "keyword": N_("Keyword"),
    "menu": N_("Menu"),
}

#: Which wizard step edits a field the wording check flags.
_FIELD_STEPS = {"name": "basics", "reward_basis": "rules", "share_screenshot_task": "rules", "share_payout": "rules"}
_SHARE_TEXTS = frozenset({"share_approved", "share_rejected", "share_review"})


def step_of_field(field: str) -> str:
    if field.startswith("messages."):
        return "rules" if field.removeprefix("messages.") in _SHARE_TEXTS else "tiers"
    return _FIELD_STEPS.get(field, "basics")


def step_of_problem(field: str) -> str:
    """The wizard step that fixes what the campaigns API's activation check names (``tiers.0.pool``:
    an empty pool is filled on the codes step; ``tiers``: a tier is added on the tiers step)."""
    if field == "template":
        return "poster"
    if field.endswith(".pool") or field == "share_reward_pool":
        return "pools"
    if field.startswith("tiers"):
        return "tiers"
    if field == "status":
        return "review"
    if field.startswith("messages.") or field in _FIELD_STEPS:  # wording the compliance check flags
        return step_of_field(field)
    return "basics"  # dates, join keywords and menu keys


def from_beijing_input(text: str) -> datetime | None:
    """A ``datetime-local`` value, read as Beijing wall-clock time, in UTC (None if not a time)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)


def to_beijing_input(value: str | datetime | None) -> str:
    """The value a ``datetime-local`` input shows for a stored time (Beijing, to the minute)."""
    moment = parse_time(value)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M") if moment else ""


def default_dates(now: datetime, days: int = 14) -> tuple[str, str]:
    """A new campaign's suggested dates: from the next full hour (Beijing time) for ``days`` days."""
    start = now.astimezone(BEIJING).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return to_beijing_input(start), to_beijing_input(start + timedelta(days=days))


def lines(text: str) -> list[str]:
    """One item a line (commas too), trimmed, blanks and repeats left out, order kept."""
    found: list[str] = []
    for line in text.replace("，", ",").replace(",", "\n").splitlines():
        item = line.strip()
        if item and item not in found:
            found.append(item)
    return found


def changed(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``wanted`` that differs from ``current`` (one level into objects: the API patches
    ``messages`` and ``rules`` field by field). An active campaign refuses changes to most fields but
    accepts them unchanged, so sending only what changed keeps the form usable there."""
    diff: dict[str, Any] = {}
    for name, value in wanted.items():
        before = current.get(name)
        if isinstance(value, Mapping) and isinstance(before, Mapping) and name in ("messages", "rules"):
            inner = {k: v for k, v in value.items() if before.get(k) != v}
            if inner:
                diff[name] = inner
        elif not _same(before, value):
            diff[name] = value
    return diff


def _same(before: Any, after: Any) -> bool:
    if isinstance(after, datetime) or (isinstance(after, str) and isinstance(before, str) and "T" in after):
        first, second = parse_time(before), parse_time(after)
        if first is not None and second is not None:
            return first == second
    return bool(before == after)


def warnings_fingerprint(flags: Iterable[Mapping[str, Any]]) -> str:
    """Names the warnings an operator acknowledged: texts changed since give another fingerprint, so
    acknowledging them once does not cover new wording."""
    warned = sorted(f"{f.get('field')}|{f.get('phrase')}|{f.get('rule')}" for f in flags if f.get("severity") == "warn")
    if not warned:
        return ""
    return hashlib.sha256("\n".join(warned).encode()).hexdigest()[:16]
