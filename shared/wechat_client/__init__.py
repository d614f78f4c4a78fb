"""The WeChat Official Account API, as one async client per account, for every service.

- :class:`WeChatClient`: QR codes, temporary media, customer-service / template / subscription /
  mass messages, tags and users, over ``httpx.AsyncClient``; :class:`WeChatClients` keeps one per
  appid with a shared connection pool and rate limiter.
- :class:`TokenStore`: the access token of each account held once for all processes, refreshed by
  one of them at a time under a lease (:class:`MongoTokenStore` in production,
  :class:`MemoryTokenStore` for tests and single-process tools). Tokens come from ``stable_token``
  only; a forced refresh (which does invalidate the old token) happens only when normal mode still
  hands out the token the platform just rejected.
- :class:`SharedRateLimiter`: an account's limits for chosen APIs held in MongoDB for every process
  (leases of slots, one round trip per lease), where :class:`RateLimiter` keeps them per process.
- :class:`WeChatApiConfig`: base URLs, timeouts, retries and :class:`RateLimit` per API, for services
  to embed in their settings. Local runs point ``base_url`` at the platform simulator.
- Errcode answers raise the :class:`WeChatApiError` subclass that says what to do about them; the tree
  is in ``shared/wechat_client/_errors.py``. No log line or exception ever carries the access token.
- :func:`wechat_failure`: the one table of HTTP answers (502 unreachable or refused, 503 not
  configured / busy / quota, with a ``reason``) for routes whose platform call failed; ``shared.web``
  applies it in every service.
"""

from shared.wechat_client._client import WeChatClient, WeChatClients
from shared.wechat_client._clock import Clock
from shared.wechat_client._config import DEFAULT_RATE_LIMITS, RateLimit, WeChatApiConfig
from shared.wechat_client._errors import (
    AccessTokenInvalid,
    CredentialsRejected,
    CustomerServiceCountExceeded,
    InvalidMediaId,
    InvalidOpenid,
    InvalidRequest,
    NotFollower,
    OutsideCustomerServiceWindow,
    PlatformBusy,
    QuotaExceeded,
    RecipientUnavailable,
    SubscriptionConsentMissing,
    TagError,
    TagLimitReached,
    TagRejected,
    TokenUnavailable,
    TransportError,
    WeChatApiError,
)
from shared.wechat_client._failures import WECHAT_CALL_ERRORS, WeChatFailure, wechat_failure
from shared.wechat_client._lane import AiohttpLane, HttpLane, JsonLane, LaneAnswer, LaneFailure
from shared.wechat_client._models import (
    Article,
    CustomMessage,
    FollowerPage,
    Image,
    MassMessage,
    MassSendResult,
    MediaKind,
    MiniProgram,
    MpNews,
    News,
    QrCode,
    Tag,
    Text,
    UploadedMedia,
    UserInfo,
)
from shared.wechat_client._ratelimit import RateLimiter
from shared.wechat_client._shared_limit import RATE_BUDGETS, SharedRateLimiter
from shared.wechat_client._tokens import (
    ACCESS_TOKEN_INDEXES,
    ACCESS_TOKENS,
    AccessToken,
    MemoryTokenStore,
    MongoTokenStore,
    TokenStore,
)

__all__ = [
    "ACCESS_TOKENS",
    "ACCESS_TOKEN_INDEXES",
    "DEFAULT_RATE_LIMITS",
    "RATE_BUDGETS",
    "WECHAT_CALL_ERRORS",
    "AccessToken",
    "AccessTokenInvalid",
    "AiohttpLane",
    "Article",
    "Clock",
    "CredentialsRejected",
    "CustomMessage",
    "CustomerServiceCountExceeded",
    "FollowerPage",
    "HttpLane",
    "Image",
    "InvalidMediaId",
    "InvalidOpenid",
    "InvalidRequest",
    "JsonLane",
    "LaneAnswer",
    "LaneFailure",
    "MassMessage",
    "MassSendResult",
    "MediaKind",
    "MemoryTokenStore",
    "MiniProgram",
    "MongoTokenStore",
    "MpNews",
    "News",
    "NotFollower",
    "OutsideCustomerServiceWindow",
    "PlatformBusy",
    "QrCode",
    "QuotaExceeded",
    "RateLimit",
    "RateLimiter",
    "RecipientUnavailable",
    "SharedRateLimiter",
    "SubscriptionConsentMissing",
    "Tag",
    "TagError",
    "TagLimitReached",
    "TagRejected",
    "Text",
    "TokenStore",
    "TokenUnavailable",
    "TransportError",
    "UploadedMedia",
    "UserInfo",
    "WeChatApiConfig",
    "WeChatApiError",
    "WeChatClient",
    "WeChatClients",
    "WeChatFailure",
    "wechat_failure",
]
