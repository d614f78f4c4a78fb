"""``/sim/``: for tests and demos. Members act (the answer says what happened to the push); inboxes,
faults and the clock are there too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from services.wechat_sim.domain.errors import ApiError
from services.wechat_sim.entrypoints.http.deps import AppId, OpenId, SimDep
from services.wechat_sim.entrypoints.http.schemas import (
    AdvanceIn,
    ClickIn,
    ConsentCancelIn,
    ConsentIn,
    FaultIn,
    FollowIn,
    ImageIn,
    MemberIn,
    MemberPatch,
    ScanIn,
    TextIn,
    ViewIn,
)
from services.wechat_sim.service_layer.platform import api_paths

router = APIRouter()

# -- members act -------------------------------------------------------------------------------

member_path = "/sim/accounts/{appid}/members/{openid}"


@router.post(f"{member_path}/follow", summary="Follow (through a QR code with ticket or scene)")
async def follow(appid: AppId, openid: OpenId, sim: SimDep, body: FollowIn | None = None) -> Any:
    body = body or FollowIn()
    outcome = await sim.follow(
        appid, openid, ticket=body.ticket, scene=body.scene, subscribe_scene=body.subscribe_scene
    )
    return outcome.as_json()


@router.post(f"{member_path}/scan", summary="A follower scans a parametric QR code")
async def scan(appid: AppId, openid: OpenId, body: ScanIn, sim: SimDep) -> Any:
    return (await sim.scan(appid, openid, ticket=body.ticket, scene=body.scene)).as_json()


@router.post(f"{member_path}/poster", summary="Scan the QR code in a poster image (follow or SCAN)")
async def poster(appid: AppId, openid: OpenId, body: ImageIn, sim: SimDep) -> Any:
    return (await sim.follow_by_poster(appid, openid, body.image())).as_json()


@router.post(f"{member_path}/unfollow", summary="Unfollow")
async def unfollow(appid: AppId, openid: OpenId, sim: SimDep) -> Any:
    return (await sim.unfollow(appid, openid)).as_json()


@router.post(f"{member_path}/click", summary="Tap a menu button (CLICK)")
async def click(appid: AppId, openid: OpenId, body: ClickIn, sim: SimDep) -> Any:
    return (await sim.click(appid, openid, body.key)).as_json()


@router.post(f"{member_path}/view", summary="Tap a menu link (VIEW)")
async def view(appid: AppId, openid: OpenId, body: ViewIn, sim: SimDep) -> Any:
    return (await sim.view(appid, openid, body.url)).as_json()


@router.post(f"{member_path}/text", summary="Write a text message")
async def text(appid: AppId, openid: OpenId, body: TextIn, sim: SimDep) -> Any:
    return (await sim.text(appid, openid, body.content)).as_json()


@router.post(f"{member_path}/image", summary="Send a picture")
async def image(appid: AppId, openid: OpenId, body: ImageIn, sim: SimDep) -> Any:
    return (await sim.image(appid, openid, body.image())).as_json()


@router.post(f"{member_path}/consent", summary="Answer a subscription popup (an accept: 43101 no more)")
async def consent(appid: AppId, openid: OpenId, body: ConsentIn, sim: SimDep) -> Any:
    outcome = await sim.consent(appid, openid, body.template_id, long_term=body.long_term, accept=body.accept)
    return outcome.as_json()


@router.post(f"{member_path}/consent/cancel", summary="Switch a subscription notice off in the settings")
async def cancel_consent(appid: AppId, openid: OpenId, body: ConsentCancelIn, sim: SimDep) -> Any:
    return (await sim.cancel_consent(appid, openid, body.template_id)).as_json()


# -- state ---------------------------------------------------------------------------------------


@router.get("/sim/accounts", summary="Accounts, their push mode and gateway")
async def accounts(sim: SimDep) -> Any:
    return {"accounts": sim.platform.accounts(), "apis": api_paths()}


@router.get("/sim/accounts/{appid}/members", summary="Members of an account")
async def members(appid: AppId, sim: SimDep) -> Any:
    return {"members": sim.platform.members(appid)}


@router.post("/sim/accounts/{appid}/members", status_code=201, summary="Add a member silently (no push)")
async def add_member(appid: AppId, body: MemberIn, sim: SimDep) -> Any:
    return sim.add_member(appid, body.openid, following=body.following)


@router.get(member_path, summary="One member")
async def member(appid: AppId, openid: OpenId, sim: SimDep) -> Any:
    return sim.platform.member(appid, openid)


@router.patch(member_path, summary="Member preferences (refuse template messages)")
async def update_member(appid: AppId, openid: OpenId, body: MemberPatch, sim: SimDep) -> Any:
    return sim.platform.update_member(appid, openid, blocks_templates=body.blocks_templates)


@router.get(f"{member_path}/inbox", summary="What the member received, oldest first")
async def inbox(appid: AppId, openid: OpenId, sim: SimDep, after: Annotated[int, Query(ge=0)] = 0) -> Any:
    return {"messages": [entry.as_json() for entry in sim.inbox(appid, openid, after=after)]}


@router.get("/sim/accounts/{appid}/faults", summary="Injected failures still to come")
async def faults(appid: AppId, sim: SimDep) -> Any:
    return {"faults": sim.platform.faults(appid)}


@router.post("/sim/accounts/{appid}/faults", status_code=201, summary="The next N calls to an API fail")
async def add_fault(appid: AppId, body: FaultIn, sim: SimDep) -> Any:
    sim.inject_fault(appid, body.api, body.errcode, count=body.count, errmsg=body.errmsg)
    return {"faults": sim.platform.faults(appid)}


@router.delete("/sim/accounts/{appid}/faults", summary="Forget injected failures")
async def clear_faults(appid: AppId, sim: SimDep) -> Any:
    sim.platform.clear_faults(appid)
    return {"faults": []}


@router.get("/sim/accounts/{appid}/calls", summary="An API's calls second by second, its limits and refusals")
async def calls(
    appid: AppId,
    sim: SimDep,
    api: Annotated[str, Query(min_length=1, max_length=64)],
    since: Annotated[float | None, Query(ge=0)] = None,
) -> Any:
    return sim.platform.calls(appid, api, since)


@router.get("/sim/accounts/{appid}/qrcodes", summary="QR tickets issued")
async def qrcodes(appid: AppId, sim: SimDep) -> Any:
    return {"qrcodes": sim.platform.tickets(appid)}


@router.get("/sim/accounts/{appid}/pushes", summary="Recent pushes to the gateway and what came back")
async def pushes(appid: AppId, sim: SimDep) -> Any:
    sim.platform.wire(appid)
    return {"pushes": [outcome.as_json() for outcome in sim.pushes(appid)]}


@router.post("/sim/pushes/flush", summary="Send owed job-finish pushes now")
async def flush(sim: SimDep) -> Any:
    return {"pushes": [outcome.as_json() for outcome in await sim.deliver_pending()]}


@router.get("/sim/clock", summary="The simulator's time")
async def read_clock(sim: SimDep) -> Any:
    return {"now": sim.clock.now()}


@router.post("/sim/clock/advance", summary="Move the simulator's time forward")
async def advance_clock(body: AdvanceIn, sim: SimDep) -> Any:
    sim.clock.advance(body.seconds)
    return {"now": sim.clock.now()}


@router.get("/sim/media/pic/{media_id}", summary="A member's picture (PicUrl of image pushes)")
async def picture(media_id: Annotated[str, Path(max_length=128)], sim: SimDep) -> Response:
    try:
        item = sim.platform.picture(media_id)
    except ApiError as error:
        return JSONResponse(sim.platform.error_body(error), status_code=404)
    return Response(item.content, media_type=item.content_type)
