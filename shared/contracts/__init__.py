"""This platform's topics and message types: the single registry; and the read models services declare.

Adding a topic or a message type happens here and nowhere else; ``scrm docs events`` regenerates
``docs/events.md`` from :data:`TOPICS` and :data:`CATALOG`, and start-up creates :data:`TOPICS`.
"""

from shared.contracts._read_model import ReadModel, UndeclaredField
from shared.contracts._registry import (
    CAMPAIGN_PARTICIPATION,
    CATALOG,
    DEADLETTER,
    MALL_EVENTS,
    PROFILE_CHANGES,
    TOPICS,
    WECHAT_PUSHES,
)
from shared.contracts.campaigns import CampaignParticipationChanged, participation_event_id
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
    "CAMPAIGN_PARTICIPATION",
    "CATALOG",
    "DEADLETTER",
    "MALL_EVENTS",
    "PROFILES_READ_MODEL",
    "PROFILE_CHANGES",
    "TOPICS",
    "WECHAT_PUSHES",
    "CampaignParticipationChanged",
    "ImageMessageReceived",
    "MallEventReceived",
    "MassSendFinished",
    "MemberFollowed",
    "MemberUnfollowed",
    "MenuClicked",
    "MenuLinkOpened",
    "MessageDeadLettered",
    "ProfileChanged",
    "PushReceived",
    "QrCodeScanned",
    "ReadModel",
    "TemplateSendFinished",
    "TextMessageReceived",
    "UndeclaredField",
    "participation_event_id",
    "profile_id",
    "stage_span_filter",
]
