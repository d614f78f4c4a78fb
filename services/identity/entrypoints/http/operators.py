"""Operators and their grants (``operator:manage`` on every account)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from services.identity.domain.views import operator_view
from services.identity.entrypoints.http.deps import DirectoryDep
from services.identity.entrypoints.http.schemas import GrantIn, OperatorIn, OperatorOut
from shared.identity import Actor, Permission, require

router = APIRouter(prefix="/operators", tags=["operators"], dependencies=[Depends(require(Permission.OPERATOR_MANAGE))])


async def _out(directory: DirectoryDep, ref: str) -> OperatorOut:
    operator = await directory.operator(ref)
    return OperatorOut.model_validate(operator_view(operator, await directory.store.grants_of(operator.id)))


@router.get("", summary="Every operator with their grants")
async def list_operators(directory: DirectoryDep) -> list[OperatorOut]:
    return [OperatorOut.model_validate(operator_view(o, g)) for o, g in await directory.operators()]


@router.post("", status_code=201, summary="Create an operator (a person with a password, or a service)")
async def create_operator(body: OperatorIn, actor: Actor, directory: DirectoryDep) -> OperatorOut:
    password = body.password.get_secret_value() if body.password else None
    operator = await directory.create_operator(actor, body.name, password=password, kind=body.kind)
    return await _out(directory, operator.id)


@router.post("/{ref}/disable", summary="Disable an operator (their sessions end)")
async def disable_operator(ref: str, actor: Actor, directory: DirectoryDep) -> OperatorOut:
    await directory.set_disabled(actor, ref, True)
    return await _out(directory, ref)


@router.post("/{ref}/enable", summary="Enable an operator again")
async def enable_operator(ref: str, actor: Actor, directory: DirectoryDep) -> OperatorOut:
    await directory.set_disabled(actor, ref, False)
    return await _out(directory, ref)


@router.post("/{ref}/grants", summary="Give an operator a role on an account ('*': every account)")
async def add_grant(ref: str, body: GrantIn, actor: Actor, directory: DirectoryDep) -> OperatorOut:
    await directory.grant(actor, ref, body.role, body.appid)
    return await _out(directory, ref)


@router.delete("/{ref}/grants", summary="Take a role on an account away")
async def remove_grant(
    ref: str,
    actor: Actor,
    directory: DirectoryDep,
    role: str = Query(min_length=1, max_length=32),
    account: str = Query(min_length=1, max_length=64, description="the grant's appid, or '*'"),
) -> OperatorOut:
    await directory.revoke(actor, ref, role, account)
    return await _out(directory, ref)
