"""What the campaign use cases need from the outside world, as small interfaces.

MongoDB implements the stores (``adapters/``), and so does memory (``adapters/memory.py``, held to the
same contract tests, for the use-case tests); the poster renderer runs Pillow in worker processes. The
records the stores keep are domain types (:mod:`..domain.participants`, :mod:`..domain.submissions`);
the few that only describe storage (an uploaded image, a join code) are declared here with the port
that returns them.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.campaigns.domain.campaign import Campaign, CampaignStatus
from services.campaigns.domain.flag_reviews import FlagReview
from services.campaigns.domain.graph import Edge
from services.campaigns.domain.participants import Invitation, Notice, Participant
from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.domain.payouts import SharePayout
from services.campaigns.domain.poster_layout import PosterLayout
from services.campaigns.domain.posters import PosterSpec
from services.campaigns.domain.referrals import CampaignView
from services.campaigns.domain.results import CampaignStats, LeaderboardRow, MemberCampaign, ParticipantRow
from services.campaigns.domain.rewards import PoolStock
from services.campaigns.domain.submissions import AuditEntry, Claim, SubmissionRecord
from services.campaigns.domain.variants import VariantPlan
from services.screenshots import Decision, PriorShot, TimedAnalysis
from shared.events import Envelope, Topic
from shared.wechat_client import CustomMessage, MediaKind, QrCode, UploadedMedia

__all__ = [
    "AddedCodes",
    "CampaignDirectory",
    "CampaignRepository",
    "CampaignResults",
    "CodeAllocator",
    "CounterRebuild",
    "DeliveryRecords",
    "Freeze",
    "ImageInfo",
    "JoinCode",
    "JoinCodes",
    "JoiningCampaigns",
    "MediaSource",
    "Messenger",
    "NoticeStore",
    "ParticipationAnnouncer",
    "Platform",
    "PosterPreviews",
    "PosterRendererPort",
    "PosterVariants",
    "ReferralGraph",
    "ReferralStore",
    "ReferralUnitOfWork",
    "ReviewedSubmissions",
    "RewardLedger",
    "RewardPools",
    "ScreenshotAnalysis",
    "SharePayoutStore",
    "ShareScreenshotStore",
    "ShareTaskCampaigns",
    "TemplateImage",
    "TemplateStore",
    "UnknownAccount",
]


# -- campaign definitions ------------------------------------------------------------------------------


class CampaignRepository(abc.ABC):
    """Campaigns by account. ``save`` refuses a campaign read before someone else's save."""

    @abc.abstractmethod
    async def add(self, campaign: Campaign) -> None:
        """Store a new campaign (its version becomes 1)."""

    @abc.abstractmethod
    async def get(self, appid: str, campaign_id: str) -> Campaign | None:
        """The campaign, or None when there is none with this id in this account."""

    @abc.abstractmethod
    async def save(self, campaign: Campaign) -> None:
        """Store the changed campaign if its stored version is still ``campaign.version``, then bump it;
        raise :class:`~services.campaigns.domain.campaign.VersionConflict` otherwise."""

    @abc.abstractmethod
    async def list(
        self,
        appid: str,
        *,
        status: CampaignStatus | None = None,
        limit: int = 50,
        offset: int = 0,
        archived: bool | None = None,
    ) -> list[Campaign]:
        """The account's campaigns, newest first (``archived``: only those, or only the others; None: all)."""

    @abc.abstractmethod
    async def delete_draft(self, appid: str, campaign_id: str, version: int) -> bool:
        """Delete the campaign if it is still a draft at ``version``; False when it is not (any more)."""


@dataclass(frozen=True)
class ImageInfo:
    """What an uploaded poster background is, as read from its header."""

    content_type: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class TemplateImage:
    id: str
    appid: str
    campaign_id: str
    info: ImageInfo
    sha256: str
    uploaded_at: datetime


