"""The ``/cgi-bin/`` API of the simulated platform, and the state changes behind member actions.

Every operation runs under one lock: the HTTP app, a test thread and the push driver can all touch
the state at once. Nothing here awaits while holding it.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.wechat_sim.domain import pushes
from services.wechat_sim.domain.account import AccountRules, IdSource, PendingPush, SimAccount
from services.wechat_sim.domain.clock import Clock
from services.wechat_sim.domain.errors import ApiError, InvalidAction, UnknownAccount
from services.wechat_sim.domain.media import MediaItem, MediaLimits, check_upload
from services.wechat_sim.domain.members import SERVICE_UNAVAILABLE, Consent, InboxEntry, SimMember
from services.wechat_sim.domain.qrcodes import QrTicket, parse_qr_request
from services.wechat_sim.domain.tags import TagRules
from services.wechat_sim.domain.tokens import TokenRules
from services.wechat_sim.domain.windows import WindowRule
from services.wechat_sim.settings import WeChatSimSettings
from shared.wechat import MessageCrypto, Mode


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class ApiRequest:
    method: str
    query: Mapping[str, str]
    body: bytes = b""
    #: the multipart field ``media`` of an upload, if the request had one
    upload: Upload | None = None


@dataclass(frozen=True)
class BinaryResponse:
    content: bytes
    content_type: str
    filename: str


ApiResult = dict[str, Any] | BinaryResponse


@dataclass(frozen=True)
class Wire:
    """How one account's pushes travel."""

    appid: str
    original_id: str
    gateway_url: str
    mode: Mode
    token: str
    crypto: MessageCrypto | None


@dataclass(frozen=True)
class PreparedPush:
    """A push the platform is about to send, after the state change that caused it."""

    appid: str
    openid: str
    kind: str
    fields: pushes.PushFields
    #: The member is looking at the chat: a reply is shown, a failure shows the platform's notice.
    member_facing: bool = True


def _rules(settings: WeChatSimSettings) -> AccountRules:
    return AccountRules(
        tokens=TokenRules(
            ttl_seconds=settings.token_ttl_seconds,
            grace_seconds=settings.token_grace_seconds,
            force_refresh_daily=settings.stable_token_force_refresh_daily,
            force_refresh_interval_seconds=settings.stable_token_force_refresh_interval_seconds,
        ),
        daily_quotas=settings.daily_quotas,
        minute_limits=settings.minute_limits,
        message_window=WindowRule(settings.cs_message_window_count, settings.cs_message_window_seconds),
        event_window=WindowRule(settings.cs_event_window_count, settings.cs_event_window_seconds),
        mass_monthly_limit=settings.mass_monthly_limit,
        tags=TagRules(
            per_account=settings.tags_per_account,
            per_member=settings.tags_per_member,
            per_batch=settings.tags_per_batch,
            name_max_chars=settings.tag_name_max_chars,
        ),
        media=MediaLimits(
            image_bytes=settings.media_image_max_bytes,
            voice_bytes=settings.media_voice_max_bytes,
            video_bytes=settings.media_video_max_bytes,
            thumb_bytes=settings.media_thumb_max_bytes,
            ttl_seconds=settings.media_ttl_seconds,
        ),
        qr_default_expire_seconds=settings.qr_default_expire_seconds,
        qr_url_base=settings.qr_url_base,
        user_get_page_size=settings.user_get_page_size,
        second_limits=settings.second_limits,
    )


Handler = Callable[["Platform", SimAccount, ApiRequest], ApiResult]
_APIS: dict[str, tuple[str, Handler]] = {}


