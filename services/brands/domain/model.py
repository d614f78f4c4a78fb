"""Brands, their projects, deals and payments, and the teams of account managers who own them.

Pure: no I/O. Money is in fen (1 yuan = 100 fen) as integers; calendar days are Beijing days
(``date``); moments are aware UTC datetimes. Every editable record carries a ``version`` (the HTTP
ETag): an edit names the version it was based on and a stale one is a :class:`VersionConflict`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "BEIJING",
    "CLOSED_STAGES",
    "FUNNEL",
    "Brand",
    "BrandsError",
    "Deal",
    "DealStage",
    "IllegalStageMove",
    "Invalid",
    "NameTaken",
    "NotFound",
    "Payment",
    "Project",
    "ProjectStatus",
    "StageChange",
    "Team",
    "VersionConflict",
    "as_stored",
    "beijing_day",
    "can_move",
    "check_version",
    "new_id",
]

BEIJING = ZoneInfo("Asia/Shanghai")


class BrandsError(Exception):
    """A refusal of this service; the message is written for API users."""


class NotFound(BrandsError):
    """No such record, or none the caller may see (the two are not told apart)."""


class Invalid(BrandsError):
    """Input the rules refuse; ``field`` names the body field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class VersionConflict(BrandsError):
    def __init__(self, kind: str, record_id: str, expected: int, current: int) -> None:
        super().__init__(f"{kind} {record_id!r} is at version {current}, not {expected}: reload and edit again")


class IllegalStageMove(BrandsError):
    pass


class NameTaken(BrandsError):
    """Brand and team names are unique."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def as_stored(moment: datetime) -> datetime:
    """UTC to the millisecond, as MongoDB keeps it: what is answered now is what a read returns later."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def beijing_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def check_version(kind: str, record_id: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise VersionConflict(kind, record_id, expected, current)


@dataclass
class Team:
    """A sales head (``head_id``) and the account managers they lead (``member_ids``), by operator id."""

    id: str
    name: str
    head_id: str
    member_ids: list[str] = field(default_factory=list)
    version: int = 1


@dataclass
class Brand:
    """A client. ``owner_id`` is the account manager (an operator id) who owns it."""

    id: str
    name: str
    industry: str | None
    owner_id: str
    created_at: datetime
    last_activity_at: datetime
    version: int = 1

    def touch(self, at: datetime) -> None:
        """Something happened to the brand at ``at`` (activity only ever moves forward)."""
        if at > self.last_activity_at:
            self.last_activity_at = at


class ProjectStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ENDED = "ended"


#: Which status a project may move to: forward only, a draft may end without running.
_PROJECT_MOVES = {
    ProjectStatus.DRAFT: {ProjectStatus.ACTIVE, ProjectStatus.ENDED},
    ProjectStatus.ACTIVE: {ProjectStatus.ENDED},
    ProjectStatus.ENDED: set(),
}


@dataclass
class Project:
    """What a brand bought: ``target_deliveries`` targeted pushes delivered (optionally ``target_clicks``
    clicks) on the Official Account ``appid`` between ``starts_on`` and ``ends_on`` (Beijing days,
    inclusive), for ``price_fen``, run by the account manager ``manager_id``."""

    id: str
    brand_id: str
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
    version: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not self.name.strip():
            raise Invalid("name", "a project needs a name")
        if self.target_deliveries <= 0:
            raise Invalid("target_deliveries", "the delivery target must be more than 0")
        if self.target_clicks is not None and self.target_clicks <= 0:
            raise Invalid("target_clicks", "the click target, when given, must be more than 0")
        if self.ends_on < self.starts_on:
            raise Invalid("ends_on", "a project cannot end before it starts")
        if self.price_fen < 0:
            raise Invalid("price_fen", "a price cannot be negative")

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    @property
    def is_open(self) -> bool:
        return self.status is not ProjectStatus.ENDED

    def move(self, status: ProjectStatus) -> None:
        if status is self.status:
            return
        if status not in _PROJECT_MOVES[self.status]:
            raise Invalid("status", f"a project cannot go from {self.status.value} to {status.value}")
        self.status = status


class DealStage(StrEnum):
    LEAD = "lead"
    PROPOSAL = "proposal"
    SIGNED = "signed"
    DELIVERING = "delivering"
    RENEWED = "renewed"
    LOST = "lost"


#: The funnel, in order; ``lost`` is outside it (reachable from any open stage).
FUNNEL = (DealStage.LEAD, DealStage.PROPOSAL, DealStage.SIGNED, DealStage.DELIVERING, DealStage.RENEWED)
CLOSED_STAGES = frozenset({DealStage.RENEWED, DealStage.LOST})


@dataclass(frozen=True)
class StageChange:
    stage: DealStage
    at: datetime
    by: str
    previous: DealStage | None = None


@dataclass
class Deal:
    """A sale in progress with a brand. ``owner_id`` follows the brand's owner on hand-over while open."""

    id: str
    brand_id: str
    owner_id: str
    stage: DealStage
    value_fen: int
    expected_close_on: date | None
    updated_at: datetime
    history: list[StageChange] = field(default_factory=list)
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES

    def move(self, stage: DealStage, at: datetime, by: str) -> None:
        """Forward through the funnel (skipping stages is allowed), or to ``lost`` from any open stage."""
        if not can_move(self.stage, stage):
            raise IllegalStageMove(f"a deal cannot move from {self.stage.value} to {stage.value}")
        self.history.append(StageChange(stage, at, by, previous=self.stage))
        self.stage = stage
        self.updated_at = at


def can_move(current: DealStage, to: DealStage) -> bool:
    if current in CLOSED_STAGES or to is current:
        return False
    if to is DealStage.LOST:
        return True
    return FUNNEL.index(to) > FUNNEL.index(current)


@dataclass
class Payment:
    """Money a brand owes (``due_on``) and, once it arrived, ``received_on``."""

    id: str
    brand_id: str
    project_id: str | None
    amount_fen: int
    due_on: date
    received_on: date | None
    created_at: datetime
    version: int = 1

    def overdue(self, today: date) -> bool:
        return self.received_on is None and self.due_on < today
