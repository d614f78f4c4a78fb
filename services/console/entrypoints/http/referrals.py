"""The referral graph (推荐关系) of an account, and a campaign's poster A/B variants: patterns flagged
for review, inviters and their invitees' retention, freezing and releasing an inviter, the graph's
export; per-variant conversion with the weights and the automatic shift. Over the campaigns API,
which checks every permission and audits every write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain.messages import N_
from services.console.entrypoints.http.deps import AccountPage
from services.console.service_layer.ports import Api, ApiError
from shared.identity import Permission

router = APIRouter()

PAGE_SIZE = 50
OpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
CampaignId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
FlagId = Annotated[str, Path(max_length=160, pattern=r"^(ring|unfollow_burst|silent_invitees):[A-Za-z0-9_-]{1,128}$")]
#: The flags' kinds as the page names them (translated in the template).
FLAG_KINDS = {
    "ring": N_("Ring across campaigns"),
    "unfollow_burst": N_("Invitees unfollowed together"),
    "silent_invitees": N_("Invitees never interact"),
}


def _graph(view: AccountPage, suffix: str = "") -> str:
    return view.account_path(f"/referral-graph{suffix}")


@router.get("/accounts/{appid}/referrals", response_class=HTMLResponse)
async def referrals_page(view: AccountPage, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    flags = await view.get(Api.CAMPAIGNS, _graph(view, "/flags"))
    inviters = await view.get(Api.CAMPAIGNS, _graph(view, "/inviters"), limit=PAGE_SIZE, offset=offset)
    frozen = await view.get(Api.CAMPAIGNS, _graph(view, "/freezes"), status="frozen")
    items = flags["items"]
    return view.render(
        "referrals/page.html",
        flags=flags,
        open_flags=[flag for flag in items if flag.get("status", "open") == "open"],
        reviewed_flags=[flag for flag in items if flag.get("status", "open") != "open"],
        inviters=inviters,
        frozen=frozen["items"],
        kinds=FLAG_KINDS,
        page_size=PAGE_SIZE,
        may_decide=view.may(Permission.REVIEW_DECIDE),
        may_export=view.may(Permission.MEMBER_EXPORT),
        reveal=view.may(Permission.MEMBER_REVEAL_PII),
    )


@router.post("/accounts/{appid}/referrals/{openid}/freeze")
async def freeze(view: AccountPage, openid: OpenId, reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await view.call(Api.CAMPAIGNS, "POST", _graph(view, f"/inviters/{openid}/freeze"), json={"reason": reason})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        view.flashes.append(("error", view.error(exc)))
        return await referrals_page(view)
    return view.redirect(view.account_path("/referrals"))


@router.post("/accounts/{appid}/referrals/{openid}/release")
async def release(view: AccountPage, openid: OpenId) -> Response:
    try:
        await view.call(Api.CAMPAIGNS, "POST", _graph(view, f"/inviters/{openid}/release"))
    except ApiError as exc:
        if exc.status != 409:
            raise
        view.flashes.append(("error", view.error(exc)))
        return await referrals_page(view)
    return view.redirect(view.account_path("/referrals"))


@router.post("/accounts/{appid}/referrals/flags/{flag_id}/review")
async def review_flag(
    view: AccountPage,
    flag_id: FlagId,
    status: Annotated[str, Form(pattern=r"^(open|dismissed|confirmed)$")],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Dismiss, confirm or reopen a flag: the API checks ``review:decide`` and audits it."""
    body = {"status": status, "note": note}
    try:
        await view.call(Api.CAMPAIGNS, "POST", _graph(view, f"/flags/{flag_id}/review"), json=body)
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        view.flashes.append(("error", view.error(exc)))
        return await referrals_page(view)
    return view.redirect(view.account_path("/referrals"))


@router.get("/accounts/{appid}/referrals/export.{extension}", response_model=None)
async def export(view: AccountPage, extension: Annotated[str, Path(pattern=r"^(csv|json)$")]) -> Response:
    """The API's export passed through: the API checks ``member:export`` and audits it."""
    reply = await view.call(Api.CAMPAIGNS, "GET", _graph(view, "/export"), params={"format": extension})
    media = "text/csv; charset=utf-8" if extension == "csv" else "application/json"
    disposition = reply.headers.get("content-disposition") or f'attachment; filename="referrals.{extension}"'
    return Response(reply.content, media_type=media, headers={"Content-Disposition": disposition})


def _variants_api(view: AccountPage, campaign_id: str) -> str:
    return view.account_path(f"/campaigns/{campaign_id}/variants")


@router.get("/accounts/{appid}/campaigns/{campaign_id}/variants", response_class=HTMLResponse)
async def variants_page(view: AccountPage, campaign_id: CampaignId) -> HTMLResponse:
    campaign = await view.get(Api.CAMPAIGNS, view.account_path(f"/campaigns/{campaign_id}"))
    report = await view.get(Api.CAMPAIGNS, _variants_api(view, campaign_id))
    return _variants(view, campaign, report)


def _variants(
    view: AccountPage, campaign: dict[str, Any], report: dict[str, Any], errors: dict[str, str] | None = None
) -> HTMLResponse:
    return view.render(
        "referrals/variants.html",
        campaign=campaign,
        report=report,
        errors=errors or {},
        may_edit=view.may(Permission.CAMPAIGN_EDIT),
        status_code=422 if errors else 200,
    )


@router.post("/accounts/{appid}/campaigns/{campaign_id}/variants")
async def save_variants(view: AccountPage, campaign_id: CampaignId) -> Response:
    form = await view.request.form()
    weights: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name, value in form.items():
        if name.startswith("weight_") and isinstance(value, str):
            key = name.removeprefix("weight_")
            if value.strip().isdigit():
                weights[key] = int(value)
            else:
                errors[f"weights.{key}"] = view.gettext("A whole number from 0 to 1000.")
    sample = str(form.get("min_sample", "100")).strip()
    if not sample.isdigit() or int(sample) < 1:
        errors["auto_shift.min_sample"] = view.gettext("At least 1.")
    if not errors:
        shift = {"enabled": form.get("auto_shift") == "on", "min_sample": int(sample)}
        body = {"weights": weights, "auto_shift": shift}
        try:
            await view.call(Api.CAMPAIGNS, "PATCH", _variants_api(view, campaign_id), json=body)
            return view.redirect(view.account_path(f"/campaigns/{campaign_id}/variants"))
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = exc.fields or {"weights": view.error(exc)}
            view.flashes.append(("error", view.error(exc)))
    campaign = await view.get(Api.CAMPAIGNS, view.account_path(f"/campaigns/{campaign_id}"))
    report = await view.get(Api.CAMPAIGNS, _variants_api(view, campaign_id))
    return _variants(view, campaign, report, errors)