def _api(path: str, method: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _APIS[path] = (method, handler)
        return handler

    return register


def api_paths() -> list[str]:
    """Every API path (under /cgi-bin) the simulator answers."""
    return sorted([*_APIS, "token", "stable_token"])


class Platform:
    def __init__(self, settings: WeChatSimSettings, clock: Clock, ids: IdSource) -> None:
        self.settings = settings
        self.clock = clock
        self._ids = ids
        self._lock = threading.RLock()
        rules = _rules(settings)
        self._accounts = {
            a.appid: SimAccount(a.appid, settings.original_id(a.appid), rules, ids) for a in settings.wechat_accounts
        }
        self._secrets = {a.appid: a.secret.get_secret_value() for a in settings.wechat_accounts}
        self._wires = {a.appid: self._wire(a.appid) for a in settings.wechat_accounts}
        #: Called (under the lock) when a job-finish push is queued; the app wakes its pump with it.
        self.on_pending: Callable[[], None] | None = None

    def _wire(self, appid: str) -> Wire:
        account = next(a for a in self.settings.wechat_accounts if a.appid == appid)
        mode = self.settings.options(appid).mode
        crypto = None if mode is Mode.PLAINTEXT else MessageCrypto(appid, account.encoding_aes_key.get_secret_value())
        return Wire(
            appid,
            self.settings.original_id(appid),
            self.settings.gateway_url(appid),
            mode,
            account.token.get_secret_value(),
            crypto,
        )

    def now(self) -> float:
        return self.clock.now()

    def wire(self, appid: str) -> Wire:
        self._account(appid)
        return self._wires[appid]

    @property
    def appids(self) -> list[str]:
        return list(self._accounts)

    def _account(self, appid: str) -> SimAccount:
        account = self._accounts.get(appid)
        if account is None:
            raise UnknownAccount(f"no account {appid!r}")
        return account

    # -- the API ------------------------------------------------------------------------------

    def call(self, api: str, request: ApiRequest) -> ApiResult:
        """One ``/cgi-bin/<api>`` call. Refusals come back as the platform's error body, not raised."""
        with self._lock:
            try:
                if api == "stable_token":
                    return self._stable_token(request)
                if api == "token":
                    return self._basic_token(request)
                spec = _APIS.get(api)
                if spec is None:
                    raise ApiError(48001)
                method, handler = spec
                if request.method != method:
                    raise ApiError(43001 if method == "GET" else 43002)
                account = self._authenticate(request.query.get("access_token"))
                self._admit(account, api)
                result = handler(self, account, request)
                if account.outbox and self.on_pending is not None:
                    self.on_pending()
                return result
            except ApiError as error:
                return self.error_body(error)

    def error_body(self, error: ApiError) -> dict[str, Any]:
        rid = f"{int(self.now()) & 0xFFFFFFFF:08x}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        return {"errcode": error.errcode, "errmsg": f"{error.errmsg} rid: {rid}"}

    def _admit(self, account: SimAccount, api: str) -> None:
        fault = account.faults.take(api)
        if fault is not None:
            raise fault
        account.limiter.admit(api, self.now())

    def _authenticate(self, token: str | None) -> SimAccount:
        if not token:
            raise ApiError(41001)
        for account in self._accounts.values():
            if account.tokens.owns(token):
                account.tokens.check(token, self.now())
                return account
        raise ApiError(40014)

    def _credentials(self, api: str, appid: object, secret: object) -> SimAccount:
        """The account whose appid and secret these are; faults and quotas apply from here."""
        if not isinstance(appid, str) or not appid:
            raise ApiError(41002)
        account = self._accounts.get(appid)
        if account is None:
            raise ApiError(40013)
        fault = account.faults.take(api)
        if fault is not None:
            raise fault
        if not isinstance(secret, str) or not secret:
            raise ApiError(41004)
        if not secrets.compare_digest(secret.encode(), self._secrets[appid].encode()):
            raise ApiError(40001)
        account.limiter.admit(api, self.now())
        return account

    def _stable_token(self, request: ApiRequest) -> ApiResult:
        if request.method != "POST":
            raise ApiError(43002)
        body = _json(request)
        if body.get("grant_type") != "client_credential":
            raise ApiError(40002)
        account = self._credentials("stable_token", body.get("appid"), body.get("secret"))
        force = body.get("force_refresh") is True
        token = account.tokens.stable(self.now(), force_refresh=force)
        return {"access_token": token.value, "expires_in": token.expires_in(self.now())}

    def _basic_token(self, request: ApiRequest) -> ApiResult:
        if request.method != "GET":
            raise ApiError(43001)
        if request.query.get("grant_type") != "client_credential":
            raise ApiError(40002)
        account = self._credentials("token", request.query.get("appid"), request.query.get("secret"))
        token = account.tokens.basic(self.now())
        return {"access_token": token.value, "expires_in": token.expires_in(self.now())}

    def qr_ticket(self, ticket: str) -> QrTicket:
        """The live ticket behind ``showqrcode`` (no token needed); ApiError otherwise."""
        with self._lock:
            for account in self._accounts.values():
                found = account.tickets.get(ticket)
                if found is not None and found.is_live(self.now()):
                    return found
        raise ApiError(40097, "invalid ticket")

    def picture(self, media_id: str) -> MediaItem:
        """A member's picture (the PicUrl of image pushes), while the media lives."""
        with self._lock:
            for account in self._accounts.values():
                if media_id in account.media:
                    return account.live_media(media_id, self.now(), "image")
        raise ApiError(40007)

    # -- member actions (the driver sends the push afterwards) ---------------------------------

    def prepare_follow(
        self, appid: str, openid: str, *, ticket: str | None, scene: str | None, subscribe_scene: str
    ) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            member = account.members.get(openid)
            if member is not None and member.following:
                raise InvalidAction(f"{openid!r} already follows {appid!r}")
            qr = self._resolve_ticket(account, ticket, scene)
            member = account.add_member(openid)
            member.follow(now, subscribe_scene=subscribe_scene, ticket=qr)
            return PreparedPush(appid, openid, "subscribe", pushes.subscribe(account.original_id, openid, now, qr))

    def prepare_scan(self, appid: str, openid: str, *, ticket: str | None, scene: str | None) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            member = account.follower(openid, "scan (a non-follower who scans gets the follow page: use follow)")
            qr = self._resolve_ticket(account, ticket, scene)
            if qr is None:
                raise InvalidAction("scan needs a ticket or a scene")
            member.windows.member_interacted(now)
            return PreparedPush(appid, openid, "SCAN", pushes.scan(account.original_id, openid, now, qr))

    def prepare_poster(self, appid: str, openid: str, url: str, subscribe_scene: str) -> PreparedPush:
        """A member scans a QR poster: SCAN if they follow already, a QR follow otherwise."""
        with self._lock:
            account = self._account(appid)
            ticket = account.ticket_for_url(url, self.now()).ticket
            member = account.members.get(openid)
            if member is not None and member.following:
                return self.prepare_scan(appid, openid, ticket=ticket, scene=None)
            return self.prepare_follow(appid, openid, ticket=ticket, scene=None, subscribe_scene=subscribe_scene)

    def prepare_unfollow(self, appid: str, openid: str) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            account.follower(openid, "unfollow").unfollow()
            fields = pushes.unsubscribe(account.original_id, openid, now)
            return PreparedPush(appid, openid, "unsubscribe", fields, member_facing=False)

    def prepare_click(self, appid: str, openid: str, key: str) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            account.follower(openid, "tap the menu").windows.member_interacted(now)
            return PreparedPush(appid, openid, "CLICK", pushes.click(account.original_id, openid, now, key))

    def prepare_view(self, appid: str, openid: str, url: str) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            account.follower(openid, "tap the menu")  # a link button opens no window
            return PreparedPush(appid, openid, "VIEW", pushes.view(account.original_id, openid, now, url))

    def prepare_text(self, appid: str, openid: str, content: str) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            account.follower(openid, "write").windows.member_wrote(now)
            fields = pushes.text(account.original_id, openid, now, content, self._ids.msg_id())
            return PreparedPush(appid, openid, "text", fields)

    def prepare_image(self, appid: str, openid: str, image: bytes) -> PreparedPush:
        with self._lock:
            account, now = self._account(appid), self.now()
            member = account.follower(openid, "send a picture")
            try:
                content_type = check_upload("image", image, account.rules.media)
            except ApiError as error:
                raise InvalidAction(f"not a picture the platform accepts: {error.errmsg}") from None
            item = account.store_media("image", image, content_type, "member.png", now)
            member.windows.member_wrote(now)
            pic_url = f"{self.settings.public_url.rstrip('/')}/sim/media/pic/{item.media_id}"
            fields = pushes.image(account.original_id, openid, now, pic_url, item.media_id, self._ids.msg_id())
            return PreparedPush(appid, openid, "image", fields)

    def prepare_consent(
        self, appid: str, openid: str, template_id: str, *, long_term: bool, accept: bool = True
    ) -> PreparedPush:
        """The member answers a subscription popup: an accept adds a one-time notice (or makes the
        template long-term); a reject changes nothing but is pushed all the same."""
        with self._lock:
            account, now = self._account(appid), self.now()
            member = account.member(openid)
            if accept:
                held = member.consents.get(template_id)
                if held is None:
                    member.consents[template_id] = Consent(template_id, long_term, now, credits=0 if long_term else 1)
                else:
                    held.long_term = held.long_term or long_term
                    held.credits += 0 if long_term else 1
                    held.granted_at = now
            fields = pushes.subscribe_popup(account.original_id, openid, now, template_id, accept=accept)
            return PreparedPush(appid, openid, "subscribe_msg_popup_event", fields, member_facing=False)

    def prepare_consent_cancel(self, appid: str, openid: str, template_id: str) -> PreparedPush:
        """The member switches the template off in their notice settings: what they consented to goes."""
        with self._lock:
            account, now = self._account(appid), self.now()
            account.member(openid).consents.pop(template_id, None)
            fields = pushes.subscribe_change(account.original_id, openid, now, template_id, accept=False)
            return PreparedPush(appid, openid, "subscribe_msg_change_event", fields, member_facing=False)

    def _resolve_ticket(self, account: SimAccount, ticket: str | None, scene: str | None) -> QrTicket | None:
        if ticket:
            return account.live_ticket(ticket, self.now())
        if scene:
            return account.ticket_for_scene(scene, self.now())
        return None

    def take_pending(self) -> list[PreparedPush]:
        with self._lock:
            taken = []
            for account in self._accounts.values():
                taken += [_job_push(account.appid, p) for p in account.outbox]
                account.outbox.clear()
            return taken

    def record_reply(
        self, appid: str, openid: str, msgtype: str, payload: dict[str, Any], media: tuple[str, str] | None
    ) -> InboxEntry:
        """Show a passive reply to the member; its media must be live uploaded media (ApiError 40007)."""
        with self._lock:
            account = self._account(appid)
            if media is not None:
                account.live_media(media[0], self.now(), media[1])
            return account.member(openid).receive(self.now(), "passive", msgtype, payload)

    def record_notice(self, appid: str, openid: str) -> InboxEntry:
        with self._lock:
            member = self._account(appid).member(openid)
            return member.receive(self.now(), "platform", "text", {"content": SERVICE_UNAVAILABLE})

    # -- sim-only state ------------------------------------------------------------------------

    def add_member(
        self,
        appid: str,
        openid: str | None = None,
        *,
        following: bool = True,
        subscribe_scene: str = "ADD_SCENE_OTHERS",
    ) -> dict[str, Any]:
        """A member who exists already (no push): a follower from before the simulation started."""
        with self._lock:
            account, now = self._account(appid), self.now()
            if openid is not None and openid in account.members:
                raise InvalidAction(f"member {openid!r} exists already")
            member = account.add_member(openid)
            if following:
                member.follow(now, subscribe_scene=subscribe_scene, ticket=None)
                member.windows.close()  # an old follow opens no window now
            return member.as_json(now)

    def member(self, appid: str, openid: str) -> dict[str, Any]:
        with self._lock:
            return self._account(appid).member(openid).as_json(self.now())

    def members(self, appid: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m.as_json(self.now()) for m in self._account(appid).members.values()]

    def inbox(self, appid: str, openid: str, *, after: int = 0) -> list[InboxEntry]:
        with self._lock:
            return [e for e in self._account(appid).member(openid).inbox if e.seq > after]

    def update_member(self, appid: str, openid: str, *, blocks_templates: bool) -> dict[str, Any]:
        with self._lock:
            member: SimMember = self._account(appid).member(openid)
            member.blocks_templates = blocks_templates
            return member.as_json(self.now())

    def inject_fault(self, appid: str, api: str, errcode: int, *, count: int = 1, errmsg: str | None = None) -> None:
        """The next ``count`` calls to ``api`` ("*": any) by this account fail with ``errcode``."""
        if api != "*" and api not in api_paths():
            raise InvalidAction(f"unknown API {api!r}; one of {', '.join(api_paths())} or '*'")
        with self._lock:
            self._account(appid).faults.add(api, errcode, count, errmsg)

    def faults(self, appid: str) -> list[dict[str, object]]:
        with self._lock:
            return [f.as_json() for f in self._account(appid).faults.pending()]

    def calls(self, appid: str, api: str, since: float | None = None) -> dict[str, object]:
        """How ``api`` was called by the account, second by second (:meth:`CallLimiter.report`)."""
        with self._lock:
            return self._account(appid).limiter.report(api, self.now(), since)

    def clear_faults(self, appid: str) -> None:
        with self._lock:
            self._account(appid).faults.clear()

    def tickets(self, appid: str) -> list[dict[str, Any]]:
        with self._lock:
            return [t.as_json(self.now()) for t in self._account(appid).tickets.values()]

    def accounts(self) -> list[dict[str, Any]]:
        return [
            {"appid": w.appid, "original_id": w.original_id, "mode": w.mode.value, "gateway_url": w.gateway_url}
            for w in self._wires.values()
        ]


def _job_push(appid: str, pending: PendingPush) -> PreparedPush:
    return PreparedPush(appid, pending.openid, str(pending.fields["Event"]), pending.fields, member_facing=False)


def _json(request: ApiRequest) -> Mapping[str, Any]:
    if not request.body.strip():
        raise ApiError(44002)
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(47001) from None
    if not isinstance(body, dict):
        raise ApiError(47001)
    return body


# -- API handlers ---------------------------------------------------------------------------------


@_api("qrcode/create", "POST")
def _qrcode_create(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    qr_request = parse_qr_request(_json(request), default_expire_seconds=account.rules.qr_default_expire_seconds)
    ticket = account.create_qr(qr_request, p.now())
    if ticket.permanent:
        return {"ticket": ticket.ticket, "url": ticket.url}
    return {"ticket": ticket.ticket, "expire_seconds": qr_request.expire_seconds, "url": ticket.url}


@_api("media/upload", "POST")
def _media_upload(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    media_type = request.query.get("type", "")
    upload = request.upload
    content_type = check_upload(media_type, upload.content if upload else None, account.rules.media)
    assert upload is not None
    item = account.store_media(media_type, upload.content, content_type, upload.filename or "media", p.now())
    return {"type": item.type, "media_id": item.media_id, "created_at": int(item.created_at)}


@_api("media/get", "GET")
def _media_get(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    item = account.live_media(request.query.get("media_id", ""), p.now())
    return BinaryResponse(item.content, item.content_type, item.filename)


@_api("message/custom/send", "POST")
def _custom_send(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    account.custom_send(_json(request), p.now())
    return {"errcode": 0, "errmsg": "ok"}


@_api("message/template/send", "POST")
def _template_send(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    msgid = account.template_send(_json(request), p.now())
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@_api("message/subscribe/bizsend", "POST")
def _subscribe_send(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    account.subscribe_send(_json(request), p.now())
    return {"errcode": 0, "errmsg": "ok"}


@_api("message/mass/sendall", "POST")
def _mass_sendall(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    result = account.mass_send(_json(request), p.now())
    return {
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": result.msg_id,
        "msg_data_id": result.msg_data_id,
    }


@_api("tags/create", "POST")
def _tags_create(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    tag = _json(request).get("tag")
    tag_id, name = account.tags.create(tag.get("name") if isinstance(tag, Mapping) else None)
    return {"tag": {"id": tag_id, "name": name}}


@_api("tags/get", "GET")
def _tags_get(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    return {"tags": account.tags.listing(account.members.values())}


@_api("tags/delete", "POST")
def _tags_delete(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    tag = _json(request).get("tag")
    account.tags.delete(tag.get("id") if isinstance(tag, Mapping) else None, account.members.values())
    return {"errcode": 0, "errmsg": "ok"}


@_api("tags/members/batchtagging", "POST")
def _batch_tagging(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    body = _json(request)
    account.tags.tag(body.get("tagid"), account.batch_members(body))
    return {"errcode": 0, "errmsg": "ok"}


@_api("tags/members/batchuntagging", "POST")
def _batch_untagging(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    body = _json(request)
    account.tags.untag(body.get("tagid"), account.batch_members(body))
    return {"errcode": 0, "errmsg": "ok"}


@_api("tags/getidlist", "POST")
def _tags_of_member(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    openid = _json(request).get("openid")
    member = account.api_member(openid if isinstance(openid, str) else "")
    return {"tagid_list": list(member.tag_ids)}


@_api("user/info", "GET")
def _user_info(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    return account.api_member(request.query.get("openid", "")).user_info()


@_api("user/info/batchget", "POST")
def _user_info_batch(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    return {"user_info_list": account.users_info(_json(request))}


@_api("user/get", "GET")
def _user_get(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    return account.followers_page(request.query.get("next_openid", ""))


@_api("clear_quota", "POST")
def _clear_quota(p: Platform, account: SimAccount, request: ApiRequest) -> ApiResult:
    account.limiter.clear()
    return {"errcode": 0, "errmsg": "ok"}
