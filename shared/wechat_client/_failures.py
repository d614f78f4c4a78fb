"""How a request that needed the WeChat API answers when the platform failed it: one table for all.

An operator route that calls the platform (a join QR code, a test send, an upload) and meets one of
the client's errors answers with the status below instead of a bare 500; the HTTP shell
(``shared.web``) applies it to every service, so no route maps these itself.

| error | status | reason |
|---|---|---|
| ``TransportError`` (no connection, timeout, HTTP error, not the API's answer) | 502 | ``wechat_unreachable`` |
| ``CredentialsRejected`` (appid/secret wrong, host not whitelisted) | 503 | ``wechat_not_configured`` |
| ``TokenUnavailable`` (another process's token refresh did not finish) | 503 | ``wechat_token_unavailable`` |
| ``PlatformBusy`` (errcode -1 after the retries) | 503 | ``wechat_busy`` |
| ``QuotaExceeded`` (45009 daily / 45011 per minute) | 503 | ``wechat_quota_exceeded`` |
| ``RecipientUnavailable`` (this member cannot get it now) | 409 | ``wechat_recipient_unavailable`` |
| ``InvalidRequest`` (refused locally, nothing sent) | 422 | ``wechat_invalid_request`` |
| any other ``WeChatApiError`` | 502 | ``wechat_refused`` |

503s carry ``Retry-After``. Details name the API (``qrcode/create``), never a URL with its token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.wechat_client._errors import (
    CredentialsRejected,
    InvalidRequest,
    PlatformBusy,
    QuotaExceeded,
    RecipientUnavailable,
    TokenUnavailable,
    TransportError,
    WeChatApiError,
)

__all__ = ["WECHAT_CALL_ERRORS", "WeChatFailure", "wechat_failure"]

#: The client's errors a route may let through; :func:`wechat_failure` answers for each.
WECHAT_CALL_ERRORS: tuple[type[Exception], ...] = (TransportError, TokenUnavailable, WeChatApiError, InvalidRequest)


@dataclass(frozen=True)
class WeChatFailure:
    status: int
    reason: str
    detail: str
    retry_after: int | None = None
    #: The API the failure came from (``qrcode/create``), when known.
    api: str | None = None
    errcode: int | None = None


def wechat_failure(exc: Exception, *, base_url: str | None = None) -> WeChatFailure | None:
    """The answer for ``exc`` raised by the WeChat client; None for anything else.

    ``base_url`` (the service's ``WECHAT_API__BASE_URL``) is named when the platform was unreachable
    or refused the credentials: a local run that forgot to point it at the simulator says so.
    """
    where = f" at {base_url}" if base_url else ""
    hint = " (WECHAT_API__BASE_URL: the simulator's address for local runs)" if base_url else ""
    match exc:
        case TransportError():
            return WeChatFailure(502, "wechat_unreachable", f"WeChat API unreachable{where}: {exc}{hint}", api=exc.api)
        case TokenUnavailable():
            return WeChatFailure(503, "wechat_token_unavailable", f"WeChat access token not ready: {exc}", 5)
        case CredentialsRejected():
            return WeChatFailure(
                503,
                "wechat_not_configured",
                f"WeChat{where} refused this account's credentials: {exc}; check the appid and secret in "
                f"WECHAT_ACCOUNTS and the platform's IP whitelist{hint}",
                None,
                exc.api,
                exc.errcode,
            )
        case PlatformBusy():
            return WeChatFailure(503, "wechat_busy", f"WeChat is busy: {exc}", 5, exc.api, exc.errcode)
        case QuotaExceeded():
            retry_after = max(1, math.ceil(exc.retry_after))
            detail = f"WeChat quota used up: {exc}"
            return WeChatFailure(503, "wechat_quota_exceeded", detail, retry_after, exc.api, exc.errcode)
        case RecipientUnavailable():
            detail = f"WeChat cannot reach this member now: {exc}"
            return WeChatFailure(409, "wechat_recipient_unavailable", detail, None, exc.api, exc.errcode)
        case WeChatApiError():
            return WeChatFailure(502, "wechat_refused", f"WeChat refused the call: {exc}", None, exc.api, exc.errcode)
        case InvalidRequest():
            return WeChatFailure(422, "wechat_invalid_request", f"not sent to WeChat: {exc}")
    return None
