from __future__ import annotations

from datetime import timedelta

from shared.contracts.campaigns import CampaignParticipationChanged
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
from shared.events import EventCatalog, Topic, TopicRegistry

WECHAT_PUSHES = Topic(
    name="wechat.pushes",
    partitions=8,
    retention=timedelta(days=7),
    key="openid",
    messages=(
        MemberFollowed,
        MemberUnfollowed,
        QrCodeScanned,
        MenuClicked,
        MenuLinkOpened,
        TextMessageReceived,
        ImageMessageReceived,
        TemplateSendFinished,
        MassSendFinished,
        PushReceived,
    ),
    description=(
        "Every webhook push from the Official Account, normalized. Keyed by openid so one member's "
        "pushes stay in order."
    ),
)

DEADLETTER = Topic(
    name="platform.deadletter",
    partitions=1,
    retention=timedelta(days=30),
    key="the original message's key",
    messages=(MessageDeadLettered,),
    description="Messages a consumer gave up on after bounded retries, with the reason.",
)

MALL_EVENTS = Topic(
    name="mall.events",
    partitions=8,
    retention=timedelta(days=7),
    key="openid",
    messages=(MallEventReceived,),
    description=(
        "Shop behaviour from the mall webhook (views, carts, orders, refunds), signed and validated. "
        "Keyed by openid so one member's events apply in order."
    ),
)

PROFILE_CHANGES = Topic(
    name="profiles.changes",
    partitions=8,
    retention=timedelta(days=7),
    key="openid",
    messages=(ProfileChanged,),
    description=(
        "Which members' profiles were written, after the write committed. The segment index re-reads "
        "them; it rebuilds from MongoDB at start and daily, so the topic needs no long retention."
    ),
)

CAMPAIGN_PARTICIPATION = Topic(
    name="campaigns.participation",
    partitions=8,
    retention=timedelta(days=30),
    key="openid",
    messages=(CampaignParticipationChanged,),
    description=(
        "Who takes part in which campaign and how many invites are credited to them, after each write "
        "committed. Segments keep their own copy from it (campaign and invite rules), so it is kept "
        "long enough to outlast a stopped consumer."
    ),
)

TOPICS = TopicRegistry([WECHAT_PUSHES, MALL_EVENTS, PROFILE_CHANGES, CAMPAIGN_PARTICIPATION, DEADLETTER])

CATALOG = EventCatalog(
    [message for topic in TOPICS for message in topic.messages],
    upcasters=[],
)
