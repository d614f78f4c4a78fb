"""The push composer's form, read without I/O: the fields the page posts become the segments API's
push body (and a saved push becomes the form again), each content kind with the WeChat rule that
constrains it, and the texts of the eligibility steps, skip reasons and WeChat error codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any

from services.console.domain.formatting import BEIJING, parse_time
from services.console.domain.messages import N_

__all__ = [
    "ACTIVE",
    "BROADCAST_RULE",
    "CHANNEL_LABELS",
    "CS_KINDS",
    "ERRCODES",
    "FALLBACK_RULE",
    "KINDS",
    "KIND_LABELS",
    "KIND_RULES",
    "SKIP_REASONS",
    "STEP_LABELS",
    "PushForm",
    "VariantForm",
    "form_errors",
    "parse_data",
    "quiet_until",
]

#: Customer-service message kinds (inside the 48 h window); the others are template and subscription.
CS_KINDS = ("text", "image", "news")
KINDS = (*CS_KINDS, "template", "subscription")

KIND_LABELS = {
    "text": N_("Text"),
    "image": N_("Image"),
    "news": N_("Article card"),
    "template": N_("Template message"),
    "subscription": N_("Subscription message"),
}

#: WeChat's rule for each kind, shown beside the choice.
KIND_RULES = {
    "text": N_(
        "Customer-service message: only within 48 hours of the member's last interaction, at most 5 in that window."
    ),
    "image": N_(
        "Customer-service message: only within 48 hours of the member's last interaction, "
        "at most 5 in that window. The image is a media_id uploaded to WeChat."
    ),
    "news": N_(
        "Customer-service message: only within 48 hours of the member's last interaction, "
        "at most 5 in that window. One article card."
    ),
    "template": N_("Template message: for service notices only, never for marketing."),
    "subscription": N_("Subscription message: needs the member's one-time consent for this template."),
}

BROADCAST_RULE = N_(
    "Mass send by tag: each member receives at most 4 mass messages a month; text or image only, one variant."
)
FALLBACK_RULE = N_(
    "Members outside the 48-hour window get this instead: a template message (service notices only) "
    "or a subscription message (only with their one-time consent). Without one, they are skipped."
)

CHANNEL_LABELS = {
    "customer_service": N_("Customer-service message"),
    "template": N_("Template message"),
    "subscription": N_("Subscription message"),
    "mass": N_("Mass send"),
}

STEP_LABELS = {
    "in_segment": N_("In the segment"),
    "unknown_member": N_("No member profile"),
    "not_following": N_("Not following"),
    "no_consent": N_("No consent"),
    "capped": N_("Frequency cap reached"),
    "mass_budget": N_("Monthly mass quota used"),
    "outside_window": N_("Outside the 48 h window"),
    "no_subscription_consent": N_("No subscription consent"),
    "template_fallback": N_("Template instead (fallback)"),
    "will_receive": N_("Will receive"),
}

SKIP_REASONS = {
    "unfollowed": N_("Not following"),
    "no_consent": N_("No consent"),
    "frequency_cap": N_("Frequency cap reached"),
    "outside_window": N_("Outside the 48 h window"),
    "unknown_member": N_("No member profile"),
    "mass_budget": N_("Monthly mass quota used"),
    "no_subscription_consent": N_("No subscription consent"),
}

#: WeChat error codes a send or test send may meet (the push page has the API's own texts as well).
ERRCODES = {
    "45015": N_("The 48-hour interaction window has closed."),
    "45047": N_("Too many customer-service messages since the member's last interaction."),
    "43004": N_("The member does not follow the account."),
    "43101": N_("The member has not subscribed to this message."),
    "40003": N_("Invalid openid (not a member of this account)."),
    "40037": N_("Invalid template_id."),
    "45009": N_("The API's daily quota is used up."),
    "40007": N_("Invalid media_id."),
}

#: Push statuses in which the push page refreshes itself.
ACTIVE = frozenset({"scheduled", "materializing", "sending", "waiting_quota"})

#: A new variant's name: A, B, C...
_NAMES = "ABCDEFGHIJ"


def parse_data(text: str) -> dict[str, str]:
    """Template fields, one per line, ``keyword1: value`` (or ``=``)."""
    data: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        cut = min((i for i in (line.find(":"), line.find("="), line.find("：")) if i > 0), default=-1)
        key, value = (line[:cut], line[cut + 1 :]) if cut > 0 else (line, "")
        data[key.strip()] = value.strip()
    return data


def _data_text(data: Mapping[str, Any] | None) -> str:
    lines = []
    for key, value in (data or {}).items():
        lines.append(f"{key}: {value.get('value', '') if isinstance(value, Mapping) else value}")
    return "\n".join(lines)


@dataclass
class VariantForm:
    name: str = "A"
    weight: str = "1"
    kind: str = "text"
    text: str = ""
    media_id: str = ""
    title: str = ""
    url: str = ""
    description: str = ""
    picurl: str = ""
    #: The template or subscription message (the kind's own, or a text's fallback).
    template_id: str = ""
    data: str = ""
    link: str = ""
    page: str = ""
    #: A customer-service message's stand-in outside the 48 h window: "", "template" or "subscription".
    fallback: str = ""

    @property
    def cs(self) -> bool:
        return self.kind in CS_KINDS

    def sends(self, kind: str) -> bool:
        """Whether the variant carries ``kind`` (template, subscription): as its content or as the fallback."""
        return self.kind == kind or (self.cs and self.fallback == kind)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name.strip() or "A", "weight": _int(self.weight, 1)}
        if self.cs:
            message: dict[str, Any] = {"kind": self.kind}
            if self.kind == "text":
                message["text"] = self.text
            elif self.kind == "image":
                message["media_id"] = self.media_id.strip()
            else:
                article = {"title": self.title, "url": self.url.strip(), "description": self.description}
                message["articles"] = [article | {"picurl": self.picurl.strip()}]
            out["message"] = message
        if self.sends("template"):
            out["template"] = {
                "template_id": self.template_id.strip(),
                "data": parse_data(self.data),
                "url": self.link.strip(),
            }
        if self.sends("subscription"):
            out["subscription"] = {
                "template_id": self.template_id.strip(),
                "data": parse_data(self.data),
                "page": self.page.strip(),
            }
        return out

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> VariantForm:
        message, template, subscription = doc.get("message"), doc.get("template"), doc.get("subscription")
        form = cls(name=str(doc.get("name", "A")), weight=str(doc.get("weight", 1)))
        if message:
            article = (message.get("articles") or [{}])[0]
            form = replace(
                form,
                kind=message.get("kind", "text"),
                text=message.get("text", ""),
                media_id=message.get("media_id", ""),
                title=article.get("title", ""),
                url=article.get("url", ""),
                description=article.get("description", ""),
                picurl=article.get("picurl", ""),
            )
        if template:
            form = replace(
                form,
                kind=form.kind if message else "template",
                fallback="template" if message else "",
                template_id=template.get("template_id", ""),
                data=_data_text(template.get("data")),
                link=template.get("url", ""),
            )
        elif subscription:
            form = replace(
                form,
                kind=form.kind if message else "subscription",
                fallback="subscription" if message else "",
                template_id=subscription.get("template_id", ""),
                data=_data_text(subscription.get("data")),
                page=subscription.get("page", ""),
            )
        return form


@dataclass
class PushForm:
    name: str = ""
    segment_id: str = ""
    variants: list[VariantForm] = field(default_factory=lambda: [VariantForm()])
    #: "now" or "at" (``send_at``, Beijing wall-clock time as the datetime-local input gives it).
    when: str = "now"
    send_at: str = ""
    #: "default" (the service's), "custom" (``quiet_start``-``quiet_end``) or "none".
    quiet: str = "default"
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    per_day: str = ""
    per_week: str = ""
    broadcast: bool = False
    #: The brand project the push counts for (its deliveries go to the project's target); "" for none.
    project_id: str = ""
    #: The draft's version being edited (the edit page).
    version: str = ""

    @classmethod
    def parse(cls, items: Sequence[tuple[str, str]]) -> PushForm:
        """The posted fields (``v-0-text``... per variant, in index order)."""
        fields: dict[str, str] = {}
        variants: dict[int, dict[str, str]] = {}
        for key, value in items:
            if key.startswith("v-"):
                _, index, name = key.split("-", 2) if key.count("-") >= 2 else ("", "", "")
                if index.isdigit():
                    variants.setdefault(int(index), {})[name] = value
            else:
                fields.setdefault(key, value)
        forms = []
        for position in sorted(variants):
            raw = variants[position]
            names = VariantForm.__dataclass_fields__
            known = {k: v for k, v in raw.items() if k in names and k != "fallback"}
            form = VariantForm(**known, fallback=_fallback(raw.get("fallback", "")))
            if form.kind not in KINDS:
                form.kind = "text"
            forms.append(form)
        return cls(
            name=fields.get("name", "").strip(),
            segment_id=fields.get("segment_id", ""),
            variants=forms or [VariantForm()],
            when="at" if fields.get("when") == "at" else "now",
            send_at=fields.get("send_at", ""),
            quiet=fields.get("quiet", "default") if fields.get("quiet") in ("default", "custom", "none") else "default",
            quiet_start=fields.get("quiet_start", "22:00"),
            quiet_end=fields.get("quiet_end", "08:00"),
            per_day=fields.get("per_day", "").strip(),
            per_week=fields.get("per_week", "").strip(),
            broadcast=fields.get("broadcast") in ("1", "on", "true"),
            project_id=fields.get("project_id", "").strip(),
            version=fields.get("version", ""),
        )

    @classmethod
    def of(cls, push: Mapping[str, Any]) -> PushForm:
        """A saved push (a draft being edited) as the form shows it."""
        quiet = push.get("quiet_hours")
        cap = push.get("cap") or {}
        send_at = parse_time(push.get("send_at"))
        return cls(
            name=str(push.get("name", "")),
            segment_id=str(push.get("segment_id", "")),
            variants=[VariantForm.of(v) for v in push.get("variants") or []] or [VariantForm()],
            when="at" if send_at else "now",
            send_at=send_at.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M") if send_at else "",
            quiet="custom" if quiet else "none",
            quiet_start=str((quiet or {}).get("start", "22:00"))[:5],
            quiet_end=str((quiet or {}).get("end", "08:00"))[:5],
            per_day=str(cap.get("per_day", "")),
            per_week=str(cap.get("per_week", "")),
            broadcast=bool(push.get("broadcast")),
            project_id=str(push.get("project_id") or ""),
            version=str(push.get("version", "")),
        )

    def send_time(self) -> datetime | None:
        """The Beijing time chosen, as an aware datetime (None: now, or not a time)."""
        if self.when != "at" or not self.send_at:
            return None
        try:
            return datetime.fromisoformat(self.send_at).replace(tzinfo=BEIJING)
        except ValueError:
            return None

    def body(self, *, draft: bool) -> dict[str, Any]:
        """The segments API's push body (``PushIn``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "segment_id": self.segment_id,
            "variants": [v.body() for v in self.variants],
            "broadcast": self.broadcast,
            "draft": draft,
        }
        moment = self.send_time()
        if self.when == "at":
            # An unreadable time goes as written: the API names the field.
            out["send_at"] = moment.isoformat() if moment else (self.send_at or None)
        if self.quiet == "custom":
            out["quiet_hours"] = {"start": self.quiet_start, "end": self.quiet_end}
        elif self.quiet == "none":
            out["quiet_hours"] = None
        if self.per_day or self.per_week:
            out["cap"] = {"per_day": _int(self.per_day, 1), "per_week": _int(self.per_week, 3)}
        if self.project_id:
            out["project_id"] = self.project_id
        return out

    def patch(self) -> dict[str, Any]:
        """A draft's edit: every composed field (a PATCH replaces those given)."""
        out = self.body(draft=True)
        del out["draft"]
        out.setdefault("send_at", None)
        out.setdefault("quiet_hours", "default")
        out.setdefault("project_id", None)  # no project chosen: the draft's link is removed
        return out

    def shares(self) -> list[int | None]:
        """Each variant's share of the members in percent (None while a weight is not a number)."""
        weights = [_int(v.weight, 1) for v in self.variants]
        if not all(isinstance(w, int) and w > 0 for w in weights):
            return [None] * len(weights)
        total = sum(int(w) for w in weights)
        return [round(100 * int(w) / total) for w in weights]

    def add_variant(self) -> None:
        if len(self.variants) >= len(_NAMES):
            return
        taken = {v.name for v in self.variants}
        name = next(n for n in _NAMES if n not in taken)
        self.variants.append(VariantForm(name=name))

    def remove_variant(self, index: int) -> None:
        if len(self.variants) > 1 and 0 <= index < len(self.variants):
            del self.variants[index]


