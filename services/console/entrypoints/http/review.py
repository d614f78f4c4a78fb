"""The share-screenshot review queue and the review desk, over the campaigns API's review desk
(``/accounts/{appid}/screenshots``).

The queue lists what waits (oldest first, with its age against the service level and who holds it);
"Start reviewing" claims the oldest free item and opens the desk. The desk shows the picture beside
the machine's evidence and the member's history; a decision claims the next item and the desk swaps
to it in place (HTMX), so a reviewer goes through the queue without a page load. Claims keep two
reviewers off one item: the desk renews its claim while open and releases it on the way out; the API
refuses a decision on someone else's live claim (409), and the desk shows who holds it.

The queue also hands out what reviewers decided, as a labelled set (a zip for ``scrm
verify-screenshots --labels``): the API checks ``screenshot:export`` and audits the export.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain.formatting import BEIJING, beijing
from services.console.domain.review import QUEUE_PAGE, overdue, picture_path, qr_owner
from services.console.entrypoints.http.deps import AccountPage, View, is_htmx
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

__all__ = ["router"]

router = APIRouter()

_ID = r"^[A-Za-z0-9_-]+$"
_TICK = timedelta(microseconds=1)
SubmissionId = Annotated[str, Path(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9_:.-]+$")]
CampaignId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
CampaignFilter = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]
ReasonFilter = Annotated[str, Query(max_length=40, pattern=r"^[a-z0-9_]*$")]
FormCampaign = Annotated[str, Form(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]


def _partial(view: View) -> bool:
    """An HTMX swap wants the region only; its history restore (the browser's Back) the whole page."""
    return is_htmx(view.request) and view.request.headers.get("HX-History-Restore-Request") != "true"


def _desk_api(view: View, suffix: str = "") -> str:
    return view.account_path("/screenshots" + suffix)


def _queue_url(view: View, campaign_id: str = "", **extra: str) -> str:
    query = urlencode({k: v for k, v in {"campaign_id": campaign_id, **extra}.items() if v})
    return view.account_path("/review") + (f"?{query}" if query else "")


def _desk_url(view: View, submission_id: str, campaign_id: str = "") -> str:
    return view.account_path(f"/review/{submission_id}") + (f"?campaign_id={campaign_id}" if campaign_id else "")


async def _quietly(view: View, path: str, **params: Any) -> Any:
    """Filters' data (campaign names, reason codes): the page still works without them."""
    try:
        return await view.get(Api.CAMPAIGNS, path, **params)
    except (ApiError, ApiUnavailable):
        return None


async def _campaigns(view: View) -> list[dict[str, Any]]:
    found = await _quietly(view, view.account_path("/campaigns"), limit=200)
    items = found.get("items", []) if isinstance(found, dict) else (found or [])
    return [c for c in items if c.get("share_screenshot_task", True)]


async def _reasons(view: View) -> list[dict[str, str]]:
    found = await _quietly(view, _desk_api(view, "/reasons"))
    return list(found.get("reasons", [])) if isinstance(found, dict) else []


def _waiting(view: View, campaign_id: str, reason: str = "", offset: int = 0) -> Any:
    return view.get(
        Api.CAMPAIGNS,
        _desk_api(view),
        status="review",
        campaign_id=campaign_id,
        reason=reason,
        limit=QUEUE_PAGE,
        offset=offset,
    )


# -- the queue ------------------------------------------------------------------------------------------


@router.get("/accounts/{appid}/review", response_class=HTMLResponse)
async def queue(
    view: AccountPage,
    campaign_id: CampaignFilter = "",
    reason: ReasonFilter = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    empty: bool = False,
) -> HTMLResponse:
    if not view.may(Permission.REVIEW_DECIDE):
        # The backlog alone is readable with campaign:view, but this page is the reviewers' desk:
        # refused like every page the navigation hides (the APIs refuse its claims and decisions anyway).
        return view.render(
            "error.html",
            status_code=403,
            status=403,
            title=view.gettext("You do not have permission to do this."),
            message=view.gettext("The review queue is for reviewers (review:decide on this account)."),
        )
    page, campaigns, reasons = await asyncio.gather(
        _waiting(view, campaign_id, reason, offset), _campaigns(view), _reasons(view)
    )
    if empty:
        view.flashes.append(("info", view.gettext("Nothing left to review. Well done.")))
    context = {
        "page": page,
        "items": page.get("items", []),
        "counts": page.get("counts", {}),
        "campaigns": campaigns,
        "reasons": reasons,
        "campaign_id": campaign_id,
        "reason": reason,
        "offset": offset,
        "limit": QUEUE_PAGE,
        "overdue": overdue,
        "overdue_count": sum(1 for item in page.get("items", []) if overdue(item)),
        "queue_url": _queue_url(view, campaign_id, reason=reason),
        "page_url": lambda at: _queue_url(view, campaign_id, reason=reason, offset=str(at) if at else ""),
        # Hidden without the permission; the API refuses the export anyway.
        "may_export": view.may(Permission.SCREENSHOT_EXPORT),
        "export_limits": EXPORT_LIMITS,
    }
    # The list refreshes itself every half minute: only its rows come back.
    return view.render("review/_queue.html" if _partial(view) else "review/queue.html", **context)


@router.post("/accounts/{appid}/review/start")
async def start(view: AccountPage, campaign_id: FormCampaign = "") -> Response:
    """Claims the oldest item nobody else holds and opens it at the desk (the queue when none is left)."""
    reply = await view.call(Api.CAMPAIGNS, "POST", _desk_api(view, "/claim-next"), params={"campaign_id": campaign_id})
    if reply.status == 204 or not isinstance(reply.body, dict):
        return view.redirect(_queue_url(view, campaign_id, empty="1"))
    return view.redirect(_desk_url(view, reply.body["id"], campaign_id))


# -- the desk -------------------------------------------------------------------------------------------


async def _desk(
    view: View,
    detail: dict[str, Any] | None,
    campaign_id: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The desk for ``detail`` (None: nothing left), as a page or, for HTMX, the swapped region."""
    page, reasons = await asyncio.gather(_waiting(view, campaign_id), _reasons(view))
    items: list[dict[str, Any]] = page.get("items", [])
    ids = [item["id"] for item in items]
    here = ids.index(detail["id"]) if detail is not None and detail["id"] in ids else -1
    claim = detail.get("claim") if detail is not None else None
    context = {
        "detail": detail,
        "items": items,
        "counts": page.get("counts", {}),
        "reasons": reasons,
        "campaign_id": campaign_id,
        "position": here,
        "previous_id": ids[here - 1] if here > 0 else None,
        "next_id": ids[here + 1] if 0 <= here < len(ids) - 1 else (ids[0] if here < 0 and ids else None),
        "held_by_other": bool(claim and claim["by"]["id"] != view.operator.id),
        "partial": _partial(view),
        "errors": errors or {},
        "form": form or {},
        "picture": picture_path(view.appid or "", detail.get("image_url")) if detail else None,
        "earlier_picture": (
            picture_path(view.appid or "", (detail.get("reuse") or {}).get("earlier_image_url")) if detail else None
        ),
        "qr_owner": qr_owner,
        "overdue": overdue,
        "desk_url": (lambda submission: _desk_url(view, submission, campaign_id)),
        "queue_url": _queue_url(view, campaign_id),
    }
    if not _partial(view):
        return view.render("review/desk.html", status_code=status_code, **context)
    # HTMX swaps only 2xx answers: a refusal comes back as 200, its status in a header.
    response = view.render("review/_desk.html", **context)
    response.headers["X-Status"] = str(status_code)
    # The address bar follows the item on screen, so a reload or a link shows the same one.
    shown = _desk_url(view, detail["id"], campaign_id) if detail else _queue_url(view, campaign_id)
    response.headers["HX-Push-Url"] = shown
    return response


#: What the labelled export may carry per download (the API's own cap is higher).
EXPORT_LIMITS = (100, 200, 500)


@router.get("/accounts/{appid}/review/export", response_model=None)
async def export_labels(
    view: AccountPage,
    campaign_id: CampaignFilter = "",
    since: Annotated[str, Query(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = "",
    limit: Annotated[int, Query(ge=1, le=max(EXPORT_LIMITS))] = 200,
) -> Response:
    """The reviewers' decisions with their pictures (a zip), passed through from the API, which checks
    ``screenshot:export`` and audits it. ``since`` is a day in Beijing time: decided from its start."""
    params: dict[str, Any] = {"campaign_id": campaign_id or None, "limit": limit}
    if since:
        try:
            start = datetime.combine(date.fromisoformat(since), time.min, tzinfo=BEIJING)
        except ValueError:
            return view.render(
                "error.html",
                status_code=422,
                status=422,
                title=view.gettext("Not a date: %(value)s", value=since),
                message=view.gettext("Choose the first day of decisions to export, or leave it empty."),
            )
        # "Decided after" is strict: a microsecond before the day starts.
        params["decided_after"] = (start - _TICK).isoformat()
    reply = await view.call(Api.CAMPAIGNS, "GET", _desk_api(view, "/export"), params=params)
    headers = {
        name: reply.headers[name]
        for name in ("content-disposition", "x-export-count", "x-export-skipped", "x-next-after")
        if name in reply.headers
    }
    headers.setdefault("content-disposition", f'attachment; filename="screenshot-labels-{view.appid}.zip"')
    return Response(reply.content, media_type="application/zip", headers=headers)


@router.get("/accounts/{appid}/review/{submission_id}", response_class=HTMLResponse)
async def desk(view: AccountPage, submission_id: SubmissionId, campaign_id: CampaignFilter = "") -> HTMLResponse:
    """One item at the desk. Opening it does not claim it (a GET changes nothing): the page claims it
    as soon as it loads, and again every two minutes while it stays open."""
    detail = await view.get(Api.CAMPAIGNS, _desk_api(view, f"/{submission_id}"))
    return await _desk(view, detail, campaign_id)


@router.post("/accounts/{appid}/review/{submission_id}/claim", response_class=HTMLResponse)
async def claim(view: AccountPage, submission_id: SubmissionId) -> HTMLResponse:
    """Claims (or renews the claim on) the item at the desk; answers with the claim's line."""
    try:
        reply = await view.call(Api.CAMPAIGNS, "POST", _desk_api(view, f"/{submission_id}/claim"))
        held, mine = reply.body, True
    except ApiError as exc:
        if exc.status != 409:
            raise
        # Someone else holds it, or it was decided meanwhile: the detail says which.
        detail = await view.get(Api.CAMPAIGNS, _desk_api(view, f"/{submission_id}"))
        held, mine = detail.get("claim"), False
        if detail.get("status") != "review":
            return view.render("review/_claim.html", submission_id=submission_id, claim=None, mine=False, gone=True)
    return view.render("review/_claim.html", submission_id=submission_id, claim=held, mine=mine, gone=False)


@router.post("/accounts/{appid}/review/{submission_id}/release")
async def release(view: AccountPage, submission_id: SubmissionId, campaign_id: FormCampaign = "") -> Response:
    """Leaves the desk: drops one's claim so another reviewer can take the item at once."""
    try:
        await view.call(Api.CAMPAIGNS, "DELETE", _desk_api(view, f"/{submission_id}/claim"))
    except ApiError as exc:
        # Someone else's claim, or an item gone or decided: nothing of ours to drop.
        if exc.status not in (404, 409):
            raise
    return view.redirect(_queue_url(view, campaign_id))


async def _next(view: View, campaign_id: str) -> dict[str, Any] | None:
    reply = await view.call(Api.CAMPAIGNS, "POST", _desk_api(view, "/claim-next"), params={"campaign_id": campaign_id})
    return reply.body if reply.status != 204 and isinstance(reply.body, dict) else None


async def _decide(
    view: View, submission_id: str, decision: str, body: dict[str, Any], campaign_id: str, form: dict[str, str]
) -> Response:
    try:
        await view.call(Api.CAMPAIGNS, "POST", _desk_api(view, f"/{submission_id}/{decision}"), json=body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        # Shown on the same item, as it is now (who holds it, or who decided it meanwhile).
        detail = await view.get(Api.CAMPAIGNS, _desk_api(view, f"/{submission_id}"))
        view.flashes.append(("error", _refusal(view, exc, detail)))
        return await _desk(view, detail, campaign_id, status_code=exc.status, errors=exc.fields, form=form)
    label = view.gettext("Approved.") if decision == "approve" else view.gettext("Rejected.")
    view.flashes.append(("success", label))
    try:
        following = await _next(view, campaign_id)
    except (ApiError, ApiUnavailable) as exc:
        # The decision stands; only the next item could not be taken: the queue is one click away.
        following = None
        view.flashes.append(("warning", view.gettext("The next item could not be opened: %(why)s", why=str(exc))))
    if not is_htmx(view.request):
        return view.redirect(
            _desk_url(view, following["id"], campaign_id) if following else _queue_url(view, campaign_id, empty="1")
        )
    return await _desk(view, following, campaign_id)


def _refusal(view: View, exc: ApiError, detail: dict[str, Any]) -> str:
    """Why the API refused, in the reviewer's words when the item says it (its claim, its decision)."""
    claim = detail.get("claim")
    if exc.status == 409 and claim and claim["by"]["id"] != view.operator.id:
        return view.gettext(
            "Not decided: %(name)s holds this item until %(time)s.",
            name=claim["by"]["name"],
            time=beijing(claim["until"], "%H:%M"),
        )
    if exc.status == 409 and detail.get("status") != "review":
        who = detail.get("decided_by", "")
        who = view.gettext("the automatic check") if who == "auto" else who
        return view.gettext("Not decided: %(who)s decided it already.", who=who)
    return view.error(exc)


@router.post("/accounts/{appid}/review/{submission_id}/approve")
async def approve(
    view: AccountPage,
    submission_id: SubmissionId,
    campaign_id: FormCampaign = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    body = {"note": note.strip() or None}
    return await _decide(view, submission_id, "approve", body, campaign_id, {"note": note})


@router.post("/accounts/{appid}/review/{submission_id}/reject")
async def reject(
    view: AccountPage,
    submission_id: SubmissionId,
    campaign_id: FormCampaign = "",
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form = {"note": note, "reason": reason}
    if not reason:
        # The member is told why: a rejection names a reason code (the note only words it).
        view.flashes.append(("error", view.gettext("Choose a reason to reject with.")))
        detail = await view.get(Api.CAMPAIGNS, _desk_api(view, f"/{submission_id}"))
        return await _desk(
            view, detail, campaign_id, status_code=422, errors={"reason": view.gettext("Choose a reason.")}, form=form
        )
    body = {"reason": reason, "note": note.strip() or None}
    return await _decide(view, submission_id, "reject", body, campaign_id, form)


@router.get("/accounts/{appid}/review/pictures/{campaign_id}/{submission_id}")
async def picture(
    view: AccountPage, campaign_id: CampaignId, submission_id: SubmissionId, annotated: bool = False
) -> Response:
    """The submitted picture, passed through from the API (which checks ``review:decide``)."""
    path = view.account_path(f"/campaigns/{campaign_id}/screenshots/{submission_id}/image")
    reply = await view.call(Api.CAMPAIGNS, "GET", path, params={"annotated": "true" if annotated else None})
    content_type = reply.headers.get("content-type", "application/octet-stream")
    # A submission's picture never changes: the browser may keep it while the reviewer goes back and forth.
    return Response(reply.content, media_type=content_type, headers={"Cache-Control": "private, max-age=600"})
