"""The members API's data-rights routes: export needs ``member:export``, erase is admin-only, both audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from services.members.adapters.memory import InMemoryMembersUnitOfWork
from services.members.entrypoints.http import create_app
from services.members.settings import MembersSettings
from shared.datarights import ERASURES, InMemoryMemberRights, erasure_id
from shared.identity import AuditQuery, Role
from tests.identities import Callers

APPID, OPENID = "wx_rights_api", "o_rights_api_member_000000000"
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _stores() -> dict[str, list[dict[str, Any]]]:
    return {
        "members": [{"_id": "m1", "appid": APPID, "openid": OPENID, "following": True}],
        "profiles": [{"_id": f"{APPID}:{OPENID}", "appid": APPID, "openid": OPENID, "written_at": T0}],
        "campaign_participants": [
            {"_id": f"c1:{OPENID}", "campaign_id": "c1", "appid": APPID, "openid": OPENID, "code": "abc"}
        ],
    }


def _app(callers: Callers, rights: InMemoryMemberRights) -> Any:
    uow = InMemoryMembersUnitOfWork()
    return create_app(MembersSettings(), identity=callers.config, uow=lambda: uow, rights=rights)


def _audit(callers: Callers, action: str) -> list[Any]:
    return asyncio.run(callers.directory.audit_entries(AuditQuery(action=action)))


def test_export_is_one_document_for_member_export_and_is_audited() -> None:
    callers = Callers.on(APPID)
    rights = InMemoryMemberRights(_stores())
    with TestClient(_app(callers, rights)) as http:
        url = f"/accounts/{APPID}/members/{OPENID}/export"
        assert http.get(url, headers=callers.headers(Role.ANALYST)).status_code == 403
        assert http.get(url, headers=callers.headers_other_account()).status_code == 403
        reply = http.get(url, headers=callers.headers(Role.PROJECT_MANAGER))
        assert reply.status_code == 200
        body = reply.json()
        assert set(body["collections"]) == {"members", "profiles", "campaign_participants"}
        assert body["openid"] == OPENID and body["erased_at"] is None
        unknown = http.get(f"/accounts/{APPID}/members/nobody/export", headers=callers.headers(Role.ADMIN))
        assert unknown.status_code == 404
    (entry,) = _audit(callers, "member.exported")
    assert entry.object_id == OPENID and entry.after == {
        "documents": {"members": 1, "profiles": 1, "campaign_participants": 1}
    }


def test_erase_is_for_admins_confirmed_and_audited_without_the_member() -> None:
    callers = Callers.on(APPID)
    rights = InMemoryMemberRights(_stores())
    with TestClient(_app(callers, rights)) as http:
        url = f"/accounts/{APPID}/members/{OPENID}/erase"
        for role in (Role.PROJECT_MANAGER, Role.CAMPAIGN_OPERATOR, Role.REVIEWER):
            assert http.post(url, json={"confirm": OPENID}, headers=callers.headers(role)).status_code == 403
        assert http.post(url, json={"confirm": OPENID}, headers=callers.headers_other_account()).status_code == 403
        wrong = http.post(url, json={"confirm": "someone"}, headers=callers.headers(Role.ADMIN))
        assert wrong.status_code == 422 and "confirm" in wrong.text
        reply = http.post(url, json={"confirm": OPENID}, headers=callers.headers(Role.ADMIN))
        assert reply.status_code == 200
        body = reply.json()
        assert body["erasure_id"] == erasure_id(APPID, OPENID)
        assert body["counts"]["members"] == {"deleted": 1}
        assert body["counts"]["campaign_participants"] == {"anonymised": 1} and body["total"] == 3
        # what remains: the anonymised participation and the record
        assert OPENID not in repr({k: v for k, v in rights.collections.items() if k != ERASURES})
        # the export now says the member was erased, with nothing left
        exported = http.get(f"/accounts/{APPID}/members/{OPENID}/export", headers=callers.headers(Role.ADMIN))
        assert exported.status_code == 200 and exported.json()["collections"] == {}
        assert exported.json()["erased_at"] is not None
    (entry,) = _audit(callers, "member.erased")
    assert entry.object_id == erasure_id(APPID, OPENID) and OPENID not in repr(entry)
