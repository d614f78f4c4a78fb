"""Campaigns (任务宝): the list, the set-up wizard, the lifecycle moves and the live page.

Every read and write goes to the campaigns API as the signed-in operator; the API checks the
permission and audits. Each wizard step saves the campaign with a PATCH carrying the version the page
was opened at (``If-Match``), so two people editing at once get a clear conflict, never a silent
overwrite. Only the fields that changed are sent: an active campaign takes a few changes (name, texts,
a later end, blacklist additions) and refuses the rest with a 409 the page shows.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import qrcode
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from services.console.domain.campaigns import (
    FUNNEL_STEPS,
    JOINED_VIA,
    MAX_TIERS,
    MIN_QR_SIZE,
    REJECTIONS,
    SLOT_LABELS,
    SLOT_NAMES,
    STEP_KEYS,
    STEPS,
    changed,
    default_dates,
    from_beijing_input,
    lines,
    step_of_field,
    step_of_problem,
    to_beijing_input,
    warnings_fingerprint,
)
from services.console.entrypoints.http.deps import AccountPage, View, is_htmx
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable, Upload

__all__ = ["router"]

router = APIRouter()

BASE = "/accounts/{appid}/campaigns"
ONE = BASE + "/{campaign_id}"
PAGE_SIZE = 20
PARTICIPANTS_PAGE = 20
STATUSES = ("draft", "active", "paused", "ended")
#: A poster template's size until one is uploaded (the usual 750×1334 phone poster).
DEFAULT_SIZE = (750, 1334)
#: Beyond these, the API refuses anyway; the console does not even send them.
MAX_UPLOAD_BYTES = 12 * 1024 * 1024
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


# -- helpers -------------------------------------------------------------------------------------------


def _api_path(view: View, campaign_id: str = "", suffix: str = "") -> str:
    return view.account_path("/campaigns" + (f"/{campaign_id}" if campaign_id else "") + suffix)


#: The console's campaign pages sit at the same paths as the API's resources they show.
_page_path = _api_path


async def _quietly(call: Awaitable[Any]) -> Any:
    """Data, or None when the API refuses or is down: one missing figure never blanks the page."""
    try:
        return await call
    except (ApiError, ApiUnavailable):
        return None


async def _campaign(view: View, campaign_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await view.get(Api.CAMPAIGNS, _api_path(view, campaign_id))
    return found


def _if_match(version: Any) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def _field_errors(exc: ApiError, *, strip: tuple[str, ...] = ()) -> dict[str, str]:
    """The API's field → message, also under every prefix ("join.keywords.0" answers for "join.keywords"
    and "join"), so a form can show a message beside the control that covers it."""
    found: dict[str, str] = {}
    for name, message in exc.fields.items():
        for prefix in strip:
            name = name.removeprefix(prefix)
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            found.setdefault(".".join(parts[:end]), message)
    return found


async def _refusal(view: View, exc: ApiError, campaign_id: str | None, version: Any) -> str:
    """The message a refused save shows. A stale version says so plainly: someone else saved first."""
    if exc.status == 409 and campaign_id is not None:
        current = await _quietly(_campaign(view, campaign_id))
        if current is not None and str(current.get("version")) != str(version):
            return view.gettext(
                "Someone else saved this campaign after you opened it (version %(mine)s, now %(theirs)s). "
                "Reload the page to see their changes, then make yours again.",
                mine=version,
                theirs=current.get("version"),
            )
    if exc.status == 422 and exc.fields:
        reasons = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
        return view.gettext("Please check the highlighted fields.") + f" ({reasons})"
    return view.error(exc)


def _status_for(view: View, status: int) -> int:
    """HTMX swaps only 2xx answers: a form re-shown with its errors goes back as 200 to HTMX."""
    return 200 if is_htmx(view.request) else status


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _message(form: FormData, key: str) -> str:
    """A message text as typed; browsers send a textarea's line breaks as CRLF, members' phones get LF."""
    value = form.get(f"messages_{key}")
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


async def _file(form: FormData, name: str) -> tuple[bytes, str, str]:
    """A file field's (content, filename, content type), closed after reading; empty when none was sent.
    Up to one byte past the limit is read, so a too-large file shows as such without reading it all."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return b"", "", ""
    try:
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
    finally:
        await upload.close()
    return content, upload.filename or "", upload.content_type or "application/octet-stream"


def _int_field(form: FormData, name: str, errors: dict[str, str], key: str, view: View) -> int | None:
    text = _form_text(form, name)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        errors[key] = view.gettext("Enter a whole number.")
        return None


# -- the list ------------------------------------------------------------------------------------------


