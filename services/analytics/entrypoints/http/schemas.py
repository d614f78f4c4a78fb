"""The dashboards' JSON, described for the API's documentation (``/docs``) and its users (the console).

Routes answer the use cases' dicts as they are (no second pass through these models on every request);
tests validate every answer against them with extra keys forbidden, so the two cannot drift.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CampaignDashboard",
    "CampaignList",
    "Overview",
    "ProjectDashboard",
    "PushDashboard",
    "PushList",
    "Screenshots",
]

Rate = float | None


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DayRangeOut(_Out):
    from_: str = Field(alias="from", description="First Beijing day, YYYY-MM-DD")
    to: str = Field(description="Last Beijing day, included")
    days: int


class ChangeOut(_Out):
    delta: int | float | None = Field(description="This period minus the previous one (rates: in the rate's unit)")
    percent: float | None = Field(description="The delta in percent of the previous period; null when it was 0")


class _Period(_Out):
    range: DayRangeOut
    previous: DayRangeOut = Field(description="As many days, right before the range")
    change: dict[str, ChangeOut] = Field(description="Per figure of totals")


# -- overview ---------------------------------------------------------------------------------------


class OverviewFigures(_Out):
    follows: int
    unfollows: int
    net_follows: int
    pushes_delivered: int
    pushes_failed: int
    push_clicks: int
    push_clickers: int
    project_delivered: int = Field(description="Deliveries of pushes linked to a brand project: value delivered")
    poster_sent: int
    credited: int
    rewards: int


class OverviewDay(OverviewFigures):
    day: str


class MonthOut(DayRangeOut):
    pushes_delivered: int
    project_delivered: int
    follows: int
    unfollows: int


class Overview(_Period):
    totals: OverviewFigures
    previous_totals: OverviewFigures
    series: list[OverviewDay]
    follows_by_source: dict[str, int] = Field(description="poster, campaign_code, qr, direct: largest first")
    unfollows_by_source: dict[str, int] = Field(description="The source they had followed through, or unknown")
    month: MonthOut = Field(description="This Beijing month up to today, whatever the range")


# -- campaigns --------------------------------------------------------------------------------------


class CampaignFigures(_Out):
    poster_sent: int
    poster_scans: int
    poster_follows: int
    credited: int
    revoked: int
    tier_reached: int
    rewards: int


class CampaignDay(CampaignFigures):
    day: str


class FunnelStep(_Out):
    step: str
    count: int
    from_previous: Rate
    from_first: Rate
    cohort: DayRangeOut | None = Field(
        default=None, description="Retention steps: the credit days whose window has closed (null: none yet)"
    )


class RetentionOut(_Out):
    window_days: int
    cohort: DayRangeOut | None
    credited: int
    retained: int
    rate: Rate


class TierOut(_Out):
    tier: int
    reached: int
    rewards: int


class ScreenshotOutcomes(_Out):
    approved: int
    rejected: int
    queued: int


class CampaignDashboard(_Period):
    campaign_id: str
    totals: CampaignFigures
    previous_totals: CampaignFigures
    series: list[CampaignDay]
    funnel: list[FunnelStep]
    retention: dict[str, RetentionOut] = Field(description='"7d" and "30d"')
    tiers: list[TierOut]
    screenshots: ScreenshotOutcomes
    screenshot_reasons: dict[str, int]


class CampaignListFigures(_Out):
    poster_sent: int
    credited: int
    revoked: int
    rewards: int


class CampaignListDay(CampaignListFigures):
    day: str


class CampaignRow(CampaignFigures):
    campaign_id: str
    scan_rate: Rate
    follow_rate: Rate
    first_day: str
    last_day: str


class CampaignList(_Period):
    totals: CampaignListFigures
    previous_totals: CampaignListFigures
    series: list[CampaignListDay]
    campaigns: list[CampaignRow] = Field(description="Campaigns with activity in the range, most recent first")


# -- screenshots ------------------------------------------------------------------------------------


class ScreenshotFigures(_Out):
    submitted: int
    approved: int
    rejected: int
    queued: int
    reviewed: int
    approval_rate: Rate
    rejection_rate: Rate
    review_rate: Rate


class ScreenshotDay(ScreenshotFigures):
    day: str


class ReviewWaits(_Out):
    lt1h: int
    lt4h: int
    lt24h: int
    ge24h: int


class Screenshots(_Period):
    totals: ScreenshotFigures
    previous_totals: ScreenshotFigures
    series: list[ScreenshotDay]
    reasons: dict[str, int]
    review_waits: ReviewWaits


# -- pushes and projects ----------------------------------------------------------------------------


class PushFigures(_Out):
    delivered: int
    failed: int
    clicks: int
    clickers: int
    click_rate: Rate


class PushDay(PushFigures):
    day: str


class VariantOut(PushFigures):
    variant: str = Field(description="The A/B variant, - for a push without variants")


class PushRow(PushFigures):
    push_id: str
    failures_by_errcode: dict[str, int]
    variants: list[VariantOut]
    first_day: str
    last_day: str


class PushList(_Period):
    totals: PushFigures
    previous_totals: PushFigures
    series: list[PushDay]
    pushes: list[PushRow] = Field(description="A page of the pushes active in the range, newest first")
    pushes_in_range: int


class PushDashboard(_Period):
    push_id: str
    totals: PushFigures
    previous_totals: PushFigures
    series: list[PushDay]
    failures_by_errcode: dict[str, int]
    variants: list[VariantOut]


class ProjectFigures(_Out):
    delivered: int
    clicks: int
    clickers: int
    click_rate: Rate


class ProjectDay(ProjectFigures):
    day: str


class SegmentDelivered(_Out):
    segment_id: str
    delivered: int


class PushDelivered(_Out):
    push_id: str
    delivered: int
    clicks: int


class ProjectDashboard(_Period):
    project_id: str
    totals: ProjectFigures
    previous_totals: ProjectFigures
    series: list[ProjectDay]
    by_segment: list[SegmentDelivered]
    by_push: list[PushDelivered]
