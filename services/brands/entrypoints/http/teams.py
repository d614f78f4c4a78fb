"""Teams: a sales head and the account managers they lead. Reading needs ``brand:view`` (an admin sees
every team, anyone else the teams they head or belong to); creating, editing and deleting a team needs
``operator:manage`` (admins only): who heads whom decides who sees which brands, so it is managed
with the operators themselves. Every write is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from services.brands.domain.model import Team
from services.brands.entrypoints.http.deps import (
    CanView,
    IfMatch,
    ItemId,
    UseCases,
    assignable,
    needs,
    operator_id,
    operator_names,
    require_version,
    viewer_of,
)
from services.brands.entrypoints.http.schemas import Manager, ManagerList, TeamIn, TeamList, TeamOut, TeamPatch
from services.brands.service_layer.use_cases import TeamEdit
from shared.identity import Permission, audit

__all__ = ["TAG", "managers", "router"]

TAG = "teams"
router = APIRouter(prefix="/teams", tags=[TAG])
managers = APIRouter(prefix="/managers", tags=[TAG])
_MANAGE = needs(Permission.OPERATOR_MANAGE)


def _audited(team: Team) -> dict[str, Any]:
    return {"name": team.name, "head_id": team.head_id, "member_ids": team.member_ids}


def _with_etag(response: Response, team: Team) -> TeamOut:
    response.headers["ETag"] = f'"{team.version}"'
    return TeamOut.of(team)


async def _members(request: Request, refs: list[str]) -> list[str]:
    return [
        await operator_id(request, ref, ["body", "member_ids", i], Permission.BRAND_EDIT) for i, ref in enumerate(refs)
    ]


@router.get("", summary="Teams (an admin: all; others: theirs)")
async def list_teams(actor: CanView, request: Request, use_cases: UseCases) -> TeamList:
    found = await use_cases.list_teams(viewer_of(actor))
    names = await operator_names(request, {i for t in found for i in (t.head_id, *t.member_ids)})
    return TeamList(items=[TeamOut.of(t) for t in found], names=names)


@managers.get("", summary="Who the caller may give brands and projects to (admin: anyone; head: their teams)")
async def list_managers(actor: CanView, request: Request, use_cases: UseCases) -> ManagerList:
    scope = await use_cases.scope(viewer_of(actor))
    return ManagerList(items=[Manager(id=i, name=n) for i, n in await assignable(request) if scope.sees(i)])


@router.post("", status_code=201, summary="Create a team", dependencies=_MANAGE)
async def create_team(body: TeamIn, request: Request, response: Response, use_cases: UseCases) -> TeamOut:
    head = await operator_id(request, body.head_id, ["body", "head_id"], Permission.BRAND_ASSIGN)
    team = await use_cases.create_team(body.name, head, await _members(request, body.member_ids))
    await audit(request, "team.created", "team", team.id, after=_audited(team))
    return _with_etag(response, team)


@router.get("/{team_id}", summary="One team")
async def read_team(team_id: ItemId, actor: CanView, response: Response, use_cases: UseCases) -> TeamOut:
    return _with_etag(response, await use_cases.get_team(viewer_of(actor), team_id))


@router.patch("/{team_id}", summary="Edit a team (If-Match or version required)", dependencies=_MANAGE)
async def edit_team(
    team_id: ItemId,
    body: TeamPatch,
    request: Request,
    response: Response,
    use_cases: UseCases,
    if_match: IfMatch = None,
) -> TeamOut:
    expected = require_version(if_match, body.version)
    edit = TeamEdit(
        name=body.name,
        head_id=None
        if body.head_id is None
        else await operator_id(request, body.head_id, ["body", "head_id"], Permission.BRAND_ASSIGN),
        member_ids=None if body.member_ids is None else await _members(request, body.member_ids),
    )
    before, team = await use_cases.edit_team(team_id, expected, edit)
    await audit(request, "team.edited", "team", team.id, before=_audited(before), after=_audited(team))
    return _with_etag(response, team)


@router.delete("/{team_id}", status_code=204, summary="Delete a team", dependencies=_MANAGE)
async def delete_team(team_id: ItemId, request: Request, use_cases: UseCases) -> Response:
    team = await use_cases.delete_team(team_id)
    await audit(request, "team.deleted", "team", team.id, before=_audited(team))
    return Response(status_code=204)
