from __future__ import annotations

from datetime import timedelta

from shared.contracts.campaign_activity import (
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
)
from shared.contracts.campaigns import CampaignParticipationChanged
from shared.contracts.deliveries import PushClicked, PushDelivered, PushDeliveryFailed
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
    SubscriptionPopupAnswered,
    SubscriptionSendFinished,
    SubscriptionSettingsChanged,
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
        SubscriptionPopupAnswered,
        SubscriptionSettingsChanged,
        SubscriptionSendFinished,
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

CAMPAIGN_ACTIVITY = Topic(
    name="campaigns.activity",
    partitions=8,
    retention=timedelta(days=30),
    key="openid",
    messages=(
        CampaignPosterSent,
        CampaignPosterScanned,
        CampaignInviteCredited,
        CampaignCreditRevoked,
        CampaignTierReached,
        CampaignRewardGranted,
        CampaignScreenshotDecided,
    ),
    description=(
        "What happens to members in share-poster campaigns (posters sent, scans, credits, revocations, "
        "tiers, rewards, screenshot decisions), emitted through the campaigns outbox with the write it "
        "reports. Analytics folds it into the campaign funnel; kept long enough to outlast a stopped consumer."
    ),
)

PUSH_DELIVERIES = Topic(
    name="segments.deliveries",
    partitions=8,
    retention=timedelta(days=30),
    key="openid",
    messages=(PushDelivered, PushDeliveryFailed, PushClicked),
    description=(
        "Each targeted push's delivery, failure and clicks, member by member, emitted through the segments "
        "outbox with the record it reports. Analytics and brand projects count them."
    ),
)

TOPICS = TopicRegistry(
    [
        WECHAT_PUSHES,
        MALL_EVENTS,
        PROFILE_CHANGES,
        CAMPAIGN_PARTICIPATION,
        CAMPAIGN_ACTIVITY,
        PUSH_DELIVERIES,
        DEADLETTER,
    ]
)

CATALOG = EventCatalog(
    [message for topic in TOPICS for message in topic.messages],
    upcasters=[],
)
