from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from shared.observability import get_logger
from shared.storage import note_outside_effect
from shared.wechat import WeChatAccount
from shared.wechat_client._clock import Clock
from shared.wechat_client._config import WeChatApiConfig
from shared.wechat_client._errors import (
    AccessTokenInvalid,
    CredentialsRejected,
    InvalidRequest,
    PlatformBusy,
    QuotaExceeded,
    TransportError,
    WeChatApiError,
    error_for,
)
from shared.wechat_client._lane import JsonLane, LaneFailure
from shared.wechat_client._models import (
    CustomMessage,
    FollowerPage,
    MassMessage,
    MassSendResult,
    MediaKind,
    MiniProgram,
    MpNews,
    QrCode,
    Tag,
    UploadedMedia,
    UserInfo,
)
from shared.wechat_client._ratelimit import RateLimiter
from shared.wechat_client._tokens import AccessToken, TokenKeeper, TokenStore

__all__ = ["WeChatClient", "WeChatClients"]

log = get_logger(__name__)

TEMPORARY_QR_MAX_SECONDS = 2_592_000  # 30 days
PERMANENT_SCENE_IDS = range(1, 100_001)
TEMPORARY_SCENE_IDS = range(1, 2**32)
SCENE_STR_MAX = 64
TAG_NAME_MAX = 30
TAGGING_BATCH_MAX = 50
USER_INFO_BATCH_MAX = 100
#: Upper bounds from the media upload page (its image limit reads 2 MB in one place and 10 MB in
#: another; the platform is the judge between them, so only the larger is enforced here).
MEDIA_MAX_BYTES: Mapping[str, int] = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "thumb": 64 * 1024,
}

Lang = Literal["zh_CN", "zh_TW", "en"]
_M = TypeVar("_M", bound=BaseModel)

_TOKEN_IN_TEXT = re.compile(r"(access_token=)[^&\s\"'>]*", re.IGNORECASE)
#: Failures after which the request certainly never reached the platform: safe to resend anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _redact(text: str) -> str:
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


