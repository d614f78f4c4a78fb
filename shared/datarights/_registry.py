"""Which collections hold data about a member, and what an erasure does to each: one decision each.

Every collection in :data:`shared.storage.RETENTIONS` has an entry in :data:`MEMBER_DATA` (a test fails
when one is missing), so a new store cannot hold members' data without saying how it is exported and
erased. Rules per entry are data (fields, an action), read by the pure functions in ``_documents`` and
run by the MongoDB and in-memory executors alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BY_COLLECTION", "MEMBER_DATA", "Action", "MemberData"]


class Action(StrEnum):
    #: The member's documents are deleted (counts live elsewhere: counters, rollups, a push's figures).
    DELETE = "deleted"
    #: The document stays (it is a count or a fact: a participant, a reward, a decision) but the member
    #: in it becomes a random pseudonym (``_id`` included) and the personal fields are removed.
    ANONYMISE = "anonymised"
    #: The member is removed from a list inside documents that are not theirs (an audience, testers).
    PULL = "removed from lists"
    #: Dead letters: the parked bytes are blanked and the letter closed (it expires with closed ones).
    REDACT = "redacted"
    #: Holds no member data, or only for minutes under a hashed key (it expires by itself).
    NONE = "none"


@dataclass(frozen=True)
class MemberData:
    """How one collection holds members' data."""

    collection: str
    action: Action
    #: Fields holding the member's openid (any of them matches).
    match: tuple[str, ...] = ("openid",)
    #: The field holding the account, when documents have one (openids are per account anyway).
    appid_field: str | None = "appid"
    #: Personal fields removed when anonymising (the pseudonym replaces the openid fields).
    remove: tuple[str, ...] = ()
    #: Fields given a fresh random value when anonymising (a code that would still lead to the member).
    renew: tuple[str, ...] = ()
    #: For documents that name the member only through another collection's documents:
    #: (that collection, this collection's field holding their ``_id``).
    via: tuple[str, str] | None = None
    #: For ``PULL``: the array field, and the field of its items holding the openid ("" for plain strings).
    array: tuple[str, str] | None = None
    #: ``_id`` formats naming the member's document (``{appid}``, ``{openid}``), for documents with no
    #: openid field.
    ids: tuple[str, ...] = ()
    #: Text fields in which the openid may appear anywhere (a parked record's bytes).
    contains: tuple[str, ...] = ()
    #: Why (``NONE``), or what is kept (the others), for docs/operations.md.
    note: str = ""

    @property
    def exported(self) -> bool:
        return self.action is not Action.NONE


_D, _A, _P, _R, _N = Action.DELETE, Action.ANONYMISE, Action.PULL, Action.REDACT, Action.NONE