class TemplateStore(abc.ABC):
    """Poster background images, one per upload."""

    @abc.abstractmethod
    async def put(self, appid: str, campaign_id: str, data: bytes, info: ImageInfo) -> TemplateImage: ...

    @abc.abstractmethod
    async def get(self, campaign_id: str, image_id: str) -> TemplateImage | None: ...

    @abc.abstractmethod
    async def read(self, image_id: str) -> bytes | None:
        """The image's bytes (the poster renderer's input)."""

    @abc.abstractmethod
    async def delete(self, image_id: str) -> None: ...


# -- campaigns as the member-facing flows read them (CampaignDirectoryAdapter, briefly cached) --------


class JoiningCampaigns(Protocol):
    """Campaign lookups the joining flow needs."""

    async def campaign(self, appid: str, campaign_id: str) -> Campaign | None: ...

    async def joinable(self, appid: str) -> Sequence[Campaign]:
        """Active campaigns, and recently ended ones (whose keywords answer with the ended text)."""
        ...

    async def poster_spec(self, campaign: Campaign, nickname: str, member: str | None = None) -> PosterSpec | None:
        """The poster for ``member`` (their poster variant, given on first ask), or the campaign's own."""
        ...


class ShareTaskCampaigns(Protocol):
    """Campaign lookups the share-screenshot task needs."""

    async def active(self, appid: str) -> list[Campaign]: ...

    async def campaign(self, appid: str, campaign_id: str) -> Campaign | None: ...

    async def poster_spec(self, campaign: Campaign, nickname: str, member: str | None = None) -> PosterSpec | None:
        """The poster for ``member`` (their poster variant, given on first ask), or the campaign's own."""
        ...


class CampaignDirectory(Protocol):
    """The crediting view of a campaign (its rules and texts), for the referral handlers."""

    async def find(self, appid: str, campaign_id: str) -> CampaignView | None: ...


# -- the WeChat platform and screenshot analysis -------------------------------------------------------


class Platform(Protocol):
    """The part of :class:`shared.wechat_client.WeChatClient` giving a poster uses (fakes implement it)."""

    async def create_qrcode(
        self, scene: int | str, *, permanent: bool = False, expire_seconds: int | None = None
    ) -> QrCode: ...

    async def upload_media(self, kind: MediaKind, filename: str, content: bytes) -> UploadedMedia: ...

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None: ...


class Messenger(Protocol):
    async def send_custom_message(self, openid: str, message: CustomMessage) -> None: ...


class MediaSource(Protocol):
    async def get_media(self, media_id: str) -> bytes: ...


class ScreenshotAnalysis(Protocol):
    """Measures a screenshot against the member's poster, off the event loop (the analysis pool)."""

    async def analyze(self, screenshot: bytes, poster: bytes, payload: str) -> TimedAnalysis: ...


# -- notices -------------------------------------------------------------------------------------------


class NoticeStore(Protocol):
    """Queued notices, outside any transaction: delivery happens after the effect committed."""

    async def queued_by(self, event_id: str) -> list[Notice]:
        """Pending notices the handling of one event queued."""
        ...

    async def held_for(self, appid: str, openid: str) -> list[Notice]:
        """Notices waiting for this member's customer-service window to open."""
        ...

    async def mark(self, notice: Notice, status: str, at: datetime, *, text: str | None = None) -> None: ...

    async def pending_of_kind(self, kind: str, limit: int) -> list[Notice]:
        """Pending notices of one kind, oldest first (the campaign-ended announcements the worker sends)."""
        ...


class Announcements(Protocol):
    """Queues one notice per participant of a campaign (ending it can tell everyone)."""

    async def to_participants(
        self, campaign: Campaign, kind: str, text_for: Callable[[Participant], str], at: datetime
    ) -> int:
        """Queue a pending notice of ``kind`` for each participant (once each: a repeat adds none);
        how many participants there are."""
        ...


class CodeAllocator(Protocol):
    async def allocate(self, campaign_id: str, pool: str, grant_key: str) -> str | None: ...


class RewardLedger(Protocol):
    async def record_code(self, reward_id: str, code: str | None, at: datetime) -> None: ...


class DeliveryRecords(NoticeStore, RewardLedger, Protocol):
    """What delivering notices reads and marks: the queued notices and the reward codes they carry."""


