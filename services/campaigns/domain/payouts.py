"""Delayed payout of share rewards, with a second look. Pure: the policy, the payout's states, the rules.

An approved share screenshot proves the post existed when it was taken; a post deleted a minute later
proves nothing more. A campaign may therefore pay its share reward after a delay (``delay_hours``),
and ask for a *re-check* first: some hours after the approval (``recheck_after_hours``) the member is
asked for a fresh screenshot of the same post, to send within ``recheck_deadline_hours``. The re-check
is asked of every member (``all``) or of a sample (``sample``, ``recheck_percent`` of them, chosen by a
hash of the campaign and the member, so a retried sweep chooses the same members).

A payout's states::

    waiting ──(recheck due)──▶ recheck_requested ──fresh screenshot of the same post──▶ recheck_passed
       │                          │  └──(deadline passed)──▶ recheck_expired   (no reward)      │
       │                          └──a failed one──────────▶ recheck_failed    (no reward)      │
       └────────────(pay time, no re-check)────────▶ paid ◀──────────(pay time)──────────────────┘

``due_at`` is when the sweep next has something to do with a payout (ask, expire or pay); None once
it is settled. A payout is paid once: the reward's grant key is the share reward's own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "ACTIVE",
    "FAILING_REASONS",
    "IllegalPayoutMove",
    "PayoutPolicyInvalid",
    "PayoutState",
    "RecheckJudgement",
    "RecheckMode",
    "SharePayout",
    "SharePayoutPolicy",
    "Step",
    "judge_recheck",
    "newest_age",
    "open_payout",
    "payout_id",
    "sampled",
]

#: The longest a payout may be delayed, a re-check wait, and a re-check deadline (hours).
MAX_DELAY_HOURS = 24 * 30
MAX_DEADLINE_HOURS = 24 * 7


class PayoutPolicyInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RecheckMode(StrEnum):
    NONE = "none"
    SAMPLE = "sample"
    ALL = "all"


@dataclass(frozen=True)
class SharePayoutPolicy:
    """A campaign's share-reward payout: when it is paid, and whom a re-check is asked of.

    The default (no delay, no re-check) pays at approval, as before this existed."""

    delay_hours: int = 0
    recheck: RecheckMode = RecheckMode.NONE
    recheck_percent: int = 10
    recheck_after_hours: int = 24
    recheck_deadline_hours: int = 24

    @property
    def immediate(self) -> bool:
        return self.delay_hours == 0 and self.recheck is RecheckMode.NONE

    def validate(self, prefix: str = "share_payout") -> None:
        def need(ok: bool, name: str, message: str) -> None:
            if not ok:
                raise PayoutPolicyInvalid(f"{prefix}.{name}", message)

        need(0 <= self.delay_hours <= MAX_DELAY_HOURS, "delay_hours", f"between 0 and {MAX_DELAY_HOURS}")
        need(1 <= self.recheck_percent <= 100, "recheck_percent", "between 1 and 100")
        need(
            1 <= self.recheck_after_hours <= MAX_DELAY_HOURS, "recheck_after_hours", f"between 1 and {MAX_DELAY_HOURS}"
        )
        need(
            1 <= self.recheck_deadline_hours <= MAX_DEADLINE_HOURS,
            "recheck_deadline_hours",
            f"between 1 and {MAX_DEADLINE_HOURS}",
        )

    def asks_recheck_of(self, campaign_id: str, openid: str) -> bool:
        match self.recheck:
            case RecheckMode.ALL:
                return True
            case RecheckMode.SAMPLE:
                return sampled(campaign_id, openid, self.recheck_percent)
            case RecheckMode.NONE:
                return False


def sampled(campaign_id: str, openid: str, percent: int) -> bool:
    """Whether the member is in the campaign's ``percent`` sample: a hash, so every retry agrees."""
    digest = hashlib.sha256(f"recheck:{campaign_id}:{openid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


class PayoutState(StrEnum):
    WAITING = "waiting"
    RECHECK_REQUESTED = "recheck_requested"
    RECHECK_PASSED = "recheck_passed"
    PAID = "paid"
    RECHECK_FAILED = "recheck_failed"
    RECHECK_EXPIRED = "recheck_expired"


#: States the sweep still acts on (the payout is pending).
ACTIVE = frozenset({PayoutState.WAITING, PayoutState.RECHECK_REQUESTED, PayoutState.RECHECK_PASSED})


class IllegalPayoutMove(Exception):
    """The payout is not in a state that allows this move (another sweep or message moved it first)."""


class Step(StrEnum):
    """What the sweep does with a due payout."""

    ASK = "ask"
    EXPIRE = "expire"
    PAY = "pay"


def payout_id(campaign_id: str, openid: str) -> str:
    """One payout per member and campaign, as there is one share reward."""
    return f"{campaign_id}:{openid}"


@dataclass(frozen=True)
class SharePayout:
    id: str
    campaign_id: str
    appid: str
    openid: str
    pool: str
    #: The approved submission whose reward this is (the re-check is compared with it).
    submission_id: str
    approved_at: datetime
    #: When the reward may be paid (approval + delay).
    pay_at: datetime
    state: PayoutState
    due_at: datetime | None
    #: When the re-check is asked (None: not asked of this member).
    recheck_at: datetime | None = None
    recheck_requested_at: datetime | None = None
    recheck_deadline_at: datetime | None = None
    #: The re-check screenshot that passed or failed (its submission id) and why it failed.
    recheck_submission: str | None = None
    recheck_reasons: tuple[str, ...] = ()
    settled_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.state in ACTIVE

    def step(self, now: datetime) -> Step | None:
        """What is due at ``now``, if anything."""
        match self.state:
            case PayoutState.WAITING if self.recheck_at is not None:
                return Step.ASK if now >= self.recheck_at else None
            case PayoutState.WAITING | PayoutState.RECHECK_PASSED:
                return Step.PAY if now >= self.pay_at else None
            case PayoutState.RECHECK_REQUESTED:
                deadline = self.recheck_deadline_at
                return Step.EXPIRE if deadline is not None and now >= deadline else None
        return None

    def _expect(self, *states: PayoutState) -> None:
        if self.state not in states:
            raise IllegalPayoutMove(f"payout {self.id} is {self.state}, not {' or '.join(states)}")

    def ask(self, now: datetime, deadline_hours: int) -> SharePayout:
        self._expect(PayoutState.WAITING)
        deadline = now + timedelta(hours=deadline_hours)
        return replace(
            self,
            state=PayoutState.RECHECK_REQUESTED,
            recheck_requested_at=now,
            recheck_deadline_at=deadline,
            due_at=deadline,
        )

    def pass_recheck(self, now: datetime, submission: str) -> SharePayout:
        self._expect(PayoutState.RECHECK_REQUESTED)
        return replace(
            self, state=PayoutState.RECHECK_PASSED, recheck_submission=submission, due_at=max(self.pay_at, now)
        )

    def fail_recheck(self, now: datetime, submission: str, reasons: tuple[str, ...]) -> SharePayout:
        self._expect(PayoutState.RECHECK_REQUESTED)
        return replace(
            self,
            state=PayoutState.RECHECK_FAILED,
            recheck_submission=submission,
            recheck_reasons=reasons,
            due_at=None,
            settled_at=now,
        )

    def expire(self, now: datetime) -> SharePayout:
        self._expect(PayoutState.RECHECK_REQUESTED)
        return replace(self, state=PayoutState.RECHECK_EXPIRED, due_at=None, settled_at=now)

    def pay(self, now: datetime) -> SharePayout:
        self._expect(PayoutState.WAITING, PayoutState.RECHECK_PASSED)
        if self.state is PayoutState.WAITING and self.recheck_at is not None:
            raise IllegalPayoutMove(f"payout {self.id} waits for its re-check")
        return replace(self, state=PayoutState.PAID, due_at=None, settled_at=now)


def open_payout(
    policy: SharePayoutPolicy,
    *,
    campaign_id: str,
    appid: str,
    openid: str,
    pool: str,
    submission_id: str,
    approved_at: datetime,
) -> SharePayout:
    """The payout an approval starts: paid after the delay, after a re-check if one is asked."""
    pay_at = approved_at + timedelta(hours=policy.delay_hours)
    recheck_at = None
    if policy.asks_recheck_of(campaign_id, openid):
        recheck_at = approved_at + timedelta(hours=policy.recheck_after_hours)
    return SharePayout(
        id=payout_id(campaign_id, openid),
        campaign_id=campaign_id,
        appid=appid,
        openid=openid,
        pool=pool,
        submission_id=submission_id,
        approved_at=approved_at,
        pay_at=pay_at,
        state=PayoutState.WAITING,
        due_at=pay_at if recheck_at is None else recheck_at,
        recheck_at=recheck_at,
    )


# -- judging a re-check screenshot ---------------------------------------------------------------------

_MINUTES = re.compile(r"(\d{1,2})分|(\d{1,2})min", re.IGNORECASE)
_HOURS = re.compile(r"(\d{1,2})小时|(\d{1,2})h", re.IGNORECASE)
_JUST_NOW = re.compile(r"刚刚|just", re.IGNORECASE)


def newest_age(time_word: str | None) -> timedelta | None:
    """The most a post can be old, by its time row (刚刚: a minute; 5分钟前: 6 minutes; 3小时前: 4 hours);
    None when the row says nothing that bounds it (昨天, a date, or nothing read)."""
    if not time_word:
        return None
    if _JUST_NOW.search(time_word):
        return timedelta(minutes=1)
    if found := _MINUTES.search(time_word):
        return timedelta(minutes=int(found.group(1) or found.group(2)) + 1)
    if found := _HOURS.search(time_word):
        return timedelta(hours=int(found.group(1) or found.group(2)) + 1)
    return None


#: Verifier reasons that prove the re-check fails (the post is not there as it was, or not the
#: member's): no second try. Any other doubt or rejection lets the member try again until the deadline.
FAILING_REASONS = frozenset({"foreign_qr", "reused_screenshot", "private_post", "poster_mismatch"})
#: How far a time row may lag the clocks before a post counts as newer than the first screenshot.
_CLOCK_SLACK = timedelta(minutes=10)


class RecheckJudgement(StrEnum):
    PASSED = "passed"
    #: Proof of a problem: the reward is forfeited.
    FAILED = "failed"
    #: Not usable as a re-check (unclear, the old screenshot again...): the member may try again.
    RETRY = "retry"


def judge_recheck(
    *,
    decision: str,
    reasons: tuple[str, ...],
    same_file: bool,
    same_surroundings: bool | None,
    time_word: str | None,
    first_submitted_at: datetime,
    now: datetime,
) -> tuple[RecheckJudgement, str | None]:
    """Whether a fresh screenshot shows the same post, still there. Returns the judgement and the
    reason code (None when it passed).

    ``decision``/``reasons`` are the verifier's, measured with the member's own earlier screenshots left
    out of the re-use check (the same post, later, is not a copy of it); ``same_file``: byte for byte
    the first screenshot (not a fresh one); ``same_surroundings``: the context around the poster
    (avatar, nickname, words) matches the first screenshot's (None: could not be compared)."""
    failing = [reason for reason in reasons if reason in FAILING_REASONS]
    if failing:
        return RecheckJudgement.FAILED, failing[0]
    if same_file:
        return RecheckJudgement.RETRY, "not_fresh"
    if decision != "approve":
        return RecheckJudgement.RETRY, reasons[0] if reasons else "unclear"
    age = newest_age(time_word)
    if age is not None and age + _CLOCK_SLACK < now - first_submitted_at:
        return RecheckJudgement.FAILED, "posted_again"  # newer than the first screenshot: not that post
    if same_surroundings is False:
        return RecheckJudgement.FAILED, "not_same_post"
    return RecheckJudgement.PASSED, None
