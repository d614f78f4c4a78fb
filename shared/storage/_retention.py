"""How long each collection keeps what it holds: one decision per collection, enforced at start-up.

Every collection the platform writes is listed in :data:`RETENTIONS` (a test fails when a new one is
not). A collection that grows with traffic either expires by a TTL index on a date field (the number of
days is a setting of :class:`~shared.settings.ServiceSettings`) or says why it is bounded otherwise.
:func:`with_retention` adds the TTL indexes to the indexes a process declares, so each process
enforces the retention of the collections it owns when it connects (:func:`shared.storage.connect`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from shared.contracts import TOPICS
from shared.events import TopicRegistry
from shared.settings import ServiceSettings, SettingsError
from shared.storage._indexes import IndexSpec

DAY_SECONDS = 24 * 60 * 60
#: Kafka deletes a topic's records by whole log segments (a new segment every 7 days by default), so a
#: record may outlive its topic's retention by that much; a day more for the TTL monitor and clocks.
KAFKA_SEGMENT_SLACK = timedelta(days=8)


class Enforcement(StrEnum):
    #: A TTL index on ``date_field`` removes documents ``setting`` days after that date.
    TTL = "TTL index"
    #: Already expires by a TTL index its adapter declares (its window is part of its rule).
    OWN_TTL = "TTL index (its own rule)"
    #: The code deletes documents once done with them (e.g. the outbox once published).
    DELETED = "deleted when done"
    #: Bounded by something other than traffic (accounts, campaigns, operators, days, members).
    BOUNDED = "bounded"


@dataclass(frozen=True)
class Retention:
    """The retention decision of one collection."""

    collection: str
    #: What it holds, for docs/operations.md.
    holds: str
    enforced: Enforcement
    #: What bounds it (members, accounts, days...) or, for a TTL, the date it counts from.
    bound: str = ""
    #: The BSON date field a TTL index counts from (a document without it never expires).
    date_field: str | None = None
    #: The :class:`ServiceSettings` field giving the number of days (TTL only).
    setting: str | None = None

    def ttl_seconds(self, settings: ServiceSettings) -> int | None:
        if self.enforced is not Enforcement.TTL or self.setting is None:
            return None
        return int(getattr(settings, self.setting)) * DAY_SECONDS


_T, _OWN, _DEL, _B = Enforcement.TTL, Enforcement.OWN_TTL, Enforcement.DELETED, Enforcement.BOUNDED

#: Every collection the platform writes, with its retention (docs/operations.md, "Retention", shows it).
RETENTIONS: tuple[Retention, ...] = (
    # shared by every consumer
    Retention(
        "processed_events",
        "one claim per (consumer, event): what makes redelivery harmless",
        _T,
        "processed_at",
        "processed_at",
        "processed_events_retention_days",
    ),
    Retention(
        "outbox",
        "events written with their effect, until published",
        _DEL,
        "deleted once published (an expiry could lose an unpublished event)",
        "at",  # not expired: `scrm retention show` shows the oldest entry, an old one is a leftover
    ),
    # gateway
    Retention("push_signatures", "signatures of recent webhook pushes (replay window)", _OWN, "2x the replay window"),
    Retention("push_ledger", "pushes accepted by the gateway, for WeChat's retries", _OWN, "the ledger's retention"),
    Retention("wechat_accounts", "configured official accounts", _B, "accounts"),
    Retention("passive_reply_rules", "keyword reply rules", _B, "accounts x rules"),
    # members
    Retention("members", "one follow state per member", _B, "members (erased on request)"),
    Retention("member_counters", "sharded running counts", _B, "accounts x shards"),
    # profiles
    Retention("profiles", "one profile per member", _B, "members (erased on request)"),
    Retention(
        "profile_history",
        "every change of a profile (follows, consents, stages, tags)",
        _T,
        "at",
        "at",
        "history_retention_days",
    ),
    Retention("profile_import_checkpoints", "progress of bulk imports", _B, "imports"),
    Retention(
        "h5_invitations_held",
        "H5 invitations waiting for the member's next interaction",
        _B,
        "one per member at most; removed when sent, replaced or the member leaves",
    ),
    Retention("wechat_tags", "the account's WeChat tags", _B, "accounts x tags"),
    Retention("wechat_tag_members", "members per WeChat tag, to sync", _B, "members x tags"),
    Retention("profile_coverage", "daily coverage figures", _B, "accounts x days (small aggregates, kept)"),
    Retention("surveys", "survey definitions", _B, "surveys"),
    Retention("survey_responses", "one response per member and survey", _B, "members x surveys"),
    Retention("survey_draws", "prize draws of survey respondents", _B, "members x surveys"),
    Retention("survey_prize_stock", "prize stock per survey", _B, "surveys x prizes"),
    # segments and pushes
    Retention("segments", "segment definitions", _B, "segments"),
    Retention("segment_versions", "each saved version of a segment", _B, "segment edits"),
    Retention("segment_participation", "members' campaign participation, for rules", _B, "members"),
    Retention(
        "subscription_consents", "members' subscription-message consents, per template", _B, "members x templates"
    ),
    Retention("pushes", "push definitions and their settled figures", _B, "pushes"),
    Retention(
        "push_audiences",
        "a push's frozen audience, in chunks of openids",
        _T,
        "created_at",
        "created_at",
        "deliveries_retention_days",
    ),
    Retention(
        "push_deliveries",
        "one delivery record per member and push",
        _T,
        "created_at",
        "created_at",
        "deliveries_retention_days",
    ),
    Retention(
        "push_clicks",
        "a member's clicks on a push (anonymous clicks: one counter per variant)",
        _T,
        "first_at",
        "first_at",
        "deliveries_retention_days",
    ),
    Retention("push_member_sends", "a member's last 200 send times (frequency caps)", _B, "members x 200 dates"),
    Retention(
        "push_template_msgs",
        "template message ids, to match WeChat's reports",
        _T,
        "sent_at",
        "sent_at",
        "deliveries_retention_days",
    ),
    Retention("push_test_sends", "test sends to testers", _T, "at", "at", "deliveries_retention_days"),
    Retention("push_testers", "members chosen as testers", _B, "accounts x testers"),
    # campaigns
    Retention("campaigns", "campaign definitions", _B, "campaigns"),
    Retention("campaign_templates", "poster templates", _B, "campaigns x uploads"),
    Retention("campaign_join_codes", "join codes of campaigns", _B, "campaigns"),
    Retention("campaign_participants", "one participant per member and campaign", _B, "members x campaigns"),
    Retention("campaign_invitations", "one invitation per invitee and campaign", _B, "members x campaigns"),
    Retention(
        "campaign_known_followers", "members' first follow, to tell new followers", _B, "members (erased on request)"
    ),
    Retention("campaign_rewards", "rewards granted", _B, "members x campaigns x tiers"),
    Retention("campaign_rejections", "credits refused, with the reason", _T, "at", "at", "audit_retention_days"),
    Retention("campaign_notices", "notices to send to members (held ones wait)", _B, "members x campaigns"),
    Retention("campaign_counters", "sharded running counts", _B, "campaigns x shards"),
    Retention("reward_codes", "coupon codes of reward pools", _B, "uploaded codes"),
    Retention("share_submissions", "share screenshots' decisions (not the pictures)", _B, "members x campaigns"),
    Retention(
        "share_submission_images",
        "pictures waiting for a reviewer",
        _T,
        "decided_at (set when a reviewer decides; a pending picture never expires)",
        "decided_at",
        "review_image_retention_days",
    ),
    Retention("share_submission_audit", "the decisions' trail", _T, "at", "at", "audit_retention_days"),
    Retention("share_reuse_latches", "re-use keys counted per campaign slot", _B, "campaigns x 65,536 slots"),
    Retention("share_payouts", "delayed share-reward payouts and their re-checks", _B, "members x campaigns"),
    Retention("campaign_poster_variants", "poster A/B variants of a campaign", _B, "campaigns"),
    Retention("campaign_poster_assignments", "the poster variant each member was given", _B, "members x campaigns"),
    Retention(
        "campaign_variant_scans",
        "scans counted per poster variant (a redelivered push counts once)",
        _T,
        "at",
        "at",
        "processed_events_retention_days",
    ),
    Retention("referral_edges", "who invited whom (one per credited invitation)", _B, "members x campaigns"),
    Retention("referral_freezes", "inviters frozen pending review", _B, "members"),
    Retention(
        "referral_flags", "graph patterns kept with their review state", _B, "inviters x 3 kinds (one flag each)"
    ),
    # dead letters (shared.deadletters)
    Retention(
        "deadletters",
        "records a consumer gave up on; open ones wait for a person",
        _OWN,
        "90 days after replay or discard (open letters are kept)",
    ),
    Retention("deadletter_mirror", "how far the mirror has read the dead-letter topic", _B, "partitions"),
    # analytics
    Retention("rollups", "daily figures per account and scope", _B, "accounts x scopes x days (aggregates, kept)"),
    Retention("analytics_followers", "follow state per member, for the rollups", _B, "members"),
    # brands
    Retention("teams", "teams", _B, "teams"),
    Retention("brands", "brands", _B, "brands"),
    Retention("projects", "projects", _B, "projects"),
    Retention("project_names", "project names, unique per brand", _B, "projects"),
    Retention("deals", "deals", _B, "deals"),
    Retention("payments", "payments due", _B, "deals x instalments"),
    Retention("project_days", "daily figures per project", _B, "projects x days (aggregates, kept)"),
    # identity (shared.identity) and WeChat tokens
    Retention("operators", "operators", _B, "operators"),
    Retention("operator_grants", "operators' roles", _B, "operators x roles"),
    Retention("sessions", "console sessions", _B, "operators x sign-ins (expired ones refused)"),
    Retention("api_tokens", "operators' API tokens", _B, "operators x tokens"),
    Retention("login_attempts", "failed sign-ins, for throttling", _OWN, "the throttling window"),
    Retention("audit_log", "who did what (operators' writes)", _T, "at", "at", "audit_retention_days"),
    Retention("wechat_access_tokens", "WeChat access tokens", _B, "accounts"),
    # data rights (shared.datarights)
    Retention("member_erasures", "members' data erased, under a hash of the member (no data)", _B, "erasures"),
    Retention("wechat_rate_budgets", "where each account's shared send pace stands", _B, "accounts x send APIs"),
)

BY_COLLECTION: dict[str, Retention] = {retention.collection: retention for retention in RETENTIONS}


def ttl_indexes(settings: ServiceSettings, collections: Iterable[str] | None = None) -> tuple[IndexSpec, ...]:
    """The TTL indexes of ``collections`` (all by default), with the settings' retentions."""
    wanted = None if collections is None else set(collections)
    specs = []
    for retention in RETENTIONS:
        seconds = retention.ttl_seconds(settings)
        if seconds is None or retention.date_field is None:
            continue
        if wanted is None or retention.collection in wanted:
            specs.append(
                IndexSpec(
                    retention.collection, ((retention.date_field, 1),), name="retention", expire_after_seconds=seconds
                )
            )
    return tuple(specs)