# -- reward pools and join codes -----------------------------------------------------------------------


@dataclass(frozen=True)
class AddedCodes:
    added: int
    #: Codes that were in the pool already (from an earlier upload).
    already_in_pool: int


class RewardPools(abc.ABC):
    """Coupon codes by campaign and pool; the API fills them, granting a tier draws one."""

    @abc.abstractmethod
    async def add_codes(self, campaign_id: str, pool: str, codes: Iterable[str]) -> AddedCodes: ...

    @abc.abstractmethod
    async def generate(self, campaign_id: str, pool: str, count: int) -> int:
        """Add ``count`` new generated codes; returns how many were added (``count``)."""

    @abc.abstractmethod
    async def allocate(self, campaign_id: str, pool: str, grant_key: str) -> str | None:
        """A code for ``grant_key``: the one it already holds, else a free one; None when none is left."""

    @abc.abstractmethod
    async def stock(self, campaign_id: str) -> list[PoolStock]:
        """Every pool of the campaign that has codes, by name."""


class UnknownAccount(LookupError):
    """No credentials for the account, so no code can be asked of the platform."""

    def __init__(self, appid: str) -> None:
        super().__init__(f"unknown account {appid!r}")
        self.appid = appid


@dataclass(frozen=True)
class JoinCode:
    campaign_id: str
    scene: str
    ticket: str
    url: str
    image_url: str
    expires_at: datetime


class JoinCodes(abc.ABC):
    """A campaign's own QR code, created on first request and renewed before it expires."""

    @abc.abstractmethod
    async def current(self, appid: str, campaign_id: str, *, ends_at: datetime, now: datetime) -> JoinCode: ...


