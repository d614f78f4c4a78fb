"""What the profiles service publishes about the profiles it keeps: its events and its read model.

The profiles service owns the ``profiles`` collection and alone writes it. Other services (the
segment index, the push dispatcher) may read it, but only through :data:`PROFILES_READ_MODEL`: the
collection's name and the fields declared there, with the meaning declared there. Anything else in a
profile document is the profiles service's own business and may change without notice.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from shared.contracts._read_model import ReadModel
from shared.events import Event
from shared.maternal_infant import DateSpan

OpenId = Annotated[str, Field(min_length=1, max_length=128)]


class ProfileChanged(Event):
    """A member's profile was written (tags, life stage, follow state, consents, activity or spend).

    It names the member, not the change: readers that keep their own view of profiles (the segment
    index) re-read the stored profile, so a late or repeated event can only make them fresher.
    """

    message_type = "profile.changed"
    message_version = 1

    openid: OpenId


PROFILES_READ_MODEL = ReadModel(
    collection="profiles",
    owner="profiles",
    key="f'{appid}:{openid}' (see profile_id): one document per member of an account",
    fields={
        "appid": "the Official Account the member follows (or followed)",
        "openid": "the member, as that account knows them",
        "tags": (
            "list of {code, weight, source, first_seen, last_seen}: taxonomy codes (shared.maternal_infant) "
            "with the weight stored at the last write (interest weights fade with time; readers may decay "
            "them from last_seen); a code may appear once per source"
        ),
        "stage": (
            "{basis, on, confidence} or null: the stage declaration that counts (basis due_date, birthday "
            "or preparing; on an ISO date or null). The stage on a given day follows from it "
            "(shared.maternal_infant.stage_of); stage_span_filter selects by it"
        ),
        "follow": "{following, first_followed_at, last_followed_at, last_unfollowed_at}: following now, and when",
        "last_active_at": "the member's last interaction with the account (a message, a click, a scan), or null",
        "consents": "{kind: {given, at, via}} for kinds marketing and data_use: only given true may be relied on",
        "spend_by_month": "{'YYYY-MM': fen}: mall spend per month, net of refunds (shared.maternal_infant.spend_tier)",
        "written_at": (
            "when the profile was last written; readers that keep their own view sweep recent writes by it "
            "in case a profile.changed was lost (indexed)"
        ),
    },
)


def profile_id(appid: str, openid: str) -> str:
    """The ``_id`` of a member's profile document."""
    return f"{appid}:{openid}"


def stage_span_filter(span: DateSpan) -> dict[str, Any]:
    """The filter over :data:`PROFILES_READ_MODEL` selecting profiles whose counting stage declaration
    lies in ``span`` (ISO dates compare as strings). The profiles service indexes ``appid`` with it."""
    query: dict[str, Any] = {"stage.basis": span.basis.value}
    bounds = {}
    if span.after is not None:
        bounds["$gt"] = span.after.isoformat()
    if span.through is not None:
        bounds["$lte"] = span.through.isoformat()
    if bounds:
        query["stage.on"] = bounds
    return query
