"""Bodies and answers of the poster-variant and referral-graph routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.campaigns.domain.flag_reviews import FlagReview
from services.campaigns.domain.graph import Edge, Flag, InviterSummary
from services.campaigns.domain.variants import MAX_WEIGHT, PRIMARY, VariantFigures, shift_rule
from services.campaigns.service_layer.ports import Freeze
from services.campaigns.service_layer.variants import VariantReport

VariantKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,2}$")]


class AutoShiftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    min_sample: Annotated[int, Field(ge=1, le=1_000_000)] = 100


class VariantsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[VariantKey, Annotated[int, Field(ge=0, le=MAX_WEIGHT)]] | None = None
    auto_shift: AutoShiftBody | None = None


class VariantOut(BaseModel):
    key: str
    primary: bool
    image_id: str | None
    weight: int
    members: int
    scans: int
    follows: int
    credited: int
    confirmed: int
    follow_rate: float | None
    credit_rate: float | None
    confirmed_rate: float | None

    @classmethod
    def of(cls, figures: VariantFigures, weight: int, image_id: str | None) -> VariantOut:
        members = figures.members
        return cls(
            key=figures.variant,
            primary=figures.variant == PRIMARY,
            image_id=image_id,
            weight=weight,
            members=members,
            scans=figures.scans,
            follows=figures.follows,
            credited=figures.credited,
            confirmed=figures.confirmed,
            follow_rate=figures.follow_rate,
            credit_rate=None if not members else figures.credited / members,
            confirmed_rate=figures.confirmed_rate,
        )


class VariantsOut(BaseModel):
    campaign_id: str
    auto_shift: AutoShiftBody
    rule: str
    #: What the automatic shift and ``leader`` count as a conversion: ``confirmed`` credits where the
    #: campaign's rewards count verified followers, else ``follows``.
    shift_on: Literal["follows", "confirmed"]
    leader: str | None
    variants: list[VariantOut]

    @classmethod
    def of(cls, report: VariantReport) -> VariantsOut:
        plan = report.plan
        weights = plan.weights()
        images = {v.key: v.template.image_id for v in plan.variants} | {PRIMARY: report.primary_image_id}
        rows = [VariantOut.of(f, weights.get(f.variant, 0), images.get(f.variant)) for f in report.figures]
        rated = [row for row in rows if row.follow_rate is not None]
        confirmed = report.on_confirmed

        def rank(row: VariantOut) -> tuple[float, float, int]:  # the shift's measure first, then follows
            return ((row.confirmed_rate or 0.0) if confirmed else 0.0, row.follow_rate or 0.0, row.members)

        leader = max(rated, key=rank).key if len(rated) > 1 else None
        return cls(
            campaign_id=plan.campaign_id,
            auto_shift=AutoShiftBody(enabled=plan.auto_shift.enabled, min_sample=plan.auto_shift.min_sample),
            rule=shift_rule(confirmed),
            shift_on="confirmed" if confirmed else "follows",
            leader=leader,
            variants=rows,
        )


class InviterOut(BaseModel):
    openid: str
    invitees: int
    campaigns: int
    revoked: int
    unfollowed: int
    retained: int
    retention: float
    interacted: int
    frozen: bool
    first_at: datetime
    last_at: datetime

    @classmethod
    def of(cls, summary: InviterSummary, frozen: bool) -> InviterOut:
        return cls(
            openid=summary.inviter,
            invitees=summary.invitees,
            campaigns=summary.campaigns,
            revoked=summary.revoked,
            unfollowed=summary.unfollowed,
            retained=summary.retained,
            retention=round(summary.retention, 4),
            interacted=summary.interacted,
            frozen=frozen,
            first_at=summary.first_at,
            last_at=summary.last_at,
        )


class InvitersOut(BaseModel):
    items: list[InviterOut]
    total: int
    limit: int
    offset: int


FlagKind = Literal["ring", "unfollow_burst", "silent_invitees"]
ReviewState = Literal["open", "dismissed", "confirmed"]


class FlagOut(BaseModel):
    #: ``<kind>:<inviter>``: the flag as kept for review (the same however often it is computed).
    id: str
    kind: FlagKind
    members: list[str]
    inviters: list[str]
    campaigns: list[str]
    edges: int
    detail: str
    at: datetime
    frozen: list[str]
    status: ReviewState = "open"
    #: Whether the pattern is found now (a flag no longer found keeps its review, listed on request).
    current: bool = True
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    note: str = ""

    @classmethod
    def of(cls, flag: Flag | None, review: FlagReview, frozen: set[str]) -> FlagOut:
        inviters = [review.inviter] if flag is None else list(flag.inviters)
        return cls(
            id=review.id,
            kind=review.kind,
            members=inviters if flag is None else list(flag.members),
            inviters=inviters,
            campaigns=list(review.campaigns),
            edges=review.edges,
            detail=review.detail,
            at=review.at,
            frozen=sorted(set(inviters) & frozen),
            status=review.status,
            current=review.current,
            first_seen_at=review.first_seen_at,
            last_seen_at=review.last_seen_at,
            reviewed_by=review.reviewed_by,
            reviewed_at=review.reviewed_at,
            note=review.note,
        )


class FlagsOut(BaseModel):
    items: list[FlagOut]
    #: The listed flags by kind.
    counts: dict[str, int]
    #: The flags found now (whatever the filters) by review state.
    by_status: dict[str, int] = {}


class FlagReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReviewState
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class FreezeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class FreezeOut(BaseModel):
    openid: str
    status: Literal["frozen", "released"]
    reason: str
    frozen_by: str
    frozen_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None

    @classmethod
    def of(cls, freeze: Freeze) -> FreezeOut:
        return cls(
            openid=freeze.openid,
            status=freeze.status,
            reason=freeze.reason,
            frozen_by=freeze.frozen_by,
            frozen_at=freeze.frozen_at,
            released_by=freeze.released_by,
            released_at=freeze.released_at,
        )


class GrantOut(BaseModel):
    campaign_id: str
    tier_count: int


class ReleaseOut(FreezeOut):
    granted: list[GrantOut] = []


class FreezesOut(BaseModel):
    items: list[FreezeOut]


class BackfillOut(BaseModel):
    added: int


class EdgeOut(BaseModel):
    campaign_id: str
    inviter: str
    invitee: str
    credited_at: datetime
    status: str
    variant: str | None
    unfollowed_at: datetime | None
    interacted_at: datetime | None

    @classmethod
    def of(cls, edge: Edge) -> EdgeOut:
        return cls(
            campaign_id=edge.campaign_id,
            inviter=edge.inviter,
            invitee=edge.invitee,
            credited_at=edge.credited_at,
            status=edge.status,
            variant=edge.variant,
            unfollowed_at=edge.unfollowed_at,
            interacted_at=edge.interacted_at,
        )


class GraphExportOut(BaseModel):
    appid: str
    nodes: list[str]
    edges: list[EdgeOut]