def shortest_claim_retention(topics: TopicRegistry = TOPICS) -> timedelta:
    """How long processed-event claims must at least be kept: as long as Kafka may still hold a record
    of the longest-kept topic (a consumer group that lost its offsets reads from the earliest record,
    and a record whose claim is gone would be applied again)."""
    longest = max((topic.retention for topic in topics if topic.retention is not None), default=timedelta(0))
    return longest + KAFKA_SEGMENT_SLACK


def with_retention(indexes: Iterable[IndexSpec], settings: ServiceSettings) -> tuple[IndexSpec, ...]:
    """``indexes`` and the TTL indexes of the collections they cover.

    A declared index on the date field alone becomes the TTL one (its name and order kept), and
    :func:`shared.storage.ensure_indexes` turns an existing one into the TTL index.
    A process that keeps processed-event claims refuses a retention shorter than Kafka's.
    """
    declared = tuple(indexes)
    shortest = shortest_claim_retention()
    claims = any(spec.collection == "processed_events" for spec in declared)
    if claims and timedelta(days=settings.processed_events_retention_days) < shortest:
        raise SettingsError(
            f"PROCESSED_EVENTS_RETENTION_DAYS must be at least {shortest.days}: the longest topic retention "
            "plus Kafka's segment slack (a record still in Kafka would otherwise be applied twice)"
        )
    ttl = []
    replaced: set[IndexSpec] = set()
    for spec in ttl_indexes(settings, {spec.collection for spec in declared}):
        # A declared index on the date field alone (either order) becomes the TTL one: no second index.
        field = spec.keys[0][0]
        same = [d for d in declared if d.collection == spec.collection and d.keys in (((field, 1),), ((field, -1),))]
        if same:
            replaced.add(same[0])
            spec = replace(same[0], expire_after_seconds=spec.expire_after_seconds)
        ttl.append(spec)
    return (*(spec for spec in declared if spec not in replaced), *ttl)
