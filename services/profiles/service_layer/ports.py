"""The ports the profiles service layer works through: what it needs of storage, WeChat and Kafka.

The adapters (``services.profiles.adapters``: MongoDB) and the fakes of the tests and benchmarks
implement them; the bootstrap hands the implementations to the use cases. Nothing here names a driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol

from services.profiles.domain.follower_import import Checkpoint
from services.profiles.domain.invitations import HeldInvitation
from services.profiles.domain.profile import Change, Profile
from services.profiles.domain.surveys import Survey, SurveyStatus
from shared.maternal_infant import Stage
from shared.messaging import EventPublisher
from shared.wechat_client import CustomMessage, FollowerPage, Tag, UserInfo

__all__ = [
    "CoverageStore",
    "EventPublisher",
    "FollowerSource",
    "HeldInvitations",
    "ImportSink",
    "Messenger",
    "ProfileCounts",
    "ProfileReader",
    "ProfileStore",
    "ProfilesUnitOfWork",
    "SurveyStore",
    "SurveysUnitOfWork",
    "TagPlatform",
    "TagSyncStore",
]


class ProfileStore(Protocol):
    """The profile repository inside a transaction (MongoDB's, or the benchmark's in memory)."""

    async def get_or_new(self, appid: str, openid: str) -> Profile: ...

    async def save(self, profile: Profile, changes: list[Change]) -> None: ...

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Profile]: ...

    async def save_many(self, updates: Sequence[tuple[Profile, list[Change]]]) -> None: ...


class ProfilesUnitOfWork(Protocol):
    """One transaction over profiles and processed-event claims: nothing is kept without ``commit``."""

    @property
    def profiles(self) -> ProfileStore: ...

    async def __aenter__(self) -> ProfilesUnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool: ...

    async def claim_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]: ...

    async def commit(self) -> None: ...


@dataclass(frozen=True)
class ProfileCounts:
    """An account's dashboard figures."""

    profiles: int
    following: int
    #: With at least one tag or a life stage.
    tagged: int
    consented_marketing: int
    by_stage: dict[Stage, int]


class ProfileReader(Protocol):
    """Reading profiles outside a transaction: the operator API's views."""

    async def get(self, appid: str, openid: str) -> Profile | None: ...

    async def stats(self, appid: str, today: date) -> ProfileCounts: ...

    async def history(self, appid: str, openid: str, limit: int = 100) -> list[dict[str, Any]]: ...

    async def coverage_totals(self, appid: str) -> dict[str, int]:
        """The account's coverage counters now (``services.profiles.domain.coverage`` keys)."""
        ...

    async def coverage_days(self, appid: str, first: date) -> dict[date, dict[str, int]]:
        """The increments of each Beijing day from ``first`` on (days without any left out)."""
        ...

    def each(self, appid: str) -> AsyncIterator[Profile]:
        """Every profile of the account, streamed."""
        ...


class CoverageStore(Protocol):
    """Where a rebuild puts an account's recounted coverage totals."""

    async def replace_coverage(self, appid: str, totals: dict[str, int]) -> None: ...


class SurveyStore(Protocol):
    """Surveys, their responses and draws, and prize stock (taken atomically, never below zero).

    Responses and draws are keyed by :func:`services.profiles.domain.surveys.member_key`.
    """

    async def add(self, survey: Survey, at: datetime) -> None: ...

    async def get(self, appid: str, survey_id: str) -> Survey | None: ...

    async def set_status(self, survey_id: str, status: SurveyStatus) -> None: ...

    async def add_response(self, key: str, document: dict[str, Any]) -> bool:
        """False if the member's response is there already."""
        ...

    async def take_stock(self, survey_id: str, prize_id: str) -> bool:
        """One unit of the prize, if any is left."""
        ...

    async def record_draw(self, key: str, document: dict[str, Any]) -> None: ...

    async def draw_of(self, key: str) -> dict[str, Any] | None: ...

    async def results(self, survey_id: str) -> dict[str, Any]: ...


class SurveysUnitOfWork(ProfilesUnitOfWork, Protocol):
    """A transaction over profiles and surveys together: an answer's tags and its draw commit as one."""

    @property
    def surveys(self) -> SurveyStore: ...


class Messenger(Protocol):
    """A member's chat with the account: customer-service messages."""

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None: ...


class HeldInvitations(Protocol):
    """H5 invitations waiting for their member's next interaction: at most one per member, outside any
    transaction (each write is one idempotent document write)."""

    async def hold(self, invitation: HeldInvitation) -> None:
        """Keep ``invitation`` (replacing the member's earlier one)."""
        ...

    async def held_among(self, appid: str, openids: Sequence[str]) -> list[HeldInvitation]:
        """The invitations held for any of ``openids`` of ``appid``, in one lookup."""
        ...

    async def release(self, appid: str, openid: str) -> None:
        """Forget the member's held invitation (sent, superseded or given up); nothing if none."""
        ...


class TagPlatform(Protocol):
    """WeChat user tags of one account."""

    async def create_tag(self, name: str) -> Tag: ...

    async def tag_members(self, tag_id: int, openids: Sequence[str]) -> None: ...

    async def untag_members(self, tag_id: int, openids: Sequence[str]) -> None: ...


class TagSyncStore(Protocol):
    """What the tag sync has done so far: tag ids per code, and who carries each tag."""

    async def tag_ids(self, appid: str) -> dict[str, int]: ...

    async def remember_tag(self, appid: str, code: str, tag_id: int) -> None: ...

    async def members(self, appid: str) -> dict[str, set[str]]:
        """code -> openids currently carrying its WeChat tag (as far as this sync has done it)."""
        ...

    async def record(self, appid: str, code: str, openids: Sequence[str], added: bool) -> None: ...


class FollowerSource(Protocol):
    """The account's follower list on WeChat."""

    async def list_followers(self, next_openid: str | None = None) -> FollowerPage: ...

    async def user_info_batch(self, openids: Sequence[str]) -> tuple[UserInfo, ...]: ...


class ImportSink(Protocol):
    """Where imported followers go, with a checkpoint per account to resume from."""

    async def checkpoint(self, appid: str) -> Checkpoint | None: ...

    async def save_checkpoint(self, appid: str, checkpoint: Checkpoint) -> None: ...

    async def upsert_followers(self, appid: str, followers: Sequence[UserInfo]) -> int:
        """Create profiles for followers not yet known; fill in missing unionids. Returns how many new."""
        ...
