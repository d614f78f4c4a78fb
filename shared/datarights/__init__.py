"""Members' data rights (PIPL): export everything held about a member as one document, or erase it.

:data:`MEMBER_DATA` says, for every collection the platform writes, whether and how it holds members'
data and what an erasure does there (delete, anonymise with a random pseudonym, remove from lists,
redact a dead letter); a test fails when a collection has no entry. :class:`MongoMemberRights` runs
the export and the erasure over the platform's database (:class:`InMemoryMemberRights` over dicts),
records each erasure under a hash of the member (``member_erasures``, no data), and tells consumers
which events to drop afterwards (:meth:`MemberRights.suppressed`) until the member follows again.
"""

from shared.datarights._documents import erasure_id, exportable, matches, member_filter, scrubbed
from shared.datarights._gate import FOLLOW, gated, member_of, passing
from shared.datarights._registry import BY_COLLECTION, MEMBER_DATA, Action, MemberData
from shared.datarights._rights import (
    ERASURE_INDEXES,
    ERASURES,
    EXPORT_LIMIT,
    Erasure,
    ErasureReport,
    InMemoryMemberRights,
    MemberRights,
    MongoMemberRights,
)

__all__ = [
    "BY_COLLECTION",
    "ERASURES",
    "ERASURE_INDEXES",
    "EXPORT_LIMIT",
    "FOLLOW",
    "MEMBER_DATA",
    "Action",
    "Erasure",
    "ErasureReport",
    "InMemoryMemberRights",
    "MemberData",
    "MemberRights",
    "MongoMemberRights",
    "erasure_id",
    "exportable",
    "gated",
    "matches",
    "member_filter",
    "member_of",
    "passing",
    "scrubbed",
]
