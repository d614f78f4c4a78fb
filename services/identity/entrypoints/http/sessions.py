"""Signed-in sessions (``operator:manage`` on every account): listed and revoked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from services.identity.domain.views import session_view
from services.identity.entrypoints.http.deps import DirectoryDep
from services.identity.entrypoints.http.schemas import SessionOut
from shared.identity import Actor, Permission, require

router = APIRouter(prefix="/sessions", tags=["sessions"], dependencies=[Depends(require(Permission.OPERATOR_MANAGE))])


@router.get("", summary="Open sessions, newest first")
async def list_sessions(
    directory: DirectoryDep, operator: Annotated[str | None, Query(max_length=64)] = None
) -> list[SessionOut]:
    return [SessionOut.model_validate(session_view(s)) for s in await directory.sessions(operator)]


@router.delete("/{session_id}", status_code=204, summary="End a session")
async def revoke_session(
    session_id: Annotated[str, Path(max_length=64)], actor: Actor, directory: DirectoryDep
) -> None:
    if not await directory.revoke_session(actor, session_id):
        raise HTTPException(404, f"no open session {session_id!r}")
