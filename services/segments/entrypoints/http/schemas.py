"""The segments API's request and response bodies, and their translation to and from the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator, model_validator

from services.segments.domain.membership import Reach
from services.segments.domain.pushes import (
    Article,
    FrequencyCap,
    MessageContent,
    PushInvalid,
    PushStatus,
    QuietHours,
    SubscriptionContent,
    TemplateContent,
    Variant,
    check_marketing,
    check_variants,
    effective_send_at,
)
from services.segments.domain.rules import Explanation
from services.segments.service_layer.reports import report_of
from services.segments.service_layer.segments import Preview, RuleSummary, SegmentView
from shared.web import UtcConvertible

__all__ = [
    "ID_PATTERN",
    "ArticleIn",
    "CapIn",
    "ExplainOut",
    "ExplanationOut",
    "MessageIn",
    "PreviewIn",
    "PreviewOut",
    "PushIn",
    "PushOut",
    "PushPatch",
    "PushUse",
    "QuietHoursIn",
    "ReachOut",
    "SegmentIn",
    "SegmentOut",
    "SubscriptionIn",
    "Summary",
    "TemplateIn",
    "TesterIn",
    "TestersIn",
    "VariantIn",
    "VersionOut",
]

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
Name = Annotated[str, Field(min_length=1, max_length=100)]
#: A brand project's id (the brands service's; not looked up here).
ProjectId = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=ID_PATTERN, description="The brand project the push counts for"),
]


# -- segments -----------------------------------------------------------------------------------------


class SegmentIn(BaseModel):
    name: Name
    description: Annotated[str, Field(max_length=1000)] = ""
    rule: dict[str, Any] = Field(description='A rule tree, e.g. {"all": [{"stage_in": ["pregnancy.late"]}, ...]}')


class PreviewIn(BaseModel):
    rule: dict[str, Any]
    sample: Annotated[int, Field(ge=0, le=200)] = 20


class Summary(BaseModel):
    en: str
    zh: str

    @classmethod
    def of(cls, summary: RuleSummary) -> Summary:
        return cls(en=summary.en, zh=summary.zh)


class ReachOut(BaseModel):
    """Of the members selected, whom a push could send to now; the rest it skips, by reason."""

    matching: int = Field(description="Members the rule selects (the size)")
    reachable: int = Field(description="Of them, following now with marketing consent")
    skipped: int = Field(description="Of them, the ones a push would skip: not_following + no_consent")
    not_following: int = Field(description="Skipped as unfollowed")
    no_consent: int = Field(description="Following, but skipped without marketing consent")

    @classmethod
    def of(cls, reach: Reach) -> ReachOut:
        return cls(
            matching=reach.matching,
            reachable=reach.reachable,
            skipped=reach.skipped,
            not_following=reach.not_following,
            no_consent=reach.no_consent,
        )


class PreviewOut(BaseModel):
    size: int = Field(description="Members of the account the rule selects now")
    sample: list[str] = Field(description="Openids of the first members selected")
    summary: Summary
    took_ms: float
    reach: ReachOut | None = Field(
        default=None,
        description="Of size, whom a push could reach (following, marketing consent) and whom it would skip. "
        "Frequency caps and the 48-hour window are decided at send time: see a push's eligibility",
    )

    @classmethod
    def of(cls, preview: Preview) -> PreviewOut:
        summary = Summary.of(preview.summary)
        reach = None if preview.reach is None else ReachOut.of(preview.reach)
        return cls(size=preview.size, sample=preview.sample, summary=summary, took_ms=preview.took_ms, reach=reach)


class PushUse(BaseModel):
    """A push that targets a segment."""

    id: str
    name: str
    status: str


class SegmentOut(BaseModel):
    id: str
    name: str
    description: str
    version: int
    rule: dict[str, Any]
    summary: Summary
    size: int
    created_at: datetime
    updated_at: datetime
    #: The pushes that target it (reading one segment only; lists leave it out).
    used_by: list[PushUse] | None = None
    #: Of size, whom a push could reach now and whom it would skip.
    reach: ReachOut | None = None

    @classmethod
    def of(cls, view: SegmentView) -> SegmentOut:
        segment = view.segment
        return cls(
            id=segment.id,
            name=segment.name,
            description=segment.description,
            version=segment.version,
            rule=segment.rule,
            summary=Summary.of(view.summary),
            size=view.size,
            reach=None if view.reach is None else ReachOut.of(view.reach),
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )


class VersionOut(BaseModel):
    version: int
    name: str
    rule: dict[str, Any]
    saved_at: datetime


class ExplanationOut(BaseModel):
    held: bool
    summary: str
    parts: list[ExplanationOut] = []

    @classmethod
    def of(cls, node: Explanation) -> ExplanationOut:
        return cls(held=node.held, summary=node.summary, parts=[cls.of(part) for part in node.parts])


class ExplainOut(BaseModel):
    openid: str
    in_segment: bool
    explanation: ExplanationOut


# -- pushes -------------------------------------------------------------------------------------------


class ArticleIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=64)]
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    description: Annotated[str, Field(max_length=120)] = ""
    picurl: Annotated[str, Field(max_length=2000)] = ""


class MessageIn(BaseModel):
    kind: Literal["text", "image", "news"]
    text: Annotated[str, Field(max_length=2000)] = ""
    media_id: Annotated[str, Field(max_length=128)] = ""
    articles: Annotated[list[ArticleIn], Field(max_length=1)] = []

    @model_validator(mode="after")
    def _complete(self) -> MessageIn:
        if self.kind == "text" and not self.text:
            raise ValueError("a text message needs text")
        if self.kind == "image" and not self.media_id:
            raise ValueError("an image message needs media_id")
        if self.kind == "news" and not self.articles:
            raise ValueError("a news message needs one article")
        return self

    def content(self) -> MessageContent:
        articles = tuple(Article(a.title, a.url, a.description, a.picurl) for a in self.articles)
        return MessageContent(kind=self.kind, text=self.text, media_id=self.media_id, articles=articles)


FieldValues = Annotated[
    dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.]+$", max_length=32)], str], Field(max_length=20)
]


def _shown_by_wechat(name: str) -> str:
    problem = TemplateContent.retired_field(name)
    if problem is not None:
        raise ValueError(problem)
    return name


#: A template message's fields: ``first`` and ``remark`` are refused (422 at ``...data.first``).
TemplateFieldValues = Annotated[
    dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.]+$", max_length=32), AfterValidator(_shown_by_wechat)], str],
    Field(max_length=20),
]


class TemplateIn(BaseModel):
    template_id: Annotated[str, Field(min_length=1, max_length=128)]
    data: TemplateFieldValues = Field(
        description="The template's keyword fields (keyword1, thing2...); first and remark are refused: "
        "WeChat no longer shows them"
    )
    url: Annotated[str, Field(pattern=r"^(https?://.*)?$", max_length=2000)] = ""


class SubscriptionIn(BaseModel):
    template_id: Annotated[str, Field(min_length=1, max_length=128)]
    data: FieldValues
    page: Annotated[str, Field(max_length=1000)] = ""


class VariantIn(BaseModel):
    name: Annotated[str, Field(pattern=ID_PATTERN, max_length=32)] = "A"
    weight: Annotated[int, Field(ge=1, le=100)] = 1
    message: MessageIn | None = Field(default=None, description="Customer-service message (inside the 48 h window)")
    template: TemplateIn | None = Field(default=None, description="Template message (outside the window)")
    subscription: SubscriptionIn | None = Field(default=None, description="Subscription message (needs consent)")

    @model_validator(mode="after")
    def _something(self) -> VariantIn:
        if self.variant().empty:  # said here, so the error names this variant
            raise PushInvalid("a variant needs a message, a template or a subscription message")
        return self

    def variant(self) -> Variant:
        template, subscription = self.template, self.subscription
        return Variant(
            name=self.name,
            weight=self.weight,
            message=None if self.message is None else self.message.content(),
            template=None if template is None else TemplateContent(template.template_id, template.data, template.url),
            subscription=None
            if subscription is None
            else SubscriptionContent(subscription.template_id, subscription.data, subscription.page),
        )


class QuietHoursIn(BaseModel):
    start: clock_time
    end: clock_time

    def hours(self) -> QuietHours:
        return QuietHours(self.start, self.end)


class CapIn(BaseModel):
    per_day: Annotated[int, Field(ge=1, le=50)]
    per_week: Annotated[int, Field(ge=1, le=200)]

    def cap(self) -> FrequencyCap:
        return FrequencyCap(per_day=self.per_day, per_week=self.per_week)


#: How long a push waits for members outside the window (1 hour to 30 days).
WindowWaitHours = Annotated[int, Field(ge=1, le=720)]


class PushIn(BaseModel):
    name: Name
    segment_id: Annotated[str, Field(min_length=1, max_length=64)]
    variants: Annotated[list[VariantIn], Field(min_length=1, max_length=10)]
    send_at: Annotated[datetime | None, UtcConvertible] = Field(
        default=None, description="Now when left out; must carry a timezone"
    )
    quiet_hours: QuietHoursIn | Literal["default"] | None = Field(
        default="default", description="Beijing time; null for none; the service's default when left out"
    )
    cap: CapIn | None = Field(default=None, description="Per-member caps across pushes; the service's default")
    broadcast: bool = Field(default=False, description="Mass send by a WeChat tag (4 per member per month)")
    draft: bool = Field(
        default=False, description="Keep it unsent (needs push:compose only); POST .../{id}/send schedules it"
    )
    project_id: ProjectId | None = None
    wait_for_window_hours: WindowWaitHours | None = Field(
        default=None,
        description="Members outside the 48-hour window whose variant has only a customer-service message "
        "wait up to this many hours for their next interaction and get it then (null: skipped outside_window)",
    )
    marketing: bool = Field(
        default=False,
        description="Marketing content: no variant may carry a template message (WeChat forbids it; 422)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PushIn:
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise PushInvalid("send_at needs a timezone")
        check_variants([v.variant() for v in self.variants], broadcast=self.broadcast)
        return self

    @field_validator("wait_for_window_hours")
    @classmethod
    def _no_wait_for_broadcasts(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("broadcast"):
            raise PushInvalid("a broadcast goes by mass send, which has no window to wait for")
        return value

    @field_validator("marketing")
    @classmethod
    def _no_marketing_templates(cls, value: bool, info: ValidationInfo) -> bool:
        variants = info.data.get("variants") or []
        check_marketing([v.variant() for v in variants], marketing=value)
        return value


class PushPatch(BaseModel):
    """A draft's edit: the fields given replace the draft's (the rest stay)."""

    name: Name | None = None
    segment_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    variants: Annotated[list[VariantIn], Field(min_length=1, max_length=10)] | None = None
    send_at: Annotated[datetime | None, UtcConvertible] = Field(
        default=None, description="null: when the draft is sent"
    )
    quiet_hours: QuietHoursIn | Literal["default"] | None = None
    cap: CapIn | None = None
    broadcast: bool | None = None
    project_id: ProjectId | None = Field(default=None, description="null: linked to no project")
    wait_for_window_hours: WindowWaitHours | None = Field(default=None, description="null: no wait")
    marketing: bool | None = None
    version: int | None = Field(default=None, description="The version edited (or send If-Match)")


class TesterIn(BaseModel):
    openid: Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]
    label: Annotated[str, Field(max_length=50)] = ""


class TestersIn(BaseModel):
    testers: Annotated[list[TesterIn], Field(max_length=20)]


class PushOut(BaseModel):
    id: str
    name: str
    segment_id: str
    segment_version: int | None
    status: str
    #: Bumped by every edit of a draft (and its send); also the ETag.
    version: int
    note: str
    #: None: a draft that goes out when it is sent.
    send_at: datetime | None
    broadcast: bool
    audience_size: int | None
    variants: list[dict[str, Any]]
    quiet_hours: dict[str, str] | None
    cap: dict[str, int]
    stats: dict[str, Any]
    created_at: datetime
    resume_at: datetime | None = None
    mass: dict[str, Any] | None = None
    #: Who composed it (``{"id", "name"}``), from their identity; none for pushes made before identities.
    created_by: dict[str, str] | None = None
    #: The brand project it counts for, if any.
    project_id: str | None = None
    #: How long members outside the window wait for their next interaction (None: skipped).
    wait_for_window_hours: int | None = None
    #: Marketing content: never sent as a template message.
    marketing: bool = False
    #: The stats read for the push page: progress, failures by code with their meaning, skips by
    #: reason, clicks per link and per variant.
    report: dict[str, Any] = {}
    effective_send_at: datetime | None = Field(
        default=None,
        description="When it will really start sending: send_at, or the end of the quiet hours send_at falls "
        "in (Beijing time). Null once sending started (see resume_at) and for a draft sent when it is sent",
    )
    held_by_quiet_hours: bool = Field(
        default=False, description="send_at falls in the quiet hours: effective_send_at is their end"
    )

    @classmethod
    def of(cls, doc: dict[str, Any]) -> PushOut:
        return cls(
            id=doc["_id"],
            name=doc["name"],
            segment_id=doc["segment_id"],
            segment_version=doc.get("segment_version"),
            status=doc["status"],
            version=int(doc.get("version", 1)),
            note=doc.get("note", ""),
            send_at=_utc(doc.get("send_at")),
            broadcast=bool(doc.get("broadcast")),
            audience_size=doc.get("audience_size"),
            variants=doc["variants"],
            quiet_hours=doc.get("quiet_hours"),
            cap=doc["cap"],
            stats=doc.get("stats") or {},
            created_at=_utc(doc["created_at"]) or datetime.now(UTC),
            resume_at=_utc(doc.get("resume_at")),
            mass=doc.get("mass"),
            created_by=doc.get("created_by"),
            project_id=doc.get("project_id"),
            wait_for_window_hours=doc.get("wait_for_window_hours"),
            marketing=bool(doc.get("marketing")),
            report=report_of(doc),
            **_when(doc),
        )


def _when(doc: dict[str, Any]) -> dict[str, Any]:
    """When a push not yet sending will start: its send_at, moved past the quiet hours it falls in."""
    send_at, quiet = _utc(doc.get("send_at")), doc.get("quiet_hours")
    hours = (
        None
        if not quiet
        else QuietHours(clock_time.fromisoformat(quiet["start"]), clock_time.fromisoformat(quiet["end"]))
    )
    try:
        status = PushStatus(doc["status"])
    except ValueError:
        return {}
    effective = effective_send_at(send_at, hours, status)
    return {"effective_send_at": effective, "held_by_quiet_hours": effective is not None and effective != send_at}


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC) if value.tzinfo is None else value
