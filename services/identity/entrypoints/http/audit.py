"""The audit log (``audit:view``; readers with it on some accounts see those accounts' entries)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.identity.domain.views import audit_view
from services.identity.entrypoints.http.deps import DirectoryDep
from services.identity.entrypoints.http.schemas import AuditEntryOut
from services.identity.service_layer.handlers import read_audit
from shared.identity import Actor, AuditQuery

router = APIRouter(prefix="/audit", tags=["audit"])

Filter = Annotated[str | None, Query(max_length=128)]


@router.get("", summary="Audit entries, newest first, by actor, account, action, object and time")
async def list_audit(
    actor: Actor,
    directory: DirectoryDep,
    actor_id: Filter = None,
    appid: Filter = None,
    action: Filter = None,
    object_type: Filter = None,
    object_id: Filter = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    query = AuditQuery(actor_id, appid, action, object_type, object_id, since, until, limit=limit)
    return [AuditEntryOut.model_validate(audit_view(e)) for e in await read_audit(directory, actor, query)]