@router.get(BASE, response_class=HTMLResponse)
async def campaign_list(view: AccountPage, status: str = "", offset: Offset = 0) -> HTMLResponse:
    status = status if status in STATUSES else ""
    page = await view.get(Api.CAMPAIGNS, _api_path(view), status=status or None, limit=PAGE_SIZE, offset=offset)
    items: list[dict[str, Any]] = page["items"]
    # One stats read per listed campaign, all at once; a campaign without figures still lists.
    stats = await asyncio.gather(
        *(_quietly(view.get(Api.CAMPAIGNS, _api_path(view, c["id"], "/stats"), top=1)) for c in items)
    )
    rows = [{"campaign": c, "stats": s, "rewards": _rewards_total(s)} for c, s in zip(items, stats, strict=True)]
    return view.render(
        "campaigns/list.html",
        rows=rows,
        status=status,
        statuses=STATUSES,
        offset=offset,
        page_size=PAGE_SIZE,
        has_more=len(items) == PAGE_SIZE,
    )


def _rewards_total(stats: Mapping[str, Any] | None) -> int | None:
    if stats is None:
        return None
    return sum(int(n) for n in stats.get("rewards_granted", {}).values()) + int(stats.get("share_rewards_granted", 0))


# -- the wizard: shared ----------------------------------------------------------------------------------


