"""Share-screenshot submissions as the campaign keeps them: the decision, its evidence, its audit trail.

A submission's id is ``<appid>:<msg_id>`` (:func:`submission_id`): WeChat retries a push with the same
message id and Kafka may redeliver it, and either way the second record finds the first.

Statuses::

    review ──approve──▶ approved        (a person decided; the audit trail says who and why)
      └─────reject───▶ rejected
    approved / rejected                  (decided automatically; final)

While in review a submission may be *claimed* by one reviewer for :data:`CLAIM_LEASE` (renewed when
they claim it again): nobody else can claim or decide it until the claim is released, decided or lapses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.screenshots import Decision, Fingerprint, Reason

__all__ = [
    "CLAIM_LEASE",
    "REJECT_REASONS",
    "STATUS",
    "AuditEntry",
    "Claim",
    "ClaimHeld",
    "SubmissionRecord",
    "submission_id",
]

#: Statuses by decision.
STATUS = {Decision.APPROVE: "approved", Decision.REJECT: "rejected", Decision.REVIEW: "review"}


#: How long a reviewer's claim keeps others off a submission unless they claim it again.
CLAIM_LEASE = timedelta(minutes=5)

#: The reasons a reviewer can reject with (code -> English label for the console): the verifier's
#: rejection reasons, whose Chinese text (:attr:`Reason.text`) is what the member reads. The review
#: reasons are left out: their text tells the member a person will look, which is no rejection.
REJECT_REASONS: dict[Reason, str] = {
    Reason.NO_POSTER: "No poster in the screenshot",
    Reason.FOREIGN_QR: "Someone else's poster (QR code not the member's)",
    Reason.POSTER_MISMATCH: "Not this campaign's poster",
    Reason.BARE_POSTER: "The poster itself, not a Moments screenshot",
    Reason.FULLSCREEN_VIEW: "A full-screen view, not the Moments post",
    Reason.NOT_MOMENTS: "Not a Moments post",
    Reason.PRIVATE_POST: "Private or restricted post",
    Reason.REUSED_SCREENSHOT: "A re-used screenshot",
    Reason.IMAGE_UNREADABLE: "Unreadable image",
    Reason.IMAGE_TOO_SMALL: "Image too small",
    Reason.IMAGE_TOO_LARGE: "Image too large",
}


def submission_id(appid: str, msg_id: str) -> str:
    return f"{appid}:{msg_id}"


@dataclass(frozen=True)
class Claim:
    """A reviewer working on a submission: who (operator id and name) and until when."""

    holder_id: str
    holder_name: str
    until: datetime

    def live(self, now: datetime) -> bool:
        return self.until > now


class ClaimHeld(Exception):
    """Another reviewer holds a live claim on the submission."""

    def __init__(self, submission: str, claim: Claim) -> None:
        super().__init__(f"submission {submission!r} is claimed by {claim.holder_name} until {claim.until.isoformat()}")
        self.submission = submission
        self.claim = claim


@dataclass(frozen=True)
class SubmissionRecord:
    id: str
    campaign_id: str
    appid: str
    openid: str
    received_at: datetime
    status: str
    decision: str
    reasons: list[str]
    evidence: dict[str, Any]
    fingerprint: Fingerprint
    decided_by: str
    decided_at: datetime
    ms: float = 0.0
    note: str | None = None
    content_type: str | None = None
    #: The reason code a reviewer rejected with (the machine's stay in ``reasons``).
    review_reason: str | None = None
    #: A reviewer working on it (submissions in review only; dropped when decided).
    claim: Claim | None = None

    def claimed_by_other(self, holder_id: str | None, now: datetime) -> Claim | None:
        """The live claim of someone other than ``holder_id``, if any."""
        claim = self.claim
        if claim is None or not claim.live(now) or claim.holder_id == holder_id:
            return None
        return claim


@dataclass(frozen=True)
class AuditEntry:
    submission_id: str
    campaign_id: str
    actor: str
    decision: str
    reasons: list[str]
    at: datetime
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
