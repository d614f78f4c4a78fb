"""Members: look one up by openid, see their profile (personal data masked until revealed), and set or
remove ops tags. Every read and write goes through the members, profiles, campaigns and segments APIs
as the operator; revealing personal data is the profiles API's audited ``.../reveal`` routes."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, Response

from services.console.domain.formatting import parse_time
from services.console.domain.members import (
    CHANNEL_LABELS,
    CONSENT_LABELS,
    DELIVERY_LABELS,
    HISTORY_LABELS,
    REWARD_LABELS,
    SKIP_LABELS,
    SOURCE_LABELS,
    SUBSCRIPTION_LABELS,
    is_openid,
    tag_choices,
    tag_name,
)
from services.console.entrypoints.http.deps import AccountPage, View, is_htmx
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

router = APIRouter()

PAGE_SIZE = 25
#: WeChat's customer-service window: a member's last interaction opens it for 48 hours.
INTERACTION_WINDOW = timedelta(hours=48)
OpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


@dataclass(frozen=True)
class Part:
    """One API's part of a page: its answer, or why there is none (the page says which)."""

    value: Any = None
    #: "ok", "missing" (404), "refused" (403), "unavailable" (down, or another error).
    state: str = "ok"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"


async def _part(call: Awaitable[Any]) -> Part:
    try:
        return Part(await call)
    except ApiError as exc:
        if exc.status == 401:
            raise
        state = {404: "missing", 403: "refused"}.get(exc.status, "unavailable")
        return Part(None, state, exc.message)
    except ApiUnavailable as exc:
        return Part(None, "unavailable", str(exc))


