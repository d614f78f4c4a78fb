"""API tokens (``token:manage`` on every account): created and shown once, listed, revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.identity.domain.views import token_view
from services.identity.entrypoints.http.deps import DirectoryDep
from services.identity.entrypoints.http.schemas import TokenCreated, TokenIn, TokenOut
from shared.identity import Actor, Permission, parse_permissions, require

router = APIRouter(prefix="/tokens", tags=["tokens"], dependencies=[Depends(require(Permission.TOKEN_MANAGE))])


@router.post("", status_code=201, summary="Create a token; the answer is the only time it is shown")
async def create_token(body: TokenIn, actor: Actor, directory: DirectoryDep) -> TokenCreated:
    scopes = parse_permissions(body.scopes) if body.scopes is not None else None
    expires_at = directory.clock() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    whole, record = await directory.create_token(
        actor, body.operator, label=body.label, scopes=scopes, expires_at=expires_at
    )
    return TokenCreated(token=whole, **token_view(record))


@router.get("", summary="Tokens (never their secrets), newest first")
async def list_tokens(
    directory: DirectoryDep, operator: Annotated[str | None, Query(max_length=64)] = None
) -> list[TokenOut]:
    return [TokenOut.model_validate(token_view(t)) for t in await directory.tokens(operator)]


@router.delete("/{token_id}", status_code=204, summary="Revoke a token (at once, everywhere)")
async def revoke_token(token_id: Annotated[str, Path(max_length=64)], actor: Actor, directory: DirectoryDep) -> None:
    await directory.revoke_token(actor, token_id)
