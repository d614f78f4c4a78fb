"""Events the profiles service publishes about the profiles it keeps."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.events import Event

OpenId = Annotated[str, Field(min_length=1, max_length=128)]


class ProfileChanged(Event):
    """A member's profile was written (tags, life stage, follow state, consents, activity or spend).

    It names the member, not the change: readers that keep their own view of profiles (the segment
    index) re-read the stored profile, so a late or repeated event can only make them fresher.
    """

    message_type = "profile.changed"
    message_version = 1

    openid: OpenId