def _labels(view: View, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The templates' label tables, and tag names in the page's language (from the taxonomy's ``rows``)."""
    names = {str(row["code"]): str(row.get("name") or "") for row in rows}
    english = {str(row["code"]): row.get("name_en") for row in rows}

    def tag(code: str, name: str = "") -> str:
        return tag_name(code, name or names.get(code, ""), view.locale, english.get(code))

    return {
        "source": SOURCE_LABELS,
        "consent": CONSENT_LABELS,
        "history": HISTORY_LABELS,
        "delivery": DELIVERY_LABELS,
        "skip": SKIP_LABELS,
        "channel": CHANNEL_LABELS,
        "subscription": SUBSCRIPTION_LABELS,
        "reward": REWARD_LABELS,
        "tag": tag,
    }


def _member_path(view: View, openid: str, suffix: str = "") -> str:
    return view.account_path(f"/members/{quote(openid, safe='')}{suffix}")


@router.get("/accounts/{appid}/members", response_class=HTMLResponse)
async def members(view: AccountPage, q: str = "", following: str = "", offset: str = "0") -> Response:
    """The look-up box and the newest followers. An openid that names a member opens their page; one
    that names nobody is a search without results (200, the page says so), not a broken page."""
    q = q.strip()
    start = max(0, min(int(offset) if offset.isdigit() else 0, 100_000))  # a page, not an error, for junk
    not_found = invalid = False
    if q:
        if not is_openid(q):
            invalid = True
        else:
            base = _member_path(view, q)
            member, profile = await asyncio.gather(
                _part(view.get(Api.MEMBERS, base)), _part(view.get(Api.PROFILES, base + "/profile"))
            )
            if member.ok or profile.ok:
                return view.redirect(base)
            not_found = True
    flag = {"true": True, "false": False}.get(following)
    listing, counts = await asyncio.gather(
        _part(view.get(Api.MEMBERS, view.account_path("/members"), following=flag, limit=PAGE_SIZE + 1, offset=start)),
        _part(view.get(Api.MEMBERS, view.account_path("/member-counts"))),
    )
    items = (listing.value or {}).get("items", []) if listing.ok else []
    return view.render(
        "members/list.html",
        q=q,
        following=following if flag is not None else "",
        offset=start,
        page_size=PAGE_SIZE,
        items=items[:PAGE_SIZE],
        more=len(items) > PAGE_SIZE,
        listing=listing,
        counts=counts.value if counts.ok else None,
        not_found=not_found,
        invalid=invalid,
    )


async def _profile_context(view: View, openid: str) -> dict[str, Any] | None:
    """Everything the profile page shows, masked; None when no API knows the member."""
    base = _member_path(view, openid)
    wanted: dict[str, Awaitable[Any]] = {
        "member": view.get(Api.MEMBERS, base),
        "profile": view.get(Api.PROFILES, base + "/profile"),
        "history": view.get(Api.PROFILES, base + "/profile/history", limit=100),
        "campaigns": view.get(Api.CAMPAIGNS, base + "/campaigns"),
    }
    if view.may(Permission.PUSH_VIEW):
        wanted["pushes"] = view.get(Api.SEGMENTS, base + "/pushes", limit=50)
        wanted["subscriptions"] = view.get(Api.SEGMENTS, base + "/subscriptions")
    wanted["taxonomy"] = view.get(Api.PROFILES, view.account_path("/profiles/taxonomy"))
    parts = dict(zip(wanted, await asyncio.gather(*(_part(c) for c in wanted.values())), strict=True))
    member, profile, history, taxonomy = parts["member"], parts["profile"], parts["history"], parts["taxonomy"]
    if member.state == "missing" and profile.state == "missing":
        return None
    rows = taxonomy.value if taxonomy.ok else []
    follow = member.value if member.ok else profile.value.get("follow") if profile.ok else None
    last_active = parse_time(profile.value.get("last_active_at")) if profile.ok else None
    window_until = last_active + INTERACTION_WINDOW if last_active else None
    return {
        "openid": openid,
        "member": member,
        "profile": profile,
        "follow": follow,
        "window_until": window_until if window_until and window_until > datetime.now(UTC) else None,
        "history_part": history,
        "history_entries": history.value if history.ok else None,
        "history_masked": True,
        "history_oob": False,
        "campaigns": parts["campaigns"],
        "pushes": parts.get("pushes"),
        "subscriptions": parts.get("subscriptions"),
        "choices": tag_choices(rows, view.locale) if view.may(Permission.PROFILE_EDIT) else [],
        "labels": _labels(view, rows),
        "revealed": None,
        "reveal_error": "",
        "tag_error": "",
        "tag_errors": {},
        "form": {},
    }


async def _profile_or_404(view: View, openid: str) -> dict[str, Any]:
    context = await _profile_context(view, openid)
    if context is None:
        raise ApiError(404, view.gettext("No member %(openid)s in this account.", openid=openid), Api.MEMBERS)
    return context


@router.get("/accounts/{appid}/members/{openid}", response_class=HTMLResponse)
async def member_page(view: AccountPage, openid: OpenId) -> HTMLResponse:
    return view.render("members/profile.html", **await _profile_or_404(view, openid))


async def _reveal(view: View, openid: str) -> tuple[dict[str, Any] | None, str]:
    """The full profile and history (each read audited by the API), or the API's refusal as text."""
    base = _member_path(view, openid, "/profile")
    try:
        profile, history = await asyncio.gather(
            view.get(Api.PROFILES, base + "/reveal"), view.get(Api.PROFILES, base + "/history/reveal", limit=100)
        )
    except ApiError as exc:
        if exc.status == 401:
            raise
        if exc.status == 403:
            return None, view.gettext("You may not reveal personal data: the profiles API refused (member:reveal_pii).")
        return None, view.error(exc)
    return {"profile": profile, "history": history}, ""


@router.post("/accounts/{appid}/members/{openid}/reveal", response_class=HTMLResponse)
async def reveal(view: AccountPage, openid: OpenId) -> HTMLResponse:
    """Personal data in full: the profiles API checks member:reveal_pii and records the reveal."""
    revealed, error = await _reveal(view, openid)
    if is_htmx(view.request):
        # The personal-data panel in place, the history beside it (out of band); 200 so htmx swaps it.
        taxonomy = await _part(view.get(Api.PROFILES, view.account_path("/profiles/taxonomy")))
        return view.render(
            "members/_revealed.html",
            openid=openid,
            revealed=revealed,
            reveal_error=error,
            labels=_labels(view, taxonomy.value if taxonomy.ok else []),
        )
    context = await _profile_or_404(view, openid)
    context.update(revealed=revealed, reveal_error=error)
    if revealed is not None:
        context.update(history_entries=revealed["history"], history_masked=False)
    return view.render("members/profile.html", status_code=403 if error else 200, **context)


async def _tag_failed(view: View, openid: str, exc: ApiError, form: dict[str, str]) -> HTMLResponse:
    """The tag panel again (or the whole page without htmx) with the API's reason beside the form."""
    if exc.status == 401:
        raise exc
    context = await _profile_or_404(view, openid)
    context.update(tag_error=view.error(exc), tag_errors=exc.fields, form=form)
    if is_htmx(view.request):
        return view.render("members/_tags.html", **context)
    return view.render("members/profile.html", status_code=exc.status, **context)


@router.post("/accounts/{appid}/members/{openid}/tags", response_class=HTMLResponse, response_model=None)
async def add_tag(
    view: AccountPage, openid: OpenId, code: Annotated[str, Form()] = "", weight: Annotated[str, Form()] = "1"
) -> Response:
    form = {"code": code, "weight": weight}
    try:
        amount = float(weight)
    except ValueError:
        amount = -1.0
    # Not a number (or not finite): sent as out of range, so the API's 422 names the field.
    body: dict[str, Any] = {"code": code.strip(), "weight": amount if math.isfinite(amount) else -1.0}
    try:
        await view.call(Api.PROFILES, "POST", _member_path(view, openid, "/profile/tags"), json=body)
    except ApiError as exc:
        return await _tag_failed(view, openid, exc, form)
    # No "#tags": a redirect to the page one is on plus a fragment would only scroll, not reload.
    return view.redirect(_member_path(view, openid))


@router.post("/accounts/{appid}/members/{openid}/tags/{code}/remove", response_class=HTMLResponse, response_model=None)
async def remove_tag(
    view: AccountPage,
    openid: OpenId,
    code: Annotated[str, Path(min_length=1, max_length=100)],
) -> Response:
    path = _member_path(view, openid, f"/profile/tags/{quote(code, safe='')}")
    try:
        await view.call(Api.PROFILES, "DELETE", path, params={"source": "ops"})
    except ApiError as exc:
        return await _tag_failed(view, openid, exc, {})
    # No "#tags": a redirect to the page one is on plus a fragment would only scroll, not reload.
    return view.redirect(_member_path(view, openid))
