"""Request and response bodies of the brands API. Money in fen (integers), days as ``YYYY-MM-DD``
(Beijing), moments in UTC."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.brands.domain.business import BrandStanding, Figures
from services.brands.domain.model import Brand, Deal, DealStage, Payment, Project, ProjectStatus, Team
from services.brands.domain.progress import Breakdown, ProjectProgress

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
Name = Annotated[str, Field(min_length=1, max_length=200)]
OperatorRef = Annotated[str, Field(min_length=1, max_length=64, description="An operator's id (or name)")]
Version = Annotated[int | None, Field(default=None, ge=1, description="The version edited (or If-Match)")]
AppId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamIn(_In):
    name: Name
    head_id: OperatorRef
    member_ids: list[OperatorRef] = Field(default_factory=list, max_length=500)


class TeamPatch(_In):
    name: Name | None = None
    head_id: OperatorRef | None = None
    member_ids: list[OperatorRef] | None = Field(default=None, max_length=500)
    version: Version = None


class TeamOut(BaseModel):
    id: str
    name: str
    head_id: str
    member_ids: list[str]
    version: int

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(id=team.id, name=team.name, head_id=team.head_id, member_ids=team.member_ids, version=team.version)


class TeamList(BaseModel):
    items: list[TeamOut]
    #: Operator names by id, for the ids above.
    names: dict[str, str] = Field(default_factory=dict)


class BrandIn(_In):
    name: Name
    industry: Annotated[str | None, Field(max_length=100)] = None
    owner_id: OperatorRef | None = Field(default=None, description="The account manager (default: the caller)")


class BrandPatch(_In):
    name: Name | None = None
    industry: Annotated[str | None, Field(max_length=100)] = None
    version: Version = None


class BrandOut(BaseModel):
    id: str
    name: str
    industry: str | None
    owner_id: str
    created_at: datetime
    last_activity_at: datetime
    #: Payments received in the last 12 months (fen) and the tier they give.
    spend_fen: int
    tier: Literal["A", "B", "C"]
    #: Nothing happened for BRANDS_INACTIVE_DAYS: flagged for hand-over.
    inactive: bool
    days_inactive: int
    version: int

    @classmethod
    def of(cls, row: BrandStanding) -> BrandOut:
        b = row.brand
        return cls(
            id=b.id,
            name=b.name,
            industry=b.industry,
            owner_id=b.owner_id,
            created_at=b.created_at,
            last_activity_at=b.last_activity_at,
            spend_fen=row.spend_fen,
            tier=row.tier.value,
            inactive=row.inactive,
            days_inactive=row.days_inactive,
            version=b.version,
        )


class BrandList(BaseModel):
    items: list[BrandOut]
    #: Operator names by id, for the ids above.
    names: dict[str, str] = Field(default_factory=dict)


class Manager(BaseModel):
    id: str
    name: str


class ManagerList(BaseModel):
    """Who the caller may give brands and projects to (their scope)."""

    items: list[Manager]


class HandoverIn(_In):
    to: OperatorRef
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class HandoverOut(BaseModel):
    brand: BrandOut
    from_owner: str
    to: str
    projects: list[str]
    deals: list[str]


class ProjectIn(_In):
    appid: AppId
    name: Name
    target_deliveries: Annotated[int, Field(gt=0, le=10**10)]
    target_clicks: Annotated[int | None, Field(gt=0, le=10**10)] = None
    starts_on: date
    ends_on: date
    price_fen: Annotated[int, Field(ge=0, le=10**13)] = 0
    manager_id: OperatorRef | None = Field(default=None, description="Default: the brand's owner")
    status: Literal["draft", "active"] = "draft"


class ProjectPatch(_In):
    appid: AppId | None = None
    name: Name | None = None
    target_deliveries: Annotated[int | None, Field(gt=0, le=10**10)] = None
    #: ``null`` clears the click target.
    target_clicks: Annotated[int | None, Field(gt=0, le=10**10)] = None
    starts_on: date | None = None
    ends_on: date | None = None
    price_fen: Annotated[int | None, Field(ge=0, le=10**13)] = None
    manager_id: OperatorRef | None = None
    status: ProjectStatus | None = None
    version: Version = None


class ProjectOut(BaseModel):
    id: str
    brand_id: str
    brand_name: str
    appid: str
    name: str
    target_deliveries: int
    target_clicks: int | None
    starts_on: date
    ends_on: date
    price_fen: int
    manager_id: str
    status: ProjectStatus
    created_at: datetime
    version: int

    @classmethod
    def of(cls, project: Project, brand: Brand) -> ProjectOut:
        return cls(
            id=project.id,
            brand_id=project.brand_id,
            brand_name=brand.name,
            appid=project.appid,
            name=project.name,
            target_deliveries=project.target_deliveries,
            target_clicks=project.target_clicks,
            starts_on=project.starts_on,
            ends_on=project.ends_on,
            price_fen=project.price_fen,
            manager_id=project.manager_id,
            status=project.status,
            created_at=project.created_at,
            version=project.version,
        )


class ProjectList(BaseModel):
    items: list[ProjectOut]
    #: Operator names by id, for the ids above.
    names: dict[str, str] = Field(default_factory=dict)


class AccountProjectOut(BaseModel):
    """What a push composer picks from."""

    id: str
    name: str
    brand_id: str
    brand_name: str
    status: ProjectStatus
    starts_on: date
    ends_on: date
    target_deliveries: int


class AccountProjectList(BaseModel):
    items: list[AccountProjectOut]


class SeriesPointOut(BaseModel):
    day: date
    delivered: int
    clicks: int
    delivered_total: int
    clicks_total: int
    target_line: float


class SegmentRow(BaseModel):
    segment_id: str
    #: The latest name the deliveries carried; the id for deliveries counted before they had names.
    segment_name: str
    delivered: int
    clicks: int


class PushRow(BaseModel):
    push_id: str
    #: The latest name the deliveries carried; the id for deliveries counted before they had names.
    push_name: str
    delivered: int
    clicks: int
    clickers: int


def segment_rows(rows: list[Breakdown]) -> list[SegmentRow]:
    return [
        SegmentRow(segment_id=r.id, segment_name=r.name or r.id, delivered=r.delivered, clicks=r.clicks) for r in rows
    ]


def push_rows(rows: list[Breakdown]) -> list[PushRow]:
    return [
        PushRow(
            push_id=r.id, push_name=r.name or r.id, delivered=r.delivered, clicks=r.clicks, clickers=r.clickers or 0
        )
        for r in rows
    ]


class ProgressOut(BaseModel):
    project: ProjectOut
    target: int
    target_clicks: int | None
    delivered: int
    clicks: int
    clickers: int
    #: Percent, one decimal (may pass 100).
    completion: float | None
    click_completion: float | None
    #: clickers / delivered, percent.
    click_rate: float | None
    #: The linear target line today.
    expected_by_now: float
    remaining: int
    series: list[SeriesPointOut]
    by_segment: list[SegmentRow]
    by_push: list[PushRow]

    @classmethod
    def of(cls, p: ProjectProgress, brand: Brand) -> ProgressOut:
        return cls(
            project=ProjectOut.of(p.project, brand),
            target=p.project.target_deliveries,
            target_clicks=p.project.target_clicks,
            delivered=p.delivered,
            clicks=p.clicks,
            clickers=p.clickers,
            completion=p.completion,
            click_completion=p.click_completion,
            click_rate=p.click_rate,
            expected_by_now=p.expected_by_now,
            remaining=max(0, p.project.target_deliveries - p.delivered),
            series=[SeriesPointOut.model_validate(s, from_attributes=True) for s in p.series],
            by_segment=segment_rows(p.by_segment),
            by_push=push_rows(p.by_push),
        )


class ReportDay(BaseModel):
    day: date
    delivered: int
    clicks: int
    delivered_total: int


class ValueReport(BaseModel):
    brand_id: str
    brand: str
    project_id: str
    project: str
    appid: str
    starts_on: date
    ends_on: date
    target: int
    target_clicks: int | None
    delivered: int
    clicks: int
    clickers: int
    completion: float | None
    click_rate: float | None
    by_segment: list[SegmentRow]
    by_push: list[PushRow]
    by_day: list[ReportDay]
    generated_at: datetime


class DealIn(_In):
    brand_id: Annotated[str, Field(min_length=1, max_length=64)]
    value_fen: Annotated[int, Field(ge=0, le=10**13)] = 0
    expected_close_on: date | None = None
    stage: DealStage = DealStage.LEAD


class DealStageIn(_In):
    stage: DealStage
    version: Version = None


class StageChangeOut(BaseModel):
    stage: DealStage
    previous: DealStage | None
    at: datetime
    by: str


class DealOut(BaseModel):
    id: str
    brand_id: str
    owner_id: str
    stage: DealStage
    value_fen: int
    expected_close_on: date | None
    updated_at: datetime
    history: list[StageChangeOut]
    version: int

    @classmethod
    def of(cls, deal: Deal) -> DealOut:
        return cls(
            id=deal.id,
            brand_id=deal.brand_id,
            owner_id=deal.owner_id,
            stage=deal.stage,
            value_fen=deal.value_fen,
            expected_close_on=deal.expected_close_on,
            updated_at=deal.updated_at,
            history=[StageChangeOut(stage=c.stage, previous=c.previous, at=c.at, by=c.by) for c in deal.history],
            version=deal.version,
        )


class DealList(BaseModel):
    items: list[DealOut]
    #: Operator names by id, for the ids above.
    names: dict[str, str] = Field(default_factory=dict)


class PaymentIn(_In):
    brand_id: Annotated[str, Field(min_length=1, max_length=64)]
    project_id: Annotated[str | None, Field(max_length=64)] = None
    amount_fen: Annotated[int, Field(gt=0, le=10**13)]
    due_on: date
    received_on: date | None = None


class PaymentReceivedIn(_In):
    received_on: date


class PaymentOut(BaseModel):
    id: str
    brand_id: str
    project_id: str | None
    amount_fen: int
    due_on: date
    received_on: date | None
    overdue: bool
    created_at: datetime
    version: int

    @classmethod
    def of(cls, payment: Payment, today: date) -> PaymentOut:
        return cls(
            id=payment.id,
            brand_id=payment.brand_id,
            project_id=payment.project_id,
            amount_fen=payment.amount_fen,
            due_on=payment.due_on,
            received_on=payment.received_on,
            overdue=payment.overdue(today),
            created_at=payment.created_at,
            version=payment.version,
        )


class PaymentList(BaseModel):
    items: list[PaymentOut]


class FiguresOut(BaseModel):
    target: int
    delivered: int
    completion: float | None
    projects: int
    received_fen: int
    due_fen: int
    overdue_fen: int

    @classmethod
    def of(cls, f: Figures) -> FiguresOut:
        return cls.model_validate(f, from_attributes=True)


class PeriodOut(BaseModel):
    kind: Literal["month", "quarter"]
    label: str
    start: date
    end: date


class ManagerRow(FiguresOut):
    manager_id: str
    name: str | None
    rank: int


class TeamRow(FiguresOut):
    team_id: str
    name: str
    head_id: str
    member_ids: list[str]


class RenewalProject(BaseModel):
    id: str
    name: str
    brand_id: str
    brand_name: str
    manager_id: str
    ends_on: date
    days_left: int


class FunnelStep(BaseModel):
    stage: DealStage
    count: int
    value_fen: int


class InactiveBrand(BaseModel):
    brand_id: str
    name: str
    owner_id: str
    last_activity_at: datetime
    days_inactive: int
    tier: Literal["A", "B", "C"]


class PaymentsOut(BaseModel):
    received_fen: int
    due_fen: int
    overdue_fen: int
    due: list[PaymentOut]
    overdue: list[PaymentOut]


class RenewalsOut(BaseModel):
    projects: list[RenewalProject]
    deals: list[DealOut]


class BusinessOut(BaseModel):
    period: PeriodOut
    at: date
    totals: FiguresOut
    #: Ranked: completion, then deliveries.
    managers: list[ManagerRow]
    teams: list[TeamRow]
    payments: PaymentsOut
    renewals: RenewalsOut
    funnel: list[FunnelStep]
    tiers: dict[str, int]
    inactive: list[InactiveBrand]
    #: Operator names by id, for every id above.
    names: dict[str, str]