def _fallback(value: str) -> str:
    """The fallback field: a select (template, subscription) or a checkbox (a template)."""
    if value in ("template", "subscription"):
        return value
    return "template" if value in ("1", "on", "true") else ""


def _int(text: str, default: int) -> int | str:
    """A number as the API takes it; anything else goes as written, for the API to name."""
    text = text.strip()
    if not text:
        return default
    return int(text) if text.lstrip("-").isdigit() else text


def form_errors(fields: Mapping[str, str]) -> dict[str, str]:
    """The API's field errors (``variants.0.message.text``) keyed as the form shows them: top-level
    fields by name, each variant's under ``v-<index>``."""
    out: dict[str, str] = {}
    for where, message in fields.items():
        parts = where.split(".")
        if parts[0] == "variants" and len(parts) > 1 and parts[1].isdigit():
            rest = ".".join(parts[2:])
            key = f"v-{parts[1]}"
            text = f"{rest}: {message}" if rest else message
            out[key] = f"{out[key]}; {text}" if key in out else text
        else:
            out.setdefault(parts[0], message)
    return out


def quiet_until(quiet_hours: Mapping[str, str] | None, now: datetime) -> str | None:
    """When ``now`` falls in the quiet hours (Beijing, possibly across midnight), the time they end."""
    if not quiet_hours:
        return None
    try:
        start, end = time.fromisoformat(quiet_hours["start"]), time.fromisoformat(quiet_hours["end"])
    except (KeyError, ValueError):
        return None
    clock = now.astimezone(BEIJING).time()
    inside = start <= clock < end if start <= end else (clock >= start or clock < end)
    return end.strftime("%H:%M") if inside else None