#: Every collection the platform writes, as it holds members' data (``via`` entries find the ids they
#: need before anything is changed, so the order does not matter).
MEMBER_DATA: tuple[MemberData, ...] = (
    # members
    MemberData("members", _D, note="follow state; the account's counters keep the counts"),
    MemberData("member_counters", _N, note="sharded counts per account"),
    # profiles
    MemberData("profiles", _D, note="profile: tags, stage, consents, spend; coverage counters keep the counts"),
    MemberData("profile_history", _D),
    MemberData("h5_invitations_held", _D),
    MemberData("wechat_tag_members", _D),
    MemberData("survey_responses", _A, remove=("answers",), note="the response counts; its answers are removed"),
    MemberData("survey_draws", _A, note="the draw and its prize (stock is a fact)"),
    MemberData("profile_coverage", _N, note="daily aggregates"),
    MemberData("profile_import_checkpoints", _N, note="import progress per account"),
    MemberData("wechat_tags", _N, note="the account's tags"),
    MemberData("surveys", _N, note="definitions"),
    MemberData("survey_prize_stock", _N, note="stock counts"),
    # segments and pushes
    MemberData("segment_participation", _D),
    MemberData("subscription_consents", _D),
    MemberData("push_template_msgs", _D, appid_field=None, via=("push_deliveries", "delivery_id")),
    MemberData(
        "push_deliveries",
        _A,
        remove=("msgid", "error", "errmsg"),
        note="the delivery counts in its push; who received it does not",
    ),
    MemberData("push_clicks", _A, appid_field=None, remove=("urls", "url"), note="the click counts"),
    MemberData("push_member_sends", _D, note="send times for frequency caps"),
    MemberData("push_test_sends", _D, appid_field=None),
    MemberData("push_audiences", _P, appid_field=None, array=("openids", ""), note="the frozen audience"),
    MemberData("push_testers", _P, appid_field=None, array=("testers", "openid")),
    MemberData("segments", _N, note="definitions"),
    MemberData("segment_versions", _N, note="definitions"),
    MemberData("pushes", _N, note="definitions and settled figures"),
    # campaigns (the images and the review trail are reached through the member's submissions)
    MemberData("share_submission_images", _D, appid_field=None, via=("share_submissions", "_id")),
    MemberData(
        "share_submission_audit",
        _A,
        appid_field=None,
        via=("share_submissions", "submission_id"),
        note="reviewers' decisions on the member's submissions (kept; the member's id replaced where it appears)",
    ),
    MemberData(
        "share_submissions",
        _A,
        remove=("evidence", "text", "nickname", "claim"),
        note="the decision and the picture's hashed re-use keys (so the picture cannot be re-used by someone else)",
    ),
    MemberData(
        "campaign_participants",
        _A,
        remove=("qr_ticket", "qr_url", "qr_expires_at", "poster_media_id", "nickname"),
        renew=("code",),
        note="the participation and its credits; the poster's code no longer leads to anyone",
    ),
    MemberData("campaign_invitations", _A, match=("inviter", "invitee"), appid_field=None, note="the credit"),
    MemberData("campaign_rewards", _A, match=("inviter", "openid"), appid_field=None, note="the reward granted"),
    MemberData("campaign_rejections", _A, match=("inviter", "invitee"), appid_field=None),
    MemberData("campaign_notices", _D, note="notices not yet sent are dropped"),
    MemberData(
        "campaign_known_followers",
        _D,
        match=(),
        appid_field=None,
        ids=("{appid}:{openid}",),
        note="first follow; after an erasure the member is new to the account",
    ),
    MemberData(
        "referral_edges",
        _A,
        match=("inviter", "invitee"),
        note="who invited whom: the edge stays (retention counts), the member in it becomes a pseudonym",
    ),
    MemberData("referral_freezes", _D, note="a freeze pending review; the audit log keeps that it happened"),
    MemberData(
        "referral_flags",
        _D,
        match=("inviter",),
        note="a flag kept under the member and its review; computed again from the (pseudonymous) edges, "
        "the audit log keeps the review",
    ),
    MemberData("campaign_poster_assignments", _D, appid_field=None, note="the variant given; counters keep it"),
    MemberData("campaign_poster_variants", _N, note="definitions"),
    MemberData("campaign_variant_scans", _N, note="one per scan event, no member in it (counts per variant)"),
    MemberData("campaigns", _N, note="definitions"),
    MemberData("campaign_templates", _N, note="definitions"),
    MemberData("campaign_join_codes", _N, note="definitions"),
    MemberData("campaign_counters", _N, note="sharded counts"),
    MemberData("reward_codes", _N, note="coupon codes; who got one is in campaign_rewards"),
    MemberData("share_reuse_latches", _N, note="hashed re-use keys per campaign slot"),
    MemberData(
        "share_payouts", _D, note="a share reward's delayed payout: one not paid yet is dropped (nobody to pay)"
    ),
    # segments (sends)
    MemberData("wechat_rate_budgets", _N, note="an account's send pace"),
    # analytics
    MemberData("analytics_followers", _D, note="the rollups keep the figures"),
    MemberData("rollups", _N, note="daily aggregates"),
    # dead letters
    MemberData(
        "deadletters",
        _R,
        match=("original_key",),
        contains=("original",),
        note="the parked bytes are blanked and the letter discarded; it expires with discarded letters",
    ),
    MemberData("deadletter_mirror", _N, note="the mirror's positions"),
    # shared plumbing
    MemberData("processed_events", _N, note="event ids only"),
    MemberData(
        "outbox", _N, note="events waiting seconds to be published; consumers drop an erased member's (the gate)"
    ),
    MemberData("push_signatures", _N, note="hashes of webhook requests, minutes (replay window)"),
    MemberData("push_ledger", _N, note="hashed push ids and WeChat replies, minutes (its TTL)"),
    MemberData("wechat_accounts", _N, note="accounts"),
    MemberData("passive_reply_rules", _N, note="keyword rules"),
    MemberData("wechat_access_tokens", _N, note="accounts' tokens"),
    # operators
    MemberData(
        "audit_log",
        _A,
        match=("object_id",),
        appid_field=None,
        note="who did what stays; the member it was done to becomes the pseudonym",
    ),
    MemberData("operators", _N, note="operators"),
    MemberData("operator_grants", _N, note="operators"),
    MemberData("sessions", _N, note="operators"),
    MemberData("api_tokens", _N, note="operators"),
    MemberData("login_attempts", _N, note="operators"),
    # brands
    MemberData("teams", _N, note="sales teams"),
    MemberData("brands", _N, note="brands"),
    MemberData("projects", _N, note="projects"),
    MemberData("project_names", _N, note="projects"),
    MemberData("deals", _N, note="deals"),
    MemberData("payments", _N, note="payments"),
    MemberData("project_days", _N, note="daily aggregates"),
    # data rights themselves
    MemberData("member_erasures", _N, note="erasures, by a hash of the member (no data)"),
)

BY_COLLECTION: dict[str, MemberData] = {entry.collection: entry for entry in MEMBER_DATA}