def _wizard(
    view: View, step: str, campaign: Mapping[str, Any] | None, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    done = set()
    if campaign is not None:
        done.add("basics")
        if campaign.get("template"):
            done.add("poster")
        if campaign.get("tiers"):
            done.add("tiers")
        stock = extra.get("stock")
        if stock and all(pool["remaining"] > 0 for pool in stock):
            done.add("pools")
    return view.render(
        f"campaigns/step_{step}.html",
        status_code=status_code,
        steps=STEPS,
        step=step,
        done=done,
        campaign=campaign,
        base=_page_path(view, campaign["id"]) if campaign else view.account_path("/campaigns"),
        next_step=_next_step(step),
        slot_labels=SLOT_LABELS,
        min_qr=MIN_QR_SIZE,
        max_tiers=MAX_TIERS,
        errors=extra.pop("errors", {}),
        message=extra.pop("message", ""),
        **{"saved": False, "result": None, "generated": None, **extra},
    )


def _next_step(step: str) -> str:
    index = STEP_KEYS.index(step)
    return STEP_KEYS[min(index + 1, len(STEP_KEYS) - 1)]


async def _save(view: View, campaign: Mapping[str, Any], version: str, wanted: Mapping[str, Any]) -> None:
    """PATCH what changed (nothing to send: nothing to do) with the version the form was opened at."""
    patch = changed(campaign, wanted)
    if patch:
        await view.call(Api.CAMPAIGNS, "PATCH", _api_path(view, campaign["id"]), json=patch, headers=_if_match(version))


async def _save_step(
    view: View,
    step: str,
    campaign: Mapping[str, Any],
    version: str,
    wanted: Mapping[str, Any],
    values: Mapping[str, Any],
) -> Response:
    """Save a wizard step and go on; a refusal the operator can act on (409, 422, 428) re-renders the
    step with the API's reasons beside the fields."""
    try:
        await _save(view, campaign, version, wanted)
    except ApiError as exc:
        if exc.status not in (409, 422, 428):
            raise
        message = await _refusal(view, exc, campaign["id"], version)
        return _wizard(
            view,
            step,
            campaign,
            _status_for(view, exc.status),
            values=values,
            errors=_field_errors(exc),
            message=message,
        )
    return view.redirect(_page_path(view, campaign["id"], "/setup/" + _after(campaign, step)))


@router.get(ONE + "/setup", response_model=None)
async def setup_start(view: AccountPage, campaign_id: str) -> Response:
    return view.redirect(_page_path(view, campaign_id, "/setup/basics"))


# -- step 1: basics ----------------------------------------------------------------------------------------


def _basics_values(campaign: Mapping[str, Any] | None) -> dict[str, Any]:
    if campaign is None:
        starts, ends = default_dates(datetime.now(UTC))
        return {"name": "", "starts_at": starts, "ends_at": ends, "follow_qr": True, "keywords": "", "menu_keys": ""}
    join = campaign["join"]
    return {
        "name": campaign["name"],
        "starts_at": to_beijing_input(campaign["starts_at"]),
        "ends_at": to_beijing_input(campaign["ends_at"]),
        "follow_qr": join["follow_qr"],
        "keywords": "\n".join(join["keywords"]),
        "menu_keys": "\n".join(join["menu_keys"]),
    }


def _basics_from(form: FormData, view: View) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(the form's values as shown, the API body, errors found before asking the API)."""
    values: dict[str, Any] = {
        "name": _form_text(form, "name"),
        "starts_at": _form_text(form, "starts_at"),
        "ends_at": _form_text(form, "ends_at"),
        "follow_qr": "follow_qr" in form,
        "keywords": _form_text(form, "keywords"),
        "menu_keys": _form_text(form, "menu_keys"),
    }
    errors: dict[str, str] = {}
    body: dict[str, Any] = {
        "name": values["name"],
        "join": {
            "follow_qr": values["follow_qr"],
            "keywords": lines(values["keywords"]),
            "menu_keys": lines(values["menu_keys"]),
        },
    }
    if not values["name"]:
        errors["name"] = view.gettext("Give the campaign a name.")
    for name in ("starts_at", "ends_at"):
        moment = from_beijing_input(values[name])
        if moment is None:
            errors[name] = view.gettext("Enter a date and time (Beijing time).")
        else:
            body[name] = moment.isoformat()
    join = body["join"]
    if not (join["follow_qr"] or join["keywords"] or join["menu_keys"]):
        errors["join"] = view.gettext("Members need a way to join: the QR code, a keyword or a menu key.")
    return values, body, errors


@router.get(BASE + "/new", response_class=HTMLResponse)
async def new_campaign(view: AccountPage) -> HTMLResponse:
    return _wizard(view, "basics", None, values=_basics_values(None))


@router.post(BASE + "/new", response_model=None)
async def create_campaign(view: AccountPage) -> Response:
    values, body, errors = _basics_from(await view.request.form(), view)
    if errors:
        return _wizard(view, "basics", None, _status_for(view, 422), values=values, errors=errors)
    try:
        created = (await view.call(Api.CAMPAIGNS, "POST", _api_path(view), json=body)).body
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        message = await _refusal(view, exc, None, None)
        return _wizard(
            view,
            "basics",
            None,
            _status_for(view, exc.status),
            values=values,
            errors=_field_errors(exc),
            message=message,
        )
    return view.redirect(_page_path(view, created["id"], "/setup/poster"))


@router.post(ONE + "/setup/basics", response_model=None)
async def save_basics(view: AccountPage, campaign_id: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    values, body, errors = _basics_from(form, view)
    version = _form_text(form, "version")
    if errors:
        return _wizard(view, "basics", campaign, _status_for(view, 422), values=values, errors=errors)
    return await _save_step(view, "basics", campaign, version, body, values)


def _after(campaign: Mapping[str, Any], step: str) -> str:
    """Where saving a step leads: the next step while setting up; back to the live page once running."""
    if campaign.get("status") in ("active", "paused", "ended"):
        return "review"
    return _next_step(step)


# -- step 2: the poster --------------------------------------------------------------------------------


def _poster_values(campaign: Mapping[str, Any]) -> dict[str, Any]:
    template = campaign.get("template")
    width, height = (template["width"], template["height"]) if template else DEFAULT_SIZE
    qr = template["qr"] if template else {"x": 500, "y": height - 280, "size": 200}
    slots = {s["name"]: s for s in (template["text_slots"] if template else [])}
    defaults = {
        "nickname": {"x": 60, "y": height - 260, "font_size": 32, "colour": "#333333"},
        "campaign_name": {"x": 60, "y": 80, "font_size": 44, "colour": "#000000"},
        "ends_on": {"x": 60, "y": height - 200, "font_size": 24, "colour": "#666666"},
    }
    return {
        "width": width,
        "height": height,
        "qr": {k: str(v) for k, v in qr.items()},
        "slots": {
            name: {
                "on": name in slots or not template,
                **{k: str(v) for k, v in (slots.get(name) or defaults[name]).items() if k != "name"},
            }
            for name in SLOT_NAMES
        },
    }


def _layout_from(form: FormData, values: dict[str, Any], view: View) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    qr: dict[str, int] = {}
    for key in ("x", "y", "size"):
        values["qr"][key] = _form_text(form, f"qr_{key}")
        number = _int_field(form, f"qr_{key}", errors, f"qr.{key}", view)
        if number is None:
            errors.setdefault(f"qr.{key}", view.gettext("Enter a whole number."))
        else:
            qr[key] = number
    slots = []
    for name in SLOT_NAMES:
        slot = values["slots"][name]
        slot["on"] = f"slot_{name}_on" in form
        for key in ("x", "y", "font_size", "colour"):
            slot[key] = _form_text(form, f"slot_{name}_{key}")
        if not slot["on"]:
            continue
        numbers = {}
        for key in ("x", "y", "font_size"):
            number = _int_field(form, f"slot_{name}_{key}", errors, f"text_slots.{name}.{key}", view)
            if number is None:
                errors.setdefault(f"text_slots.{name}.{key}", view.gettext("Enter a whole number."))
            numbers[key] = number
        slots.append({"name": name, **numbers, "colour": slot["colour"] or "#000000"})
    return {"qr": qr, "text_slots": slots}, errors


def _slot_errors(exc: ApiError, slots: list[dict[str, Any]]) -> dict[str, str]:
    """The API names a text slot by its index; the form by its name."""
    found = _field_errors(exc, strip=("layout.", "template."))
    for key, message in list(found.items()):
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] == "text_slots" and parts[1].isdigit() and int(parts[1]) < len(slots):
            found.setdefault(".".join(["text_slots", slots[int(parts[1])]["name"], *parts[2:]]), message)
    return found


@router.post(ONE + "/setup/poster", response_model=None)
async def save_poster(view: AccountPage, campaign_id: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    version = _form_text(form, "version")
    values = _poster_values(campaign)
    layout, errors = _layout_from(form, values, view)
    content, filename, content_type = await _file(form, "image")
    if not content and not campaign.get("template"):
        errors["image"] = view.gettext("Choose the poster background: a PNG or JPEG image.")
    elif len(content) > MAX_UPLOAD_BYTES:
        errors["image"] = view.gettext("The file is too large.")
    if errors:
        return _wizard(view, "poster", campaign, _status_for(view, 422), values=values, errors=errors)
    try:
        if content:
            upload = Upload(filename or "poster", content, content_type)
            await view.call(
                Api.CAMPAIGNS,
                "POST",
                _api_path(view, campaign_id, "/template"),
                files={"image": upload},
                data={"layout": json.dumps(layout)},
                headers=_if_match(version),
            )
        else:
            template = campaign["template"]
            current = {"qr": template["qr"], "text_slots": template["text_slots"]}
            if _normalised(current) != _normalised(layout):
                body = {"template": {"image_id": template["image_id"], **layout}}
                await view.call(
                    Api.CAMPAIGNS, "PATCH", _api_path(view, campaign_id), json=body, headers=_if_match(version)
                )
    except ApiError as exc:
        if exc.status not in (409, 413, 422, 428):
            raise
        message = await _refusal(view, exc, campaign_id, version)
        errors = _slot_errors(exc, layout["text_slots"])
        if "image" in errors:
            # The API's own reason (not a PNG, too small, damaged...), beside the file input.
            message = view.gettext("This image was refused: %(reason)s", reason=errors["image"])
        return _wizard(
            view, "poster", campaign, _status_for(view, exc.status), values=values, errors=errors, message=message
        )
    # Back to this step: the operator checks the rendered preview before moving on.
    return view.redirect(_page_path(view, campaign_id, "/setup/poster?saved=1"))


def _normalised(layout: Mapping[str, Any]) -> Any:
    return json.dumps(
        {"qr": layout["qr"], "text_slots": sorted(layout["text_slots"], key=lambda s: str(s["name"]))}, sort_keys=True
    )


@router.get(ONE + "/poster-preview.png", response_model=None)
async def poster_preview(view: AccountPage, campaign_id: str, outline: bool = True) -> Response:
    reply = await view.call(
        Api.CAMPAIGNS, "GET", _api_path(view, campaign_id, "/poster-preview"), params={"outline": str(outline).lower()}
    )
    return Response(reply.content, media_type="image/png", headers={"Cache-Control": "no-store"})


# -- step 3: tiers and texts ---------------------------------------------------------------------------

_TIER_TEXTS = ("welcome", "progress", "tier_reached", "ended")
_SHARE_TEXTS = ("share_approved", "share_rejected", "share_review")


def _tiers_values(campaign: Mapping[str, Any]) -> dict[str, Any]:
    tiers = [{"count": str(t["count"]), "pool": t["pool"]} for t in campaign["tiers"]] or [{"count": "3", "pool": "A"}]
    return {"tiers": tiers, "messages": {k: campaign["messages"][k] for k in _TIER_TEXTS}}


@router.post(ONE + "/setup/tiers", response_model=None)
async def save_tiers(view: AccountPage, campaign_id: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    version = _form_text(form, "version")
    counts = [str(v).strip() for v in form.getlist("tier_count")]
    pools = [str(v).strip() for v in form.getlist("tier_pool")]
    rows = [{"count": c, "pool": p} for c, p in zip(counts, pools, strict=False)]
    messages = {k: _message(form, k) for k in _TIER_TEXTS}
    action = _form_text(form, "action")
    # Adding or removing a row only redraws the form; "save" sends it.
    if action == "add" and len(rows) < MAX_TIERS:
        last = rows[-1] if rows else {"count": "0", "pool": "A"}
        bigger = str(int(last["count"]) * 2) if last["count"].isdigit() and int(last["count"]) else "3"
        rows.append({"count": bigger, "pool": ""})
    if action.startswith("remove-") and action.removeprefix("remove-").isdigit():
        index = int(action.removeprefix("remove-"))
        rows = [row for i, row in enumerate(rows) if i != index]
    values = {"tiers": rows, "messages": messages}
    if action != "save":
        return _wizard(view, "tiers", campaign, values=values)
    errors: dict[str, str] = {}
    tiers = []
    for index, row in enumerate(rows):
        if not row["count"].isdigit() or int(row["count"]) < 1:
            errors[f"tiers.{index}.count"] = view.gettext("Enter a number of invites, 1 or more.")
        if not row["pool"]:
            errors[f"tiers.{index}.pool"] = view.gettext("Name the reward pool this tier draws from.")
        if f"tiers.{index}.count" not in errors:
            tiers.append({"count": int(row["count"]), "pool": row["pool"]})
    if not rows:
        errors["tiers"] = view.gettext("Add at least one tier.")
    if errors:
        return _wizard(view, "tiers", campaign, _status_for(view, 422), values=values, errors=errors)
    return await _save_step(view, "tiers", campaign, version, {"tiers": tiers, "messages": messages}, values)


@router.post(BASE + "/wording", response_class=HTMLResponse)
async def check_wording(view: AccountPage) -> HTMLResponse:
    """The wording check while typing: the texts as they stand in the form, nothing saved."""
    form = await view.request.form()
    body: dict[str, Any] = {
        "messages": {
            k: _message(form, k) for k in (*_TIER_TEXTS, *_SHARE_TEXTS) if form.get(f"messages_{k}") is not None
        }
    }
    if form.get("name") is not None:
        body["name"] = _form_text(form, "name")
    found = await view.call(Api.CAMPAIGNS, "POST", _api_path(view, "", "/compliance"), json=body)
    return view.render("campaigns/_flags.html", report=found.body, live=True)


# -- step 4: coupon codes ----------------------------------------------------------------------------


async def _pools_page(view: View, campaign: Mapping[str, Any], status_code: int = 200, **extra: Any) -> HTMLResponse:
    stock: list[dict[str, Any]] = await view.get(Api.CAMPAIGNS, _api_path(view, campaign["id"], "/reward-pools"))
    share_pool = campaign.get("share_reward_pool")
    if share_pool and share_pool not in {s["pool"] for s in stock}:
        stock.append({"pool": share_pool, "total": 0, "allocated": 0, "remaining": 0, "tiers": []})
    return _wizard(view, "pools", campaign, status_code, stock=stock, share_pool=share_pool, **extra)


@router.post(ONE + "/setup/pools/{pool}/codes", response_model=None)
async def upload_codes(view: AccountPage, campaign_id: str, pool: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    content, filename, _ = await _file(form, "file")
    if not content:
        errors = {f"{pool}.file": view.gettext("Choose a CSV file with one code per line.")}
        return await _pools_page(view, campaign, _status_for(view, 422), errors=errors)
    try:
        result = await view.call(
            Api.CAMPAIGNS,
            "POST",
            _api_path(view, campaign_id, f"/reward-pools/{pool}/codes"),
            files={"file": Upload(filename or "codes.csv", content, "text/csv")},
        )
    except ApiError as exc:
        if exc.status not in (409, 413, 422):
            raise
        errors = {f"{pool}.file": exc.fields.get("file") or exc.message}
        return await _pools_page(view, campaign, _status_for(view, exc.status), errors=errors, message=view.error(exc))
    return await _pools_page(view, campaign, result=result.body)


@router.post(ONE + "/setup/pools/{pool}/generate", response_model=None)
async def generate_codes(view: AccountPage, campaign_id: str, pool: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    errors: dict[str, str] = {}
    count = _int_field(form, "count", errors, f"{pool}.count", view)
    if count is None or count < 1:
        errors.setdefault(f"{pool}.count", view.gettext("Enter how many codes to make, 1 or more."))
        return await _pools_page(view, campaign, _status_for(view, 422), errors=errors)
    try:
        result = await view.call(
            Api.CAMPAIGNS, "POST", _api_path(view, campaign_id, f"/reward-pools/{pool}/generate"), json={"count": count}
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = {f"{pool}.count": exc.fields.get("count") or exc.message}
        return await _pools_page(view, campaign, _status_for(view, exc.status), errors=errors, message=view.error(exc))
    return await _pools_page(view, campaign, generated=result.body)


# -- step 5: rules -----------------------------------------------------------------------------------


def _rules_values(campaign: Mapping[str, Any]) -> dict[str, Any]:
    rules = campaign["rules"]
    cap = rules["per_inviter_daily_cap"]
    return {
        "daily_cap": "" if cap is None else str(cap),
        "revoke_hours": str(rules["revoke_if_unfollowed_within_hours"]),
        "first_time_only": rules["first_time_followers_only"],
        "blacklist": "\n".join(rules["blacklist"]),
        "reward_basis": campaign["reward_basis"],
        "share_task": campaign["share_screenshot_task"],
        "share_pool": campaign["share_reward_pool"] or "",
        "messages": {k: campaign["messages"][k] for k in _SHARE_TEXTS},
        "payout": {name: str(value) for name, value in (campaign.get("share_payout") or _NO_DELAY).items()},
    }


#: A campaign's share payout when the API says none: paid at approval, no re-check.
_NO_DELAY = {
    "delay_hours": 0,
    "recheck": "none",
    "recheck_percent": 10,
    "recheck_after_hours": 24,
    "recheck_deadline_hours": 24,
}


@router.post(ONE + "/setup/rules", response_model=None)
async def save_rules(view: AccountPage, campaign_id: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    version = _form_text(form, "version")
    values: dict[str, Any] = {
        "daily_cap": _form_text(form, "daily_cap"),
        "revoke_hours": _form_text(form, "revoke_hours"),
        "first_time_only": "first_time_only" in form,
        "blacklist": _form_text(form, "blacklist"),
        "reward_basis": _form_text(form, "reward_basis") or "verified_followers",
        "share_task": "share_task" in form,
        "share_pool": _form_text(form, "share_pool"),
        "messages": {k: _message(form, k) for k in _SHARE_TEXTS},
        "payout": {name: _form_text(form, f"payout_{name}") for name in _NO_DELAY},
    }
    errors: dict[str, str] = {}
    payout: dict[str, Any] = {"recheck": values["payout"]["recheck"] or "none"}
    for name, default in _NO_DELAY.items():
        if name != "recheck":
            found = _int_field(form, f"payout_{name}", errors, f"share_payout.{name}", view)
            payout[name] = default if found is None else found
    cap = _int_field(form, "daily_cap", errors, "rules.per_inviter_daily_cap", view)
    hours = _int_field(form, "revoke_hours", errors, "rules.revoke_if_unfollowed_within_hours", view)
    if hours is None:
        errors.setdefault(
            "rules.revoke_if_unfollowed_within_hours", view.gettext("Enter a number of hours (0: never).")
        )
    if errors:
        return _wizard(view, "rules", campaign, _status_for(view, 422), values=values, errors=errors)
    wanted: dict[str, Any] = {
        "rules": {
            "per_inviter_daily_cap": cap,
            "revoke_if_unfollowed_within_hours": hours,
            "first_time_followers_only": values["first_time_only"],
            "blacklist": sorted(lines(values["blacklist"])),
        },
        "reward_basis": values["reward_basis"],
        "share_screenshot_task": values["share_task"],
        "messages": values["messages"],
        "share_payout": payout,
    }
    if values["share_pool"]:
        wanted["share_reward_pool"] = values["share_pool"]
    return await _save_step(view, "rules", campaign, version, wanted, values)


# -- steps 6 and 7: wording, review, activate ---------------------------------------------------------


async def _compliance(view: View, campaign_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await view.get(Api.CAMPAIGNS, _api_path(view, campaign_id, "/compliance"))
    for flag in found["flags"]:
        flag["step"] = step_of_field(flag["field"])
    return found


@router.post(ONE + "/setup/compliance", response_model=None)
async def acknowledge_wording(view: AccountPage, campaign_id: str) -> Response:
    form = await view.request.form()
    campaign = await _campaign(view, campaign_id)
    report = await _compliance(view, campaign_id)
    fingerprint = warnings_fingerprint(report["flags"])
    if fingerprint and "acknowledge" not in form:
        message = view.gettext("Tick the box to confirm you have read the warnings, or change the texts.")
        return _wizard(view, "compliance", campaign, _status_for(view, 422), report=report, message=message)
    return view.redirect(
        _page_path(view, campaign_id, "/setup/review" + (f"?ack={fingerprint}" if fingerprint else ""))
    )


async def _review_page(
    view: View, campaign: Mapping[str, Any], ack: str, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    stock, report, check = await asyncio.gather(
        view.get(Api.CAMPAIGNS, _api_path(view, campaign["id"], "/reward-pools")),
        _compliance(view, campaign["id"]),
        _activation_check(view, campaign["id"]),
    )
    fingerprint = warnings_fingerprint(report["flags"])
    return _wizard(
        view,
        "review",
        campaign,
        status_code,
        stock=stock,
        report=report,
        ack=ack,
        acknowledged=not fingerprint or ack == fingerprint,
        check=check,
        **extra,
    )


async def _activation_check(view: View, campaign_id: str) -> dict[str, Any] | None:
    """The API's own answer to "could it start now?": every problem and warning, each with the wizard
    step that fixes it (None when the API does not answer: the page still shows)."""
    check: dict[str, Any] | None = await _quietly(
        view.get(Api.CAMPAIGNS, _api_path(view, campaign_id, "/activation-check"))
    )
    if check is not None:
        for item in (*check["problems"], *check["warnings"]):
            item["step"] = step_of_problem(item["field"])
    return check


@router.get(ONE + "/setup/{step}", response_class=HTMLResponse)
async def setup_step(view: AccountPage, campaign_id: str, step: str, ack: str = "", saved: str = "") -> HTMLResponse:
    campaign = await _campaign(view, campaign_id)
    if step == "basics":
        return _wizard(view, step, campaign, values=_basics_values(campaign))
    if step == "poster":
        return _wizard(view, step, campaign, values=_poster_values(campaign), saved=bool(saved))
    if step == "tiers":
        return _wizard(view, step, campaign, values=_tiers_values(campaign))
    if step == "pools":
        return await _pools_page(view, campaign)
    if step == "rules":
        return _wizard(view, step, campaign, values=_rules_values(campaign))
    if step == "compliance":
        return _wizard(view, step, campaign, report=await _compliance(view, campaign_id))
    if step == "review":
        return await _review_page(view, campaign, ack)
    raise ApiError(404, f"no set-up step {step!r}", Api.CAMPAIGNS)


@router.post(ONE + "/activate", response_model=None)
async def activate(view: AccountPage, campaign_id: str) -> Response:
    """Activate a draft (or resume a paused campaign). Blocking wording is refused here before the API
    is asked; a draft's warnings must have been acknowledged as they stand now."""
    form = await view.request.form()
    version, ack = _form_text(form, "version"), _form_text(form, "ack")
    campaign = await _campaign(view, campaign_id)
    report = await _compliance(view, campaign_id)
    fingerprint = warnings_fingerprint(report["flags"])
    refused = ""
    if report["blocking"]:
        refused = view.gettext("Fix the wording WeChat forbids before activating (see the wording check).")
    elif campaign["status"] == "draft" and fingerprint and ack != fingerprint:
        refused = view.gettext("Read and acknowledge the wording warnings before activating.")
    if refused:
        return await _review_page(view, campaign, ack, _status_for(view, 409), message=refused)
    try:
        await view.call(Api.CAMPAIGNS, "POST", _api_path(view, campaign_id, "/activate"), headers=_if_match(version))
    except ApiError as exc:
        if exc.status not in (403, 409, 422, 428):
            raise
        if exc.status == 422:  # every problem at once; the page lists each with the step that fixes it
            message = view.gettext("The campaign cannot start yet: fix the problems listed below.")
        else:
            message = await _refusal(view, exc, campaign_id, version)
        return await _review_page(view, campaign, ack, _status_for(view, exc.status), message=message)
    return view.redirect(_page_path(view, campaign_id))


async def _move(view: View, campaign_id: str, move: str) -> Response:
    """Pause or end with the version the live page showed; a refusal (a stale version, a move the status
    does not allow, no permission) is shown on the live page with the API's reason."""
    form = await view.request.form()
    version = _form_text(form, "version")
    if move == "end" and _form_text(form, "confirm") != "yes":
        message = view.gettext("Tick the box to confirm: an ended campaign cannot restart.")
        return await _live_page(view, campaign_id, _status_for(view, 422), message)
    # Ending can tell every participant (the API queues the campaign's ended text, once each).
    params = {"notify": "true"} if move == "end" and _form_text(form, "notify") == "yes" else None
    try:
        await view.call(
            Api.CAMPAIGNS, "POST", _api_path(view, campaign_id, f"/{move}"), headers=_if_match(version), params=params
        )
    except ApiError as exc:
        if exc.status not in (403, 409, 428):
            raise
        message = await _refusal(view, exc, campaign_id, version)
        return await _live_page(view, campaign_id, _status_for(view, exc.status), message)
    return view.redirect(_page_path(view, campaign_id))


@router.post(ONE + "/pause", response_model=None)
async def pause(view: AccountPage, campaign_id: str) -> Response:
    return await _move(view, campaign_id, "pause")


@router.post(ONE + "/end", response_model=None)
async def end(view: AccountPage, campaign_id: str) -> Response:
    return await _move(view, campaign_id, "end")


@router.post(ONE + "/archive", response_model=None)
async def archive(view: AccountPage, campaign_id: str) -> Response:
    return await _move(view, campaign_id, "archive")


@router.post(ONE + "/delete", response_model=None)
async def delete(view: AccountPage, campaign_id: str) -> Response:
    """Delete a draft (the API refuses a campaign that ran, with the reason the page shows)."""
    form = await view.request.form()
    if _form_text(form, "confirm") != "yes":
        message = view.gettext("Tick the box to confirm: a deleted draft cannot be restored.")
        return await _live_page(view, campaign_id, _status_for(view, 422), message)
    version = _form_text(form, "version")
    try:
        await view.call(Api.CAMPAIGNS, "DELETE", _api_path(view, campaign_id, ""), headers=_if_match(version))
    except ApiError as exc:
        if exc.status not in (403, 409, 428):
            raise
        message = await _refusal(view, exc, campaign_id, version)
        return await _live_page(view, campaign_id, _status_for(view, exc.status), message)
    return view.redirect(f"/accounts/{view.appid}/campaigns")


@router.post(ONE + "/clone", response_model=None)
async def clone(view: AccountPage, campaign_id: str) -> Response:
    try:
        copy = (await view.call(Api.CAMPAIGNS, "POST", _api_path(view, campaign_id, "/clone"))).body
    except ApiError as exc:
        if exc.status not in (403, 409):
            raise
        return await _live_page(view, campaign_id, _status_for(view, exc.status), view.error(exc))
    return view.redirect(_page_path(view, copy["id"], "/setup/basics?cloned=1"))


# -- the live page ---------------------------------------------------------------------------------------


def _numbers_context(view: View, stats: Mapping[str, Any] | None) -> dict[str, Any]:
    if stats is None:
        return {"stats": None, "funnel_json": "[]", "rejections": [], "joined_via": []}
    funnel = [
        {"step": row["step"], "name": view.gettext(FUNNEL_STEPS.get(row["step"], row["step"])), "value": row["count"]}
        for row in stats.get("funnel", [])
    ]
    rejections = sorted(stats.get("rejections", {}).items(), key=lambda item: -item[1])
    return {
        "stats": stats,
        "funnel": funnel,
        # For the chart's data attribute (the template escapes it).
        "funnel_json": json.dumps(funnel, ensure_ascii=False),
        "rejections": [
            (rule, view.gettext(REJECTIONS[rule]) if rule in REJECTIONS else rule, n) for rule, n in rejections
        ],
        "joined_via": [
            (view.gettext(JOINED_VIA[way]) if way in JOINED_VIA else way, n)
            for way, n in sorted(stats.get("joined_via", {}).items(), key=lambda item: -item[1])
        ],
    }


async def _stats(view: View, campaign_id: str) -> dict[str, Any] | None:
    stats: dict[str, Any] | None = await _quietly(
        view.get(Api.CAMPAIGNS, _api_path(view, campaign_id, "/stats"), top=10)
    )
    return stats


async def _participants(view: View, campaign_id: str, q: str, offset: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await _quietly(
        view.get(
            Api.CAMPAIGNS,
            _api_path(view, campaign_id, "/participants"),
            q=q or None,
            limit=PARTICIPANTS_PAGE,
            offset=offset,
        )
    )
    return found


@router.get(ONE, response_class=HTMLResponse)
async def live(view: AccountPage, campaign_id: str) -> HTMLResponse:
    return await _live_page(view, campaign_id)


async def _live_page(view: View, campaign_id: str, status_code: int = 200, message: str = "") -> HTMLResponse:
    campaign, stats, participants, check = await asyncio.gather(
        _campaign(view, campaign_id),
        _stats(view, campaign_id),
        _participants(view, campaign_id, "", 0),
        _activation_check(view, campaign_id),
    )
    return view.render(
        "campaigns/live.html",
        status_code=status_code,
        campaign=campaign,
        # Empty reward pools and the like, for a running or paused campaign (a draft's are on its review).
        start_warnings=(check or {}).get("warnings", []) if campaign["status"] in ("active", "paused") else [],
        base=_page_path(view, campaign_id),
        participants=participants,
        q="",
        page_size=PARTICIPANTS_PAGE,
        joined_via_labels=JOINED_VIA,
        message=message,
        **_numbers_context(view, stats),
    )


@router.get(ONE + "/numbers", response_class=HTMLResponse)
async def numbers(view: AccountPage, campaign_id: str) -> HTMLResponse:
    """The live page's figures only (it asks for them every 15 s)."""
    stats = await _stats(view, campaign_id)
    return view.render("campaigns/_numbers.html", base=_page_path(view, campaign_id), **_numbers_context(view, stats))


@router.get(ONE + "/participants", response_class=HTMLResponse)
async def participants(view: AccountPage, campaign_id: str, q: str = "", offset: Offset = 0) -> HTMLResponse:
    found = await view.get(
        Api.CAMPAIGNS,
        _api_path(view, campaign_id, "/participants"),
        q=q.strip() or None,
        limit=PARTICIPANTS_PAGE,
        offset=offset,
    )
    return view.render(
        "campaigns/_participants.html",
        base=_page_path(view, campaign_id),
        participants=found,
        q=q.strip(),
        page_size=PARTICIPANTS_PAGE,
        joined_via_labels=JOINED_VIA,
    )


@router.get(ONE + "/join-qr", response_class=HTMLResponse)
async def join_qr(view: AccountPage, campaign_id: str) -> HTMLResponse:
    """The campaign's own QR code, drawn here from what it encodes (pages load no outside pictures)."""
    try:
        code = await view.get(Api.CAMPAIGNS, _api_path(view, campaign_id, "/join-qr"))
    except ApiError as exc:
        return view.render("campaigns/_join_qr.html", code=None, image="", message=view.error(exc))
    return view.render("campaigns/_join_qr.html", code=code, image=_qr_data_uri(code["url"]), message="")


def _qr_data_uri(text: str) -> str:
    picture = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    picture.add_data(text)
    buffer = io.BytesIO()
    picture.make_image().save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@router.get(ONE + "/participants.csv", response_model=None)
async def export_participants(view: AccountPage, campaign_id: str) -> Response:
    """The API's CSV passed through: the API checks ``member:export`` and audits the export."""
    reply = await view.call(Api.CAMPAIGNS, "GET", _api_path(view, campaign_id, "/participants.csv"))
    disposition = reply.headers.get("content-disposition") or f'attachment; filename="campaign-{campaign_id}.csv"'
    return Response(reply.content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
