"""Administration without I/O: what roles and permissions are called and hold, how an audit entry's
before/after reads as a diff, Beijing wall-clock filters turned into UTC, and the CSV export's rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.console.domain.formatting import BEIJING, beijing
from services.console.domain.messages import N_
from shared.identity import ROLE_PERMISSIONS, Permission, Role
from shared.tabular import csv_text

__all__ = [
    "AUDIT_CSV_HEADER",
    "AUDIT_FILTERS",
    "NOTICES",
    "PERMISSION_LABELS",
    "ROLE_LABELS",
    "Change",
    "audit_csv",
    "beijing_to_utc",
    "changes",
    "permission_matrix",
    "role_permissions",
]

ROLE_LABELS: dict[str, str] = {
    Role.ADMIN.value: N_("Administrator"),
    Role.CAMPAIGN_OPERATOR.value: N_("Campaign operator"),
    Role.REVIEWER.value: N_("Reviewer"),
    Role.PROJECT_MANAGER.value: N_("Project manager"),
    Role.ANALYST.value: N_("Analyst"),
    Role.ACCOUNT_MANAGER.value: N_("Account manager"),
    Role.SALES_HEAD.value: N_("Sales head"),
}

PERMISSION_LABELS: dict[str, str] = {
    Permission.CAMPAIGN_VIEW.value: N_("View campaigns"),
    Permission.CAMPAIGN_EDIT.value: N_("Edit campaigns"),
    Permission.CAMPAIGN_LAUNCH.value: N_("Launch, pause and end campaigns"),
    Permission.REVIEW_DECIDE.value: N_("Decide screenshot reviews"),
    Permission.MEMBER_VIEW.value: N_("View members (personal data masked)"),
    Permission.MEMBER_REVEAL_PII.value: N_("Reveal members' personal data (audited)"),
    Permission.MEMBER_EXPORT.value: N_("Export member lists"),
    Permission.PROFILE_EDIT.value: N_("Edit member tags"),
    Permission.SEGMENT_VIEW.value: N_("View segments"),
    Permission.SEGMENT_EDIT.value: N_("Edit segments"),
    Permission.PUSH_VIEW.value: N_("View pushes"),
    Permission.PUSH_COMPOSE.value: N_("Compose pushes"),
    Permission.PUSH_SEND.value: N_("Send pushes"),
    Permission.STATS_VIEW.value: N_("View statistics"),
    Permission.OPERATOR_MANAGE.value: N_("Manage operators and sessions"),
    Permission.AUDIT_VIEW.value: N_("Read the audit log"),
    Permission.TOKEN_MANAGE.value: N_("Manage API tokens"),
    Permission.BRAND_VIEW.value: N_("View brands, projects and the business view"),
    Permission.BRAND_EDIT.value: N_("Edit brands, projects, deals and payments"),
    Permission.BRAND_ASSIGN.value: N_("Hand brands over to another manager"),
    Permission.SCREENSHOT_EXPORT.value: N_("Export reviewed screenshots with their labels"),
    Permission.MEMBER_ERASE.value: N_("Erase a member's personal data (irreversible, audited)"),
}

#: The audit page's filters, as the URL names them (the identity API's names, times in Beijing).
AUDIT_FILTERS = ("actor_id", "appid", "action", "object_type", "object_id", "since", "until")


def role_permissions(role: Role) -> list[str]:
    """A role's permissions in the table's order (the enum's)."""
    return [p.value for p in Permission if p in ROLE_PERMISSIONS[role]]


def permission_matrix() -> list[tuple[str, list[bool]]]:
    """One row per permission, one column per role (in ``Role`` order): who holds what."""
    return [(p.value, [p in ROLE_PERMISSIONS[r] for r in Role]) for p in Permission]


def beijing_to_utc(value: str | None) -> datetime | None:
    """A ``datetime-local`` value typed in Beijing time (``2026-12-04T09:30``) as an aware UTC time.

    An explicit offset in the text wins; unreadable text is None (the page says so)."""
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Change:
    key: str
    #: "added", "removed" or "changed".
    kind: str
    old: str
    new: str


def _flatten(value: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in (value or {}).items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            flat.update(_flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def _show(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """The keys an entry changed (nested keys dotted), each with its old → new value; equal keys are left out."""
    old, new = _flatten(before), _flatten(after)
    found = []
    for key in sorted(set(old) | set(new)):
        if key in old and key in new:
            if old[key] != new[key]:
                found.append(Change(key, "changed", _show(old[key]), _show(new[key])))
        elif key in new:
            found.append(Change(key, "added", "", _show(new[key])))
        else:
            found.append(Change(key, "removed", _show(old[key]), ""))
    return found


def _cell(value: Any) -> object:
    """A before/after (a mapping or a list) as its JSON; text and numbers as they are, for csv_text to
    write (text that would start a formula is quoted there)."""
    return _show(value) if isinstance(value, Mapping | list) else value


AUDIT_CSV_HEADER: Sequence[str] = (
    "time_beijing",
    "time_utc",
    "actor_name",
    "actor_id",
    "credential_id",
    "appid",
    "action",
    "object_type",
    "object_id",
    "address",
    "request_id",
    "before",
    "after",
)
#: The entry's field under each header after ``time_beijing``.
_AUDIT_FIELDS = ("at", *AUDIT_CSV_HEADER[2:])


def audit_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    """The entries as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese names). Names,
    ids and diffs are what people typed: none of them ever runs as a formula."""
    rows: list[list[object]] = [list(AUDIT_CSV_HEADER)]
    for entry in entries:
        rows.append([beijing(entry.get("at"), "%Y-%m-%d %H:%M:%S"), *(_cell(entry.get(f)) for f in _AUDIT_FIELDS)])
    return csv_text(rows)


#: What a page says after a write it was redirected from (``?done=<key>``: only these keys show anything).
NOTICES: dict[str, str] = {
    "operator_created": N_("Operator created."),
    "operator_disabled": N_("Operator disabled: their sessions have ended and their tokens stopped working."),
    "operator_enabled": N_("Operator enabled again."),
    "grant_added": N_("Role granted."),
    "grant_removed": N_("Role taken away."),
    "token_revoked": N_("Token revoked: it stops working at once, everywhere."),
    "session_ended": N_("Session ended."),
}
