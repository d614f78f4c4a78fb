"""Held notices that fall back to a service-notice template (issue 21 item 4).

A campaign notice (progress, tier reached with its code, credit revoked) is a customer-service text:
it needs the member's window. One that meets a closed window is ``held`` until the member's next
interaction; where the account has a suitable service-notice template (configured per account,
``NOTICE_TEMPLATES``), a notice held for ``hold`` goes out as that template instead of waiting
indefinitely. Only these service notices fall back: marketing content is never sent as a template
message (WeChat forbids it; segments refuses a marketing push with a template, 422).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["FIELD_CHARS", "PLACEHOLDERS", "TEMPLATE_SENDING", "NoticeTemplate", "render_fields"]

_BEIJING = timezone(timedelta(hours=8))
#: What a field's text may name: the notice's text, its kind, the time it is sent (Beijing).
PLACEHOLDERS = frozenset({"notice", "kind", "time"})
#: The longest text a template's keyword field shows (WeChat's ``thing`` fields take 20 characters).
FIELD_CHARS = 20
#: The notice's status while its template is being sent (claimed: neither the sweep nor the member's
#: next interaction sends it again; a crash leaves it here, at most once).
TEMPLATE_SENDING = "template_sending"


@dataclass(frozen=True)
class NoticeTemplate:
    """The account's service-notice template: its id, each keyword field's text (with ``{notice}``,
    ``{kind}``, ``{time}``), an optional link, and how long a notice is held before it is used."""

    template_id: str
    fields: Mapping[str, str]
    hold: timedelta
    url: str | None = None


def render_fields(template: NoticeTemplate, text: str, kind: str, now: datetime) -> dict[str, str]:
    """The template's data for one notice, each field cut to what WeChat shows."""
    values = {"notice": text, "kind": kind, "time": now.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")}
    rendered = {}
    for name, pattern in template.fields.items():
        value = pattern.format_map(values)
        rendered[name] = value if len(value) <= FIELD_CHARS else value[: FIELD_CHARS - 1] + "…"
    return rendered
