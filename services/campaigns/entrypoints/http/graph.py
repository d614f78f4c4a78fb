"""The referral graph of an account: inviters and their invitees' retention, patterns flagged for
review, freezing an inviter pending review, and the graph's export.

Reading needs ``campaign:view``; freezing, releasing and reviewing a flag ``review:decide``
(audited); the export ``member:export`` (audited); the backfill ``campaign:edit`` (audited).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from services.campaigns.entrypoints.http.deps import (
    ID_PATTERN,
    ApiDep,
    AppId,
    CanDecide,
    CanEdit,
    CanExport,
    Now,
    needs,
)
from services.campaigns.entrypoints.http.graph_schemas import (
    BackfillOut,
    EdgeOut,
    FlagOut,
    FlagReviewBody,
    FlagsOut,
    FreezeBody,
    FreezeOut,
    FreezesOut,
    GrantOut,
    InviterOut,
    InvitersOut,
    ReleaseOut,
)
from services.campaigns.service_layer import graph
from services.campaigns.service_layer.ports import ReferralGraph
from shared.identity import Permission, audit
from shared.tabular import BOM, csv_line
from shared.web import streaming_csv_response

__all__ = ["TAG", "router"]

TAG = "referral graph"
BASE = "/accounts/{appid}/referral-graph"
MemberOpenId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="The inviter's openid")
]
FlagId = Annotated[
    str,
    Path(
        max_length=160,
        pattern=r"^(ring|unfollow_burst|silent_invitees):[A-Za-z0-9_-]{1,128}$",
        description="The flag's id, `<kind>:<inviter>`",
    ),
]
_CSV_COLUMNS = (
    "campaign_id",
    "inviter",
    "invitee",
    "credited_at",
    "status",
    "variant",
    "unfollowed_at",
    "interacted_at",
)

router = APIRouter(tags=[TAG])


def _graph(api: ApiDep) -> ReferralGraph:
    if api.graph is None:
        raise RuntimeError("the campaigns API was built without a referral graph store")
    return api.graph


@router.get(
    BASE + "/inviters",
    summary="Inviters across campaigns, with their invitees' retention",
    description="Most invitees first. `retained` = invitees credited who did not unfollow since; `retention` "
    "their share; `interacted` = invitees who sent a message, clicked or scanned after following.",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def inviters(
    appid: AppId,
    api: ApiDep,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InvitersOut:
    view = await graph.graph_view(_graph(api), appid, now)
    page = view.inviters[offset : offset + limit]
    return InvitersOut(
        items=[InviterOut.of(s, s.inviter in view.frozen) for s in page],
        total=len(view.inviters),
        limit=limit,
        offset=offset,
    )


@router.get(
    BASE + "/flags",
    summary="Patterns flagged for review: rings, unfollow bursts, invitees who never interact",
    description="Computed from the account's edges on each request (docs/campaigns.md, 'Referral graph', "
    "states each rule) and kept with their review state: one flag per kind and inviter, `open` until a "
    "reviewer dismisses or confirms it, and it stays so however often it is computed again. `status` "
    "filters by review state; `include_gone` adds kept flags whose pattern is no longer found "
    "(`current: false`). `frozen` lists the flag's inviters frozen already.",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def flags(
    appid: AppId,
    api: ApiDep,
    now: Now,
    kind: Annotated[Literal["ring", "unfollow_burst", "silent_invitees"] | None, Query()] = None,
    status: Annotated[Literal["open", "dismissed", "confirmed"] | None, Query()] = None,
    include_gone: Annotated[bool, Query()] = False,
) -> FlagsOut:
    view = await graph.flags_view(_graph(api), appid, now)
    rows = [FlagOut.of(flag, review, view.frozen) for flag, review in view.current]
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    if include_gone:
        rows += [FlagOut.of(None, review, view.frozen) for review in view.gone]
    chosen = [row for row in rows if kind in (None, row.kind) and status in (None, row.status)]
    counts: dict[str, int] = {}
    for row in chosen:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    return FlagsOut(items=chosen, counts=counts, by_status=by_status)


@router.post(
    BASE + "/flags/{flag_id}/review",
    summary="Review a flag: dismiss it (nothing wrong), confirm it, or open it again",
    description="`{status: dismissed|confirmed|open, note}`. The reviewer is the caller; 404 for a flag not "
    "kept (list the flags first), 409 when it is in that state already or was reviewed meanwhile. Freezing "
    "the inviter is a separate decision (`…/inviters/{openid}/freeze`).",
)
async def review_flag(
    appid: AppId, flag_id: FlagId, body: FlagReviewBody, request: Request, api: ApiDep, now: Now, caller: CanDecide
) -> FlagOut:
    before, after = await graph.review_flag(_graph(api), appid, flag_id, body.status, caller.name, now, body.note)
    await audit(
        request,
        "referral.flag_reviewed",
        "referral_flag",
        flag_id,
        before={"status": before.status},
        after={"status": after.status, "note": after.note},
    )
    frozen = {f.openid for f in await _graph(api).freezes(appid, status="frozen")}
    return FlagOut.of(None, after, frozen)


@router.get(
    BASE + "/freezes",
    summary="Inviters frozen pending review (and released ones)",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def freezes(
    appid: AppId, api: ApiDep, status: Annotated[Literal["frozen", "released"] | None, Query()] = None
) -> FreezesOut:
    return FreezesOut(items=[FreezeOut.of(f) for f in await _graph(api).freezes(appid, status=status)])


@router.post(
    BASE + "/inviters/{openid}/freeze",
    status_code=201,
    summary="Freeze an inviter pending review: their credits still count, tier rewards are held",
    description="409 when frozen already. Releasing grants the tiers reached meanwhile.",
)
async def freeze(
    appid: AppId, openid: MemberOpenId, body: FreezeBody, request: Request, api: ApiDep, now: Now, caller: CanDecide
) -> FreezeOut:
    frozen = await graph.freeze(_graph(api), appid, openid, body.reason, caller.name, now)
    await audit(request, "referral.inviter_frozen", "member", openid, after={"reason": body.reason})
    return FreezeOut.of(frozen)


@router.post(
    BASE + "/inviters/{openid}/release",
    summary="Release a frozen inviter: the tiers their credits reached are granted now",
    description="The tier notices wait for the member's next interaction (a held notice). 409 when not frozen.",
)
async def release(
    appid: AppId, openid: MemberOpenId, request: Request, api: ApiDep, now: Now, caller: CanDecide
) -> ReleaseOut:
    released, granted = await graph.release(_graph(api), api.campaigns, api.uow(), appid, openid, caller.name, now)
    grants = [GrantOut(campaign_id=campaign_id, tier_count=tier) for campaign_id, tier in granted]
    await audit(
        request,
        "referral.inviter_released",
        "member",
        openid,
        before={"status": "frozen"},
        after={"granted": [g.model_dump() for g in grants]},
    )
    return ReleaseOut(**FreezeOut.of(released).model_dump(), granted=grants)


@router.post(
    BASE + "/backfill",
    summary="Derive the edges of credits recorded before the graph existed (safe to repeat)",
)
async def backfill(appid: AppId, request: Request, api: ApiDep, _: CanEdit) -> BackfillOut:
    added = await graph.backfill(api.campaigns, _graph(api), appid)
    await audit(request, "referral.graph_backfilled", "account", appid, after={"added": added})
    return BackfillOut(added=added)


@router.get(
    BASE + "/export",
    summary="The account's referral graph: CSV (one edge a line) or JSON ({nodes, edges})",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export(
    appid: AppId,
    request: Request,
    api: ApiDep,
    _: CanExport,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    edges = await _graph(api).edges(appid)
    await audit(request, "referral.graph_exported", "account", appid, after={"format": format, "edges": len(edges)})
    if format == "json":
        nodes = sorted({e.inviter for e in edges} | {e.invitee for e in edges})
        body = {"appid": appid, "nodes": nodes, "edges": [EdgeOut.of(e).model_dump(mode="json") for e in edges]}
        return Response(
            json.dumps(body, ensure_ascii=False),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="referral-graph-{appid}.json"'},
        )

    async def rows() -> AsyncIterator[str]:
        yield BOM + csv_line(_CSV_COLUMNS)
        for edge in edges:
            out = EdgeOut.of(edge)
            yield csv_line([getattr(out, column) for column in _CSV_COLUMNS])

    response: StreamingResponse = streaming_csv_response(rows(), f"referral-graph-{appid}.csv")
    return response