class _RedactAccessToken(logging.Filter):
    """httpx logs every request URL at INFO, and ours carry ``access_token``: mask it on the way out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _redact(str(arg)) if isinstance(arg, (str, httpx.URL)) and "access_token" in str(arg) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "access_token" in record.msg:
            record.msg = _redact(record.msg)
        return True


def _guard_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactAccessToken) for existing in logger.filters):
        logger.addFilter(_RedactAccessToken())


@dataclass(frozen=True)
class _Failure:
    """An attempt that produced no usable answer."""

    reason: str
    status_code: int | None
    #: A retry cannot hurt: the request never reached the platform, or repeating it is harmless.
    retryable: bool


def _scene(scene: int | str, *, permanent: bool) -> tuple[str, dict[str, int | str]]:
    if isinstance(scene, bool) or not isinstance(scene, int | str):
        raise InvalidRequest("scene must be an int (scene_id) or a str (scene_str)")
    if isinstance(scene, str):
        if not 1 <= len(scene) <= SCENE_STR_MAX:
            raise InvalidRequest(f"scene_str must be 1-{SCENE_STR_MAX} characters")
        return ("QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE"), {"scene_str": scene}
    allowed = PERMANENT_SCENE_IDS if permanent else TEMPORARY_SCENE_IDS
    if scene not in allowed:
        kind = "permanent" if permanent else "temporary"
        raise InvalidRequest(f"{kind} scene_id must be in {allowed.start}-{allowed.stop - 1}")
    return ("QR_LIMIT_SCENE" if permanent else "QR_SCENE"), {"scene_id": scene}


def _openid_list(openids: Sequence[str], *, most: int) -> list[str]:
    if isinstance(openids, str):
        raise InvalidRequest("pass a sequence of openids, not one string")
    if not 1 <= len(openids) <= most:
        raise InvalidRequest(f"between 1 and {most} openids per call, got {len(openids)}")
    if not all(isinstance(openid, str) and openid for openid in openids):
        raise InvalidRequest("openids must be non-empty strings")
    return list(openids)


def _template_data(data: Mapping[str, str]) -> dict[str, dict[str, str]]:
    if not data:
        raise InvalidRequest("template data must not be empty")
    return {key: {"value": value} for key, value in data.items()}


def _result(model: type[_M], data: Any, api: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise TransportError(api, f"answer does not describe a {model.__name__}") from None


class WeChatClient:
    """The Official Account API of one account, over one ``httpx.AsyncClient``.

    ::

        store = MongoTokenStore(database)
        async with WeChatClient("wx123", secret, token_store=store, config=settings.wechat_api) as client:
            qr = await client.create_qrcode("campaign-42", expire_seconds=86_400)

    Every call takes a rate-limiter slot for its ``(appid, api)``, attaches the account's access token
    (from ``stable_token``, shared with other processes through ``token_store``), and turns an errcode
    answer into the matching :class:`WeChatApiError`. A rejected token (40001/40014/42001) is replaced
    once and the call repeated once; the retry policy for the rest is on :class:`WeChatApiConfig`.
    Arguments that break a documented platform rule raise :class:`InvalidRequest` before any I/O.

    Pass ``http`` to share one connection pool between accounts (it is then not closed here), or
    ``transport`` to put ``httpx.MockTransport`` under a client built here. With ``lane`` (an
    :class:`~shared.wechat_client._lane.AiohttpLane`), JSON calls skip httpx: the push worker's sends.
    """

    def __init__(
        self,
        appid: str,
        secret: str | SecretStr,
        *,
        token_store: TokenStore,
        config: WeChatApiConfig | None = None,
        rate_limiter: RateLimiter | None = None,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        lane: JsonLane | None = None,
    ) -> None:
        if not appid:
            raise ValueError("appid must not be empty")
        if http is not None and transport is not None:
            raise ValueError("pass http or transport, not both")
        self.appid = appid
        self._secret = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        self._config = config or WeChatApiConfig()
        self._clock = clock or Clock()
        self._limiter = rate_limiter or RateLimiter(self._config, clock=self._clock)
        self._timeout = httpx.Timeout(self._config.timeout, connect=self._config.connect_timeout)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(transport=transport, timeout=self._timeout)
        self._tokens = TokenKeeper(appid, token_store, self._fetch_token, config=self._config, clock=self._clock)
        self._lane = lane
        _guard_httpx_logs()

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self.appid!r}, base_url={self._config.base_url!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- QR codes --------------------------------------------------------------------------------

    async def create_qrcode(
        self, scene: int | str, *, permanent: bool = False, expire_seconds: int | None = None
    ) -> QrCode:
        """A parametric QR code: following through it pushes ``qrscene_<scene>``, scanning it ``SCAN``.

        ``scene`` is a ``scene_id`` (int) or ``scene_str`` (str). Temporary codes live
        ``expire_seconds`` (at most 30 days; the platform's default when omitted is 60 s); permanent
        ones take no expiry, and their int scenes are limited to 1-100000.
        """
        action_name, scene_field = _scene(scene, permanent=permanent)
        body: dict[str, Any] = {"action_name": action_name, "action_info": {"scene": scene_field}}
        if expire_seconds is not None:
            if permanent:
                raise InvalidRequest("permanent QR codes do not expire; drop expire_seconds")
            if isinstance(expire_seconds, bool) or not 1 <= expire_seconds <= TEMPORARY_QR_MAX_SECONDS:
                raise InvalidRequest(f"expire_seconds must be 1-{TEMPORARY_QR_MAX_SECONDS}")
            body["expire_seconds"] = expire_seconds
        return _result(QrCode, await self._json("qrcode/create", body=body, resendable=True), "qrcode/create")

    def qrcode_image_url(self, ticket: str) -> str:
        """Where the QR code picture of ``ticket`` is served (no token in it: safe to hand to people)."""
        return f"{self._config.qr_image_base_url}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"

    async def qrcode_image(self, ticket: str) -> bytes:
        """The QR code picture of ``ticket`` (from ``showqrcode`` on the image host; no token needed)."""
        if not ticket:
            raise InvalidRequest("ticket must not be empty")
        return await self._binary("showqrcode", params={"ticket": ticket}, authenticated=False)

    # -- temporary media -------------------------------------------------------------------------

    async def upload_media(self, kind: MediaKind, filename: str, content: bytes) -> UploadedMedia:
        """Upload temporary media (kept three days) for image messages, voice, video or thumbnails."""
        if kind not in MEDIA_MAX_BYTES:
            raise InvalidRequest(f"media type must be one of {', '.join(MEDIA_MAX_BYTES)}")
        if not filename:
            raise InvalidRequest("filename must not be empty")
        if not 0 < len(content) <= MEDIA_MAX_BYTES[kind]:
            raise InvalidRequest(f"{kind} media must be 1-{MEDIA_MAX_BYTES[kind]} bytes, got {len(content)}")
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        data = await self._json(
            "media/upload", params={"type": kind}, files={"media": (filename, content, mime)}, resendable=True
        )
        return _result(UploadedMedia, data, "media/upload")

    async def get_media(self, media_id: str) -> bytes:
        """The content of temporary media. An unknown or expired id raises :class:`InvalidMediaId`.

        For video the platform answers with JSON naming a ``video_url`` instead; those bytes are
        returned as they are.
        """
        if not media_id:
            raise InvalidRequest("media_id must not be empty")
        return await self._binary("media/get", params={"media_id": media_id})

    # -- messages --------------------------------------------------------------------------------

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None:
        """A customer-service message, inside the window the user's last interaction opened.

        Outside it: :class:`OutsideCustomerServiceWindow`; window used up:
        :class:`CustomerServiceCountExceeded`. Never resent after an ambiguous failure.
        """
        if not isinstance(message, CustomMessage):
            raise InvalidRequest("customer-service messages are Text, Image or News")
        body = {"touser": _one_openid(openid), "msgtype": message.msgtype, **message.body()}
        await self._json("message/custom/send", body=body, resendable=False)

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = None,
        miniprogram: MiniProgram | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        """A template message; returns the ``msgid`` its TEMPLATESENDJOBFINISH push will carry.

        With ``client_msg_id`` the platform drops repeats of the same (openid, id) for ten minutes, so
        the send is retried even after an ambiguous failure; without it, it never is.
        """
        if not template_id:
            raise InvalidRequest("template_id must not be empty")
        body: dict[str, Any] = {"touser": _one_openid(openid), "template_id": template_id}
        if url is not None:
            body["url"] = url
        if miniprogram is not None:
            body["miniprogram"] = miniprogram.model_dump()
        if client_msg_id is not None:
            body["client_msg_id"] = client_msg_id
        body["data"] = _template_data(data)
        answer = await self._json("message/template/send", body=body, resendable=client_msg_id is not None)
        msgid = answer.get("msgid")
        if not isinstance(msgid, int):
            raise TransportError("message/template/send", "answer without a msgid")
        return msgid

    async def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str | None = None,
        miniprogram: MiniProgram | None = None,
    ) -> None:
        """A subscription notice (``bizsend``); needs the user's consent, else
        :class:`SubscriptionConsentMissing`."""
        if not template_id:
            raise InvalidRequest("template_id must not be empty")
        body: dict[str, Any] = {"touser": _one_openid(openid), "template_id": template_id}
        if page is not None:
            body["page"] = page
        if miniprogram is not None:
            body["miniprogram"] = miniprogram.model_dump()
        body["data"] = _template_data(data)
        await self._json("message/subscribe/bizsend", body=body, resendable=False)

    async def mass_send_by_tag(
        self,
        message: MassMessage,
        *,
        tag_id: int | None = None,
        to_all: bool = False,
        send_ignore_reprint: bool = False,
        clientmsgid: str | None = None,
    ) -> MassSendResult:
        """A mass send to the followers carrying ``tag_id``, or to everyone with ``to_all=True``.

        Exactly one of the two is required: an everyone-send is never a default, since each follower
        receives at most four mass messages a month. With ``clientmsgid`` the platform refuses repeats,
        so the send is retried even after an ambiguous failure; without it, it never is.
        """
        if not isinstance(message, MassMessage):
            raise InvalidRequest("mass messages are Text, Image or MpNews")
        if to_all == (tag_id is not None):
            raise InvalidRequest("pass exactly one of tag_id and to_all=True")
        if clientmsgid is not None and not 1 <= len(clientmsgid) <= 64:
            raise InvalidRequest("clientmsgid must be 1-64 characters")
        audience: dict[str, Any] = {"is_to_all": to_all}
        if tag_id is not None:
            audience["tag_id"] = tag_id
        body: dict[str, Any] = {"filter": audience, "msgtype": message.msgtype, **message.body()}
        if isinstance(message, MpNews):
            body["send_ignore_reprint"] = int(send_ignore_reprint)
        if clientmsgid is not None:
            body["clientmsgid"] = clientmsgid
        data = await self._json("message/mass/sendall", body=body, resendable=clientmsgid is not None)
        return _result(MassSendResult, data, "message/mass/sendall")

    # -- tags ------------------------------------------------------------------------------------

    async def create_tag(self, name: str) -> Tag:
        if not 1 <= len(name) <= TAG_NAME_MAX:
            raise InvalidRequest(f"tag names are 1-{TAG_NAME_MAX} characters")
        # Not resent after an ambiguous failure: the repeat would fail as a duplicate name (45157).
        data = await self._json("tags/create", body={"tag": {"name": name}}, resendable=False)
        return _result(Tag, data.get("tag"), "tags/create")

    async def delete_tag(self, tag_id: int) -> None:
        await self._json("tags/delete", body={"tag": {"id": tag_id}}, resendable=True)

    async def tag_members(self, tag_id: int, openids: Sequence[str]) -> None:
        """Put up to 50 users under a tag (each user carries at most 20 tags)."""
        body = {"openid_list": _openid_list(openids, most=TAGGING_BATCH_MAX), "tagid": tag_id}
        await self._json("tags/members/batchtagging", body=body, resendable=True)

    async def untag_members(self, tag_id: int, openids: Sequence[str]) -> None:
        """Take up to 50 users out of a tag."""
        body = {"openid_list": _openid_list(openids, most=TAGGING_BATCH_MAX), "tagid": tag_id}
        await self._json("tags/members/batchuntagging", body=body, resendable=True)

    # -- users -----------------------------------------------------------------------------------

    async def user_info(self, openid: str, *, lang: Lang = "zh_CN") -> UserInfo:
        data = await self._json(
            "user/info", method="GET", params={"openid": _one_openid(openid), "lang": lang}, resendable=True
        )
        return _result(UserInfo, data, "user/info")

    async def user_info_batch(self, openids: Sequence[str], *, lang: Lang = "zh_CN") -> tuple[UserInfo, ...]:
        """Up to 100 users in one call, in the order asked."""
        users = [{"openid": openid, "lang": lang} for openid in _openid_list(openids, most=USER_INFO_BATCH_MAX)]
        data = await self._json("user/info/batchget", body={"user_list": users}, resendable=True)
        return tuple(_result(UserInfo, item, "user/info/batchget") for item in data.get("user_info_list", ()))

    async def list_followers(self, next_openid: str | None = None) -> FollowerPage:
        """One page of followers (up to 10,000), starting after ``next_openid``."""
        data = await self._json("user/get", method="GET", params={"next_openid": next_openid or ""}, resendable=True)
        openids = (data.get("data") or {}).get("openid", [])
        return _result(FollowerPage, {**data, "openids": openids}, "user/get")

    # -- plumbing --------------------------------------------------------------------------------

    async def _fetch_token(self, force_refresh: bool) -> AccessToken:
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self._secret.get_secret_value(),
            "force_refresh": force_refresh,
        }
        # A forced refresh that may have happened is not repeated: the platform allows one every 30 s.
        try:
            data = await self._call("stable_token", body=body, resendable=not force_refresh, authenticated=False)
        except AccessTokenInvalid as exc:  # from stable_token, 40001 means the secret is wrong
            raise CredentialsRejected(exc.errcode, exc.errmsg, exc.api) from None
        if not isinstance(data, dict):
            raise TransportError("stable_token", "answer is not JSON")
        value, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int):
            raise TransportError("stable_token", "answer without access_token and expires_in")
        return AccessToken(value, self._clock.now() + timedelta(seconds=expires_in))

    async def _json(
        self,
        api: str,
        *,
        method: Literal["GET", "POST"] = "POST",
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        resendable: bool,
    ) -> dict[str, Any]:
        answer = await self._call(api, method=method, params=params, body=body, files=files, resendable=resendable)
        if not isinstance(answer, dict):
            raise TransportError(api, "answer is not a JSON object")
        return answer

    async def _binary(self, api: str, *, params: Mapping[str, str], authenticated: bool = True) -> bytes:
        answer = await self._call(
            api, method="GET", params=params, resendable=True, authenticated=authenticated, binary=True
        )
        if not isinstance(answer, bytes):  # a JSON answer without an errcode (cannot be from _call)
            raise TransportError(api, "expected content, got JSON")
        return answer

    async def _call(
        self,
        api: str,
        *,
        method: Literal["GET", "POST"] = "POST",
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        resendable: bool,
        authenticated: bool = True,
        binary: bool = False,
    ) -> dict[str, Any] | bytes:
        """One API call with its retries: the token dance, -1, transport failures and 45011."""
        base = self._config.qr_image_base_url if api == "showqrcode" else self._config.base_url
        url = f"{base}/cgi-bin/{api}"
        token = await self._tokens.token() if authenticated else None
        replaced_token = False
        failures = quota_waits = 0
        while True:
            if api != "stable_token":  # token calls never queue behind sends
                await self._limiter.acquire(self.appid, api)
            query = dict(params or {})
            if token is not None:
                query["access_token"] = token
            if not resendable and authenticated:
                # A request that sent a message must not be run again after a storage failure.
                note_outside_effect(f"wechat {api}")
            outcome = await self._attempt(method, url, api, query, body, files, resendable=resendable, binary=binary)
            if isinstance(outcome, _Failure):
                if outcome.retryable and failures < self._config.retries:
                    failures += 1
                    await self._pause(api, outcome.reason, self._config.retry_delay(failures), failures)
                    continue
                raise TransportError(api, outcome.reason, outcome.status_code)
            if isinstance(outcome, bytes):
                return outcome
            errcode = outcome.get("errcode", 0)
            if not errcode:
                return outcome
            errmsg = str(outcome.get("errmsg", ""))
            if token:
                errmsg = errmsg.replace(token, "***")
            error = _error(errcode, errmsg, api, self._clock)
            if isinstance(error, AccessTokenInvalid) and token is not None and not replaced_token:
                replaced_token = True
                token = await self._tokens.replace(token)
                continue
            if isinstance(error, PlatformBusy) and failures < self._config.retries:
                failures += 1
                await self._pause(api, "errcode -1", self._config.retry_delay(failures), failures)
                continue
            if isinstance(error, QuotaExceeded) and not error.daily and quota_waits < self._config.minute_quota_retries:
                quota_waits += 1
                await self._pause(api, "errcode 45011", self._config.minute_quota_delay(quota_waits), quota_waits)
                continue
            raise error

    async def _attempt(
        self,
        method: str,
        url: str,
        api: str,
        query: Mapping[str, str],
        body: Mapping[str, Any] | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        *,
        resendable: bool,
        binary: bool,
    ) -> _Failure | dict[str, Any] | bytes:
        """One HTTP exchange. Failures come back as values, never as raised httpx exceptions, so the
        exception the caller finally sees has no ``__context__`` holding a request (and its URL)."""
        if self._lane is not None and files is None and not binary:
            payload = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            try:
                answer = await self._lane.exchange(method, url, query, payload)
            except LaneFailure as failure:
                return _Failure(_redact(failure.reason), None, retryable=resendable or not failure.sent)
            return _json_answer(answer.status, answer.content, resendable=resendable)
        try:
            response = await self._http.request(
                method,
                url,
                params=query,
                json=body if files is None else None,
                files=files,
                timeout=self._timeout,
                follow_redirects=api == "showqrcode",
            )
        except httpx.TransportError as exc:
            return _Failure(_describe(exc), None, retryable=resendable or isinstance(exc, _NOT_SENT))
        except httpx.HTTPError as exc:  # redirects, decoding: not transient
            return _Failure(_describe(exc), None, retryable=False)
        status = response.status_code
        if not binary:
            return _json_answer(status, response.content, resendable=resendable)
        if status >= 500:
            return _Failure(f"HTTP {status}", status, retryable=resendable)
        if status >= 300:
            return _Failure(f"HTTP {status}", status, retryable=False)
        content = response.content
        if not _looks_like_json(response):
            return content
        try:
            data = json.loads(content)
        except ValueError:
            return content
        if not isinstance(data, dict) or not data.get("errcode"):
            return content  # JSON that is the content itself (video media: its video_url)
        return data

    async def _pause(self, api: str, reason: str, delay: float, attempt: int) -> None:
        log.warning("wechat api retry", appid=self.appid, api=api, reason=reason, attempt=attempt, delay=delay)
        await self._clock.sleep(delay)


def _json_answer(status: int, content: bytes, *, resendable: bool) -> _Failure | dict[str, Any]:
    if status >= 500:
        return _Failure(f"HTTP {status}", status, retryable=resendable)
    if status >= 300:
        return _Failure(f"HTTP {status}", status, retryable=False)
    try:
        data = json.loads(content)
    except ValueError:
        return _Failure("answer is not JSON", status, retryable=resendable)
    if not isinstance(data, dict):
        return _Failure("answer is not a JSON object", status, retryable=False)
    return data


def _one_openid(openid: str) -> str:
    if not isinstance(openid, str) or not openid:
        raise InvalidRequest("openid must be a non-empty string")
    return openid


def _looks_like_json(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    return ("json" in kind or kind.startswith("text/")) and response.content.lstrip()[:1] == b"{"


def _describe(exc: httpx.HTTPError) -> str:
    # Only the type and httpx's own text, scrubbed: some httpx messages quote the URL.
    return _redact(f"{type(exc).__name__}: {exc}".rstrip(": "))


def _error(errcode: Any, errmsg: str, api: str, clock: Clock) -> WeChatApiError:
    try:
        code = int(errcode)
    except (TypeError, ValueError):
        code = -1
    return error_for(code, errmsg, api, now=clock.now())


class WeChatClients:
    """One :class:`WeChatClient` per appid, sharing a connection pool, a rate limiter and a token store.

    The composition root of a service builds one at start-up for the configured accounts, and closes
    it at shutdown::

        clients = WeChatClients.for_accounts(settings.wechat_accounts, MongoTokenStore(database), settings.wechat_api)
        ...
        await clients[appid].send_custom_message(openid, Text(content="hi"))
        ...
        await clients.aclose()

    Accounts added later (:meth:`add`) share the same pool, limiter and store.
    """

    def __init__(
        self,
        token_store: TokenStore,
        config: WeChatApiConfig | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        lane: JsonLane | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("pass http or transport, not both")
        self._store = token_store
        self._lane = lane
        self._config = config or WeChatApiConfig()
        self._clock = clock or Clock()
        self._limiter = rate_limiter or RateLimiter(self._config, clock=self._clock)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(self._config.timeout, connect=self._config.connect_timeout)
        )
        self._clients: dict[str, WeChatClient] = {}

    @classmethod
    def for_accounts(
        cls,
        accounts: Iterable[WeChatAccount],
        token_store: TokenStore,
        config: WeChatApiConfig | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        lane: JsonLane | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> Self:
        """A registry with one client per account, as every service that calls the platform builds it
        from ``settings.wechat_accounts``.

        The accounts are checked before the connection pool opens: a list that names an appid twice
        raises :class:`ValueError` (as :meth:`add` would) without leaving an unclosed pool behind.
        """
        configured = list(accounts)
        seen: set[str] = set()
        for account in configured:
            if account.appid in seen:
                raise ValueError(f"account {account.appid} is already registered")
            seen.add(account.appid)
        clients = cls(
            token_store, config, http=http, transport=transport, clock=clock, lane=lane, rate_limiter=rate_limiter
        )
        for account in configured:
            clients.add(account.appid, account.secret)
        return clients

    def add(self, appid: str, secret: str | SecretStr) -> WeChatClient:
        if appid in self._clients:
            raise ValueError(f"account {appid} is already registered")
        client = WeChatClient(
            appid,
            secret,
            token_store=self._store,
            config=self._config,
            rate_limiter=self._limiter,
            http=self._http,
            clock=self._clock,
            lane=self._lane,
        )
        self._clients[appid] = client
        return client

    def __getitem__(self, appid: str) -> WeChatClient:
        try:
            return self._clients[appid]
        except KeyError:
            raise KeyError(f"no WeChat client for account {appid}") from None

    def __contains__(self, appid: object) -> bool:
        return appid in self._clients

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        """Closes the pool it opened, and the ``lane`` it was given."""
        if self._owns_http:
            await self._http.aclose()
        if self._lane is not None:
            await self._lane.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
