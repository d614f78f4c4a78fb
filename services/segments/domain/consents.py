"""Members' consent to subscription messages (订阅通知), kept from the platform's pushes.

WeChat sends a subscription message only to a member who consented to its template: each accepted
popup allows one message (one-time consents add up), a long-term template any number; a member may
switch a template off in their settings, which cancels what they had allowed. Without consent the
platform answers 43101. Segments, the only sender of subscription messages, keeps the consents per
(account, member, template) so a push decides before sending who can get one (``decide`` skips the
others as ``no_subscription_consent``) and uses one consent per message sent, claimed atomically.

Pure rules here: what each of the platform's answers does to a consent. The store applies them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ACCEPT",
    "ConsentChange",
    "ConsentStatus",
    "SubscriptionConsent",
    "change_of_popup",
    "change_of_send_result",
    "change_of_settings",
    "consent_id",
    "usable",
]

#: The platform's SubscribeStatusString for a consent given.
ACCEPT = "accept"
#: ErrorStatus of a subscription message the member refused to receive.
_USER_BLOCK = "failed:user block"


class ConsentStatus(StrEnum):
    #: The member accepted the template (credits or long-term say how many may be sent).
    ACCEPTED = "accepted"
    #: The member switched the template off in their settings, or refused its messages: none is sent.
    CANCELLED = "cancelled"
    #: The member rejected the popup and never accepted the template.
    REJECTED = "rejected"


@dataclass(frozen=True)
class SubscriptionConsent:
    """What segments knows of one member's consent to one template."""

    appid: str
    openid: str
    template_id: str
    status: ConsentStatus
    #: One-time messages still allowed (each accepted popup adds one; each message sent uses one).
    credits: int
    #: The template is long-term: any number of messages while accepted.
    long_term: bool
    updated_at: datetime
    #: The member's last answer to a popup for this template (``accept`` or ``reject``).
    last_answer: str = ""

    @property
    def usable(self) -> bool:
        return self.status is ConsentStatus.ACCEPTED and (self.long_term or self.credits > 0)


class ConsentChange(StrEnum):
    #: One more one-time message allowed (or, for a long-term template, allowed again).
    GRANT = "grant"
    #: The popup was rejected: nothing more allowed, what was allowed stays.
    DECLINE = "decline"
    #: Nothing may be sent any more until the member accepts again (one-time credits are dropped).
    CANCEL = "cancel"
    #: Switched on again in the settings: a long-term template may be sent again; one-time credits
    #: dropped by a cancel stay dropped (a popup gives new ones).
    RESUME = "resume"


def consent_id(appid: str, openid: str, template_id: str) -> str:
    return f"{appid}:{openid}:{template_id}"


def change_of_popup(status: str) -> ConsentChange:
    """An answer to a popup: ``accept`` allows one message, anything else allows none."""
    return ConsentChange.GRANT if status == ACCEPT else ConsentChange.DECLINE


def change_of_settings(status: str) -> ConsentChange:
    """A switch in the member's notice settings: off cancels, on resumes."""
    return ConsentChange.RESUME if status == ACCEPT else ConsentChange.CANCEL


def change_of_send_result(error_code: int, error_status: str) -> ConsentChange | None:
    """The platform's result of a message sent: a member who refused it (``failed:user block``) wants
    no more of the template; any other result changes nothing (the consent was used when sent)."""
    if error_code != 0 and error_status.lower() == _USER_BLOCK:
        return ConsentChange.CANCEL
    return None


def usable(consents: Collection[SubscriptionConsent]) -> frozenset[str]:
    """The templates among ``consents`` that allow a message now."""
    return frozenset(c.template_id for c in consents if c.usable)
