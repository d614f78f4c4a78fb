"""Share-screenshot submissions as the campaign keeps them: the decision, its evidence, its audit trail.

A submission's id is ``<appid>:<msg_id>`` (:func:`submission_id`): WeChat retries a push with the same
message id and Kafka may redeliver it, and either way the second record finds the first.

Statuses::

    review ──approve──▶ approved        (a person decided; the audit trail says who and why)
      └─────reject───▶ rejected
    approved / rejected                  (decided automatically; final)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.screenshots import Decision, Fingerprint

__all__ = ["STATUS", "AuditEntry", "SubmissionRecord", "submission_id"]

#: Statuses by decision.
STATUS = {Decision.APPROVE: "approved", Decision.REJECT: "rejected", Decision.REVIEW: "review"}


def submission_id(appid: str, msg_id: str) -> str:
    return f"{appid}:{msg_id}"


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