class CampaignResults(abc.ABC):
    """Statistics read straight from the flow's own records (participants, invitations, rewards)."""

    @abc.abstractmethod
    async def of(self, campaign_id: str, *, top: int = 10) -> CampaignStats: ...

    @abc.abstractmethod
    async def leaderboard(self, campaign_id: str, *, limit: int = 10) -> list[LeaderboardRow]:
        """Top inviters by standing credit; ties go to whoever joined first."""

    @abc.abstractmethod
    async def rewards(self, campaign_id: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        """Grants, oldest first, with the coupon code each one was issued (None until delivery)."""

    @abc.abstractmethod
    def participants(self, campaign_id: str) -> AsyncIterator[dict[str, Any]]:
        """Every participant, in join order, for the CSV export (streamed, never all in memory)."""

    @abc.abstractmethod
    async def participant_page(
        self, campaign_id: str, *, openid_prefix: str | None, limit: int, offset: int
    ) -> tuple[list[ParticipantRow], int]:
        """A page of participants in join order (optionally those whose openid starts with the prefix),
        and how many there are in all."""

    @abc.abstractmethod
    async def member_campaigns(self, appid: str, openid: str, *, limit: int) -> list[MemberCampaign]:
        """The campaigns of the account the member joined, latest join first, with their invitees
        (capped), rewards and share-screenshot submissions."""


class CounterRebuild(Protocol):
    """Recomputes the stats counters from the records (``MongoCounterRebuild``, in memory for tests)."""

    async def campaigns(self, appid: str | None = None) -> list[tuple[str, str]]:
        """``(appid, campaign id)`` of every campaign, or of one account's."""
        ...

    async def rebuild_campaign(self, campaign_id: str) -> Mapping[str, int]:
        """Replace the campaign's counters with a recount of its records; returns the counts."""
        ...

    async def rebuild_account(self, appid: str) -> Mapping[str, int]:
        """Replace the account's counters (its screenshots by status) with a recount."""
        ...


# -- posters -------------------------------------------------------------------------------------------


class PosterRendererPort(abc.ABC):
    """Personal posters for the campaign flow. Fakes subclass this."""

    @abc.abstractmethod
    async def render(
        self,
        campaign_id: str,
        template_version: str | int,
        member_key: str,
        template_bytes: bytes,
        layout: PosterLayout,
        qr_url: str,
        texts: Mapping[str, str],
    ) -> bytes:
        """The member's poster as JPEG bytes, rendered or from cache.

        ``template_version`` must change whenever the template's bytes do: the cache trusts it and does
        not hash the image. Raises the renderer's ``PosterError`` or ``PosterLayoutError``.
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Wait for renders in progress, then release the workers."""


class PosterPreviews(abc.ABC):
    """A poster drawn for the operator, not for a member: rendered as the worker renders one, then
    (``outline``) with the QR box and every text slot outlined and labelled. Not cached."""

    @abc.abstractmethod
    async def preview(
        self, template_bytes: bytes, layout: PosterLayout, qr_url: str, texts: Mapping[str, str], *, outline: bool
    ) -> bytes:
        """The poster as PNG bytes. Raises the renderer's ``PosterError`` or ``PosterLayoutError``."""


# -- participants, referrals and share screenshots -----------------------------------------------------


class ReferralStore(abc.ABC):
    """The port the referral handlers use; one implementation per unit of work."""

    @abc.abstractmethod
    async def participant(self, campaign_id: str, openid: str) -> Participant | None: ...

    @abc.abstractmethod
    async def participant_by_code(self, campaign_id: str, code: str) -> Participant | None: ...

    @abc.abstractmethod
    async def participant_by_qr_url(self, appid: str, qr_url: str) -> Participant | None:
        """Whose referral QR code this is (any campaign of the account): a reviewer's question."""

    @abc.abstractmethod
    async def add_participant(self, participant: Participant) -> Participant:
        """Insert, or return the one already there (a redelivered join)."""

    @abc.abstractmethod
    async def save_participant(self, participant: Participant) -> None: ...

    @abc.abstractmethod
    async def remember_follower(self, appid: str, openid: str, followed_at: datetime) -> bool:
        """Record a follow of the account; True if this member was never seen following before."""

    @abc.abstractmethod
    async def invitation(self, campaign_id: str, invitee: str) -> Invitation | None: ...

    @abc.abstractmethod
    async def credited_invitations_of(self, invitee: str) -> list[Invitation]:
        """The invitee's invitations still credited, in any campaign."""

    @abc.abstractmethod
    async def add_invitation(self, invitation: Invitation) -> bool:
        """False if the invitee already has one in this campaign."""

    @abc.abstractmethod
    async def revoke_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool: ...

    @abc.abstractmethod
    async def due_confirmations(self, now: datetime, limit: int) -> list[Invitation]:
        """Pending credits (still credited, not confirmed) whose window has passed by ``now``, oldest first."""

    @abc.abstractmethod
    async def confirm_invitation(self, campaign_id: str, invitee: str, at: datetime) -> bool:
        """Confirm a pending credit; False if it is no longer pending (revoked, or confirmed already)."""

    @abc.abstractmethod
    async def credits_since(self, campaign_id: str, inviter: str, since: datetime) -> int: ...

    @abc.abstractmethod
    async def record_rejection(
        self, campaign_id: str, inviter: str, invitee: str, reason: str, at: datetime
    ) -> None: ...

    @abc.abstractmethod
    async def grant_reward(self, campaign_id: str, inviter: str, tier: int, pool: str, at: datetime) -> bool:
        """Record the tier's grant; False if it was granted already (exactly once)."""

    @abc.abstractmethod
    async def add_notice(self, notice: Notice) -> None:
        """Queue a message for a member; an existing notice with the same id is left alone."""

    async def inviter_frozen(self, appid: str, openid: str) -> bool:
        """Whether the member is frozen pending review (their tier rewards are held); stores that
        keep no freezes say no."""
        return False


class KnownFollowers(Protocol):
    """Followers the account had before the campaigns service saw them follow (imported or listed
    from the platform): what decides that their later re-follow is not a new follower."""

    async def seed(self, appid: str, followers: Sequence[tuple[str, datetime]]) -> int:
        """Record each ``(openid, following at)``; members already known are left as they are.
        Returns how many were not known before."""
        ...


class ShareScreenshotStore(abc.ABC):
    """Share-screenshot submissions, the pictures awaiting review and the audit trail.

    Inside a unit of work the writes join its transaction (with the reward and the notice they cause).
    """

    @abc.abstractmethod
    async def add(self, record: SubmissionRecord) -> bool:
        """False if a submission with this id is recorded already (a redelivery)."""

    @abc.abstractmethod
    async def keep_image(self, submission: str, content: bytes, content_type: str) -> None:
        """The picture, for a reviewer: kept only for submissions that wait for a person."""

    @abc.abstractmethod
    async def audit(self, entry: AuditEntry) -> None: ...

    @abc.abstractmethod
    async def settle_review(
        self,
        submission: str,
        decision: Decision,
        reviewer: str,
        note: str | None,
        at: datetime,
        *,
        reviewer_id: str | None = None,
        reason: str | None = None,
    ) -> SubmissionRecord | None:
        """Move a submission out of review and drop its claim; None if it is not in review (any more)
        or someone other than ``reviewer_id`` holds a live claim on it: decided once, by its claimant."""

    # -- reviewers' claims (atomic: two reviewers never hold the same submission) ---------------------

    @abc.abstractmethod
    async def claim(self, submission: str, claim: Claim, now: datetime) -> SubmissionRecord | None:
        """Claim (or renew one's claim on) a submission in review, unless someone else's claim is live.
        None when it is not in review or held by another: read it to tell which."""

    @abc.abstractmethod
    async def claim_next(
        self, appid: str, campaign_id: str | None, claim: Claim, now: datetime
    ) -> SubmissionRecord | None:
        """Claim the account's (or campaign's) oldest submission in review that nobody else holds a
        live claim on, in one atomic step; None when there is none."""

    @abc.abstractmethod
    async def release(self, submission: str, holder_id: str, now: datetime) -> bool:
        """Drop the claim if ``holder_id`` holds it or it has lapsed; False if another's is live."""

    @abc.abstractmethod
    async def get(self, submission: str) -> SubmissionRecord | None: ...

    @abc.abstractmethod
    async def approved(self, campaign_id: str, openid: str) -> bool:
        """Whether the member has an approved submission in the campaign."""

    @abc.abstractmethod
    async def earlier(self, campaign_id: str) -> list[PriorShot]:
        """Every earlier submission of the campaign with the fingerprints re-use is judged by."""

    @abc.abstractmethod
    async def candidates(self, campaign_id: str, keys: Sequence[str]) -> list[PriorShot]:
        """The earlier submissions of the campaign that share a re-use lookup key with ``keys`` (see
        ``services.screenshots.lookup_keys``) other than the hot ones (``HOT_KEY`` submissions have it),
        those sharing most (rare keys weighing more) first, at most ``CANDIDATES``: an indexed lookup,
        never a read of every submission."""

    @abc.abstractmethod
    async def latch_reuse(self, campaign_id: str, keys: Sequence[str]) -> None:
        """Count ``keys`` (those not hot yet) in the campaign's latch documents, in the unit of work's
        transaction. Two transactions recording alike pictures at once share a latch, so they
        conflict: the one retried then reads the other's submission among its candidates (write skew
        made a write conflict)."""

    @abc.abstractmethod
    async def listing(
        self,
        campaign_id: str,
        *,
        status: str | None,
        reason: str | None,
        received_before: datetime | None,
        limit: int,
        offset: int,
        openid: str | None = None,
    ) -> list[SubmissionRecord]:
        """Submissions, oldest first, filtered."""

    @abc.abstractmethod
    async def counts(self, campaign_id: str) -> dict[str, int]:
        """Submissions of the campaign by status."""

    @abc.abstractmethod
    async def account_listing(
        self,
        appid: str,
        *,
        campaign_id: str | None,
        status: str | None,
        reason: str | None,
        openid: str | None,
        limit: int,
        offset: int,
        newest_first: bool,
    ) -> list[SubmissionRecord]:
        """The account's submissions across its campaigns (or one campaign's), filtered, by age."""

    @abc.abstractmethod
    async def account_counts(self, appid: str, campaign_id: str | None) -> dict[str, int]:
        """The account's (or one campaign's) submissions by status (statuses with none left out)."""

    @abc.abstractmethod
    async def of_member(self, campaign_id: str, openid: str) -> list[SubmissionRecord]:
        """A member's submissions in a campaign, oldest first."""

    @abc.abstractmethod
    async def image(self, submission: str) -> tuple[bytes, str] | None:
        """The kept picture and its content type."""

    @abc.abstractmethod
    async def trail(self, submission: str) -> list[AuditEntry]: ...


class SharePayoutStore(abc.ABC):
    """Delayed share-reward payouts (one per member and campaign), moved from state to state by
    conditional writes: of two sweeps (or a sweep and the member's re-check) only one moves a payout.

    Inside a unit of work the writes join its transaction (with the reward and notices they cause)."""

    @abc.abstractmethod
    async def open(self, payout: SharePayout) -> bool:
        """Record a new payout; False if the member has one in the campaign already."""

    @abc.abstractmethod
    async def get(self, campaign_id: str, openid: str) -> SharePayout | None: ...

    @abc.abstractmethod
    async def move(self, before: SharePayout, after: SharePayout) -> bool:
        """Replace the payout with ``after`` if it is still in ``before``'s state; False otherwise."""

    @abc.abstractmethod
    async def due(self, now: datetime, limit: int) -> list[SharePayout]:
        """Pending payouts with something due by ``now`` (ask, expire, pay), earliest first."""

    @abc.abstractmethod
    async def awaiting_recheck(self, appid: str, openid: str) -> list[SharePayout]:
        """The member's payouts whose re-check was asked and not yet sent."""

    @abc.abstractmethod
    async def tally(self, campaign_id: str) -> dict[str, int]:
        """The campaign's payouts by state, and ``recheck_asked`` (those asked for a re-check)."""

    @abc.abstractmethod
    async def listing(self, campaign_id: str, *, state: str | None, limit: int, offset: int) -> list[SharePayout]:
        """The campaign's payouts (in one state), oldest approval first."""


class ReviewedSubmissions(abc.ABC):
    """Submissions a person decided (approved or rejected from review): the labelled examples the
    review queue exports to calibrate the verifier on real screenshots."""

    @abc.abstractmethod
    async def reviewed(
        self,
        appid: str,
        *,
        campaign_id: str | None,
        decided_after: datetime | None,
        decided_until: datetime | None,
        limit: int,
    ) -> list[SubmissionRecord]:
        """The account's (or one campaign's) reviewer decisions, oldest decision first: decided
        strictly after ``decided_after`` (the previous page's last) and at or before ``decided_until``."""


class ReferralUnitOfWork(abc.ABC):
    """One transaction over participants, referrals, rewards, notices and submissions, with the claim
    of the event that causes them and the events that report them (:meth:`emit`, the outbox): an
    event's effects happen once, all or nothing."""

    store: ReferralStore
    #: Share-screenshot submissions (same transaction as the reward and notice they cause).
    screenshots: ShareScreenshotStore
    #: Delayed share-reward payouts (same transaction as the reward and notices they cause).
    payouts: SharePayoutStore

    @abc.abstractmethod
    async def __aenter__(self) -> ReferralUnitOfWork: ...

    @abc.abstractmethod
    async def __aexit__(self, *exc: object) -> None: ...

    @abc.abstractmethod
    async def claim(self, consumer: str, event_id: str) -> bool: ...

    @abc.abstractmethod
    async def emit(self, topic: Topic, envelope: Envelope) -> None:
        """Publish ``envelope`` on ``topic`` if, and only if, this transaction commits (the outbox;
        the campaigns worker's relay publishes it). The same event id emitted twice is kept once."""

    @abc.abstractmethod
    async def commit(self) -> None: ...


# -- what other services hear --------------------------------------------------------------------------


class ParticipationAnnouncer(Protocol):
    """Where participants' standings go once committed (the ``campaigns.participation`` topic:
    :class:`~services.campaigns.adapters.participation_events.PublishedParticipation`)."""

    async def announce(self, changes: Sequence[ParticipationChange]) -> None:
        """Publish each change; raises if any could not be published."""
        ...


# -- poster variants and the referral graph ------------------------------------------------------------


class PosterVariants(abc.ABC):
    """Campaigns' extra poster templates, which member was given which, and each variant's counts."""

    @abc.abstractmethod
    async def plan(self, campaign_id: str) -> VariantPlan | None: ...

    @abc.abstractmethod
    async def save_plan(self, appid: str, plan: VariantPlan) -> None: ...

    @abc.abstractmethod
    async def assignment(self, campaign_id: str, openid: str) -> str | None: ...

    @abc.abstractmethod
    async def assign(self, campaign_id: str, openid: str, variant: str) -> str:
        """Give the member ``variant`` unless they have one already; the variant they have (counted once)."""

    @abc.abstractmethod
    async def count_scan(self, campaign_id: str, event_id: str, variant: str, *, follow: bool, credited: bool) -> bool:
        """Count a scan of a member's code (and whether it was a follow, and credited) once per push."""

    @abc.abstractmethod
    async def counts(self, campaign_id: str) -> dict[str, int]:
        """The campaign's variant counters: ``members:<v>``, ``scans:<v>``, ``follows:<v>``, ``credited:<v>``."""


@dataclass(frozen=True)
class Freeze:
    """An inviter frozen pending review: tier rewards held until released (then granted) or kept frozen."""

    appid: str
    openid: str
    status: str  # frozen | released
    reason: str
    frozen_by: str
    frozen_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None


class ReferralGraph(abc.ABC):
    """Edges (one per credited invitation, across campaigns) and freezes, per account."""

    @abc.abstractmethod
    async def record_edge(self, edge: Edge) -> bool:
        """Insert the invitation's edge unless there (one per campaign and invitee); True if inserted."""

    @abc.abstractmethod
    async def set_status(self, campaign_id: str, invitee: str, status: str) -> None: ...

    @abc.abstractmethod
    async def note_unfollow(self, appid: str, invitee: str, at: datetime) -> list[Edge]:
        """Record the invitee's first unfollow on their edges credited before ``at``; their edges."""

    @abc.abstractmethod
    async def note_interaction(self, appid: str, invitee: str, at: datetime) -> None:
        """Record the invitee's first interaction on their edges credited before ``at``."""

    @abc.abstractmethod
    async def edges(self, appid: str, *, inviter: str | None = None, limit: int = 100_000) -> list[Edge]:
        """The account's edges (of one inviter), oldest credit first, at most ``limit``."""

    @abc.abstractmethod
    async def freeze(self, freeze: Freeze) -> Freeze | None:
        """Freeze the inviter; None if they are frozen already."""

    @abc.abstractmethod
    async def release(self, appid: str, openid: str, by: str, at: datetime) -> Freeze | None:
        """Lift the freeze; None if they were not frozen."""

    @abc.abstractmethod
    async def freezes(self, appid: str, *, status: str | None = None) -> list[Freeze]: ...

    @abc.abstractmethod
    async def invitations(self, campaign_id: str) -> list[Invitation]:
        """The campaign's invitations, credited and revoked (what :func:`backfill` derives edges from)."""

    # Flags kept for review (``domain/flag_reviews.py``): one per (account, kind, key inviter).

    @abc.abstractmethod
    async def flag_reviews(self, appid: str) -> list[FlagReview]:
        """The account's stored flags, current or not."""

    @abc.abstractmethod
    async def keep_flags(self, flags: Sequence[FlagReview]) -> None:
        """Store what a computation saw of each flag (its pattern, ``current``, ``last_seen_at``);
        a new one is inserted with its review state, an existing one keeps its review state."""

    @abc.abstractmethod
    async def review_flag(self, flag: FlagReview, expected_status: str) -> bool:
        """Write the flag's review (status, who, when, note) if it is still ``expected_status``;
        False when it is not (reviewed meanwhile) or unknown."""
