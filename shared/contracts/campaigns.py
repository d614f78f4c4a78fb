"""Events the campaigns service publishes about campaign participants."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from shared.events import Event

OpenId = Annotated[str, Field(min_length=1, max_length=128)]


class CampaignParticipationChanged(Event):
    """A member joined a campaign, or the invites credited to them in it changed; their standing now.

    Published after the write committed: on joining, on a credit (a friend followed through their
    code) and on a revocation (one who did left again), for the account in the envelope. It carries the
    standing after the change, not the change. ``revision`` counts the changes to the credited count so
    far (credits plus revocations, 0 on joining): it grows by one with every change, so of two events
    about the same participant the one with the greater revision is the newer standing, whatever order
    they arrive in. The same standing is announced under the same event id, so a repeat is a redelivery.
    """

    message_type = "campaign.participation_changed"
    message_version = 1

    openid: OpenId
    campaign_id: Annotated[str, Field(min_length=1, max_length=128, description="The campaign joined.")]
    credited: Annotated[int, Field(description="Invites credited to the member in it now (revoked ones not counted).")]
    revision: Annotated[
        int, Field(ge=0, description="Changes to the credit so far: the greater revision is the newer standing.")
    ]
    occurred_at: Annotated[
        AwareDatetime, Field(description="When the change happened (the join, follow or unfollow behind it).")
    ]


def participation_event_id(campaign_id: str, openid: str, revision: int) -> str:
    """The event id of a standing: announcing the same standing twice yields the same id."""
    return f"participation:{campaign_id}:{openid}:{revision}"
