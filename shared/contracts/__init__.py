"""This platform's topics and message types: the single registry.

Adding a topic or a message type happens here and nowhere else; ``scrm docs events`` regenerates
``docs/events.md`` from :data:`TOPICS` and :data:`CATALOG`, and start-up creates :data:`TOPICS`.
"""

from shared.contracts._registry import CATALOG, DEADLETTER, MALL_EVENTS, PROFILE_CHANGES, TOPICS, WECHAT_PUSHES
from shared.contracts.mall import MallEventReceived
from shared.contracts.platform import MessageDeadLettered
from shared.contracts.profiles import ProfileChanged
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
    "CATALOG",
    "DEADLETTER",
    "MALL_EVENTS",
    "PROFILE_CHANGES",
    "TOPICS",
    "WECHAT_PUSHES",
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
    "TemplateSendFinished",
    "TextMessageReceived",
]
