"""This platform's topics and message types: the single registry; and the read models services declare.

Adding a topic or a message type happens here and nowhere else; ``scrm docs events`` regenerates
``docs/events.md`` from :data:`TOPICS` and :data:`CATALOG`, and start-up creates :data:`TOPICS`.
"""

from shared.contracts._read_model import ReadModel, UndeclaredField
from shared.contracts._registry import (
    CAMPAIGN_ACTIVITY,
    CAMPAIGN_PARTICIPATION,
    CATALOG,
    DEADLETTER,
    MALL_EVENTS,
    PROFILE_CHANGES,
    PUSH_DELIVERIES,
    TOPICS,
    WECHAT_PUSHES,
)
from shared.contracts.campaign_activity import (
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
    credit_revoked_event_id,
    invite_credited_event_id,
    poster_scanned_event_id,
    poster_sent_event_id,
    reward_granted_event_id,
    screenshot_decided_event_id,
    tier_reached_event_id,
)
from shared.contracts.campaigns import CampaignParticipationChanged, participation_event_id
from shared.contracts.deliveries import (
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
    push_clicked_event_id,
    push_delivered_event_id,
    push_failed_event_id,
)
from shared.contracts.mall import MallEventReceived
from shared.contracts.platform import MessageDeadLettered
from shared.contracts.profiles import PROFILES_READ_MODEL, ProfileChanged, profile_id, stage_span_filter
from shared.contracts.wechat import (
    ImageMessageReceived,
    MassSendFinished,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    MenuLinkOpened,
    PushReceived,
    QrCodeScanned,
    TemplateSendFinished,
    TextMessageReceived,
)

__all__ = [
    "CAMPAIGN_ACTIVITY",
    "CAMPAIGN_PARTICIPATION",
    "CATALOG",
    "DEADLETTER",
    "MALL_EVENTS",
    "PROFILES_READ_MODEL",
    "PROFILE_CHANGES",
    "PUSH_DELIVERIES",
    "TOPICS",
    "WECHAT_PUSHES",
    "CampaignCreditRevoked",
    "CampaignInviteCredited",
    "CampaignParticipationChanged",
    "CampaignPosterScanned",
    "CampaignPosterSent",
    "CampaignRewardGranted",
    "CampaignScreenshotDecided",
    "CampaignTierReached",
    "ImageMessageReceived",
    "MallEventReceived",
    "MassSendFinished",
    "MemberFollowed",
    "MemberUnfollowed",
    "MenuClicked",
    "MenuLinkOpened",
    "MessageDeadLettered",
    "ProfileChanged",
    "PushClicked",
    "PushDelivered",
    "PushDeliveryFailed",
    "PushReceived",
    "QrCodeScanned",
    "ReadModel",
    "TemplateSendFinished",
    "TextMessageReceived",
    "UndeclaredField",
    "credit_revoked_event_id",
    "invite_credited_event_id",
    "participation_event_id",
    "poster_scanned_event_id",
    "poster_sent_event_id",
    "profile_id",
    "push_clicked_event_id",
    "push_delivered_event_id",
    "push_failed_event_id",
    "reward_granted_event_id",
    "screenshot_decided_event_id",
    "stage_span_filter",
    "tier_reached_event_id",
]
