"""The segments API against SecantusDB: rules validated with the path of each problem, saved segments
with versions, previews and samples from the live index, "why is this member in it", pushes with their
controls, the signed click redirect, and campaign rules answered from segments' copy of participation.
Operator routes need a permission per route (an admin's token by default here), and their writes are audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from services.profiles.adapters.repository import PROFILES, to_document
from services.profiles.domain.profile import ConsentKind, Follow, Profile
from services.profiles.domain.tags import Tag, TagSource
from services.segments.domain.click_links import ClickLink, sign_click
from services.segments.entrypoints.http import create_app, create_public_app
from services.segments.service_layer.participation import record_participation
from services.segments.settings import SegmentsSettings
from shared.contracts import CampaignParticipationChanged, participation_event_id
from shared.events import Envelope
from shared.identity import AuditEntry, AuditQuery, Role
from shared.maternal_infant import Basis, StageDeclaration
from tests.accounts import account
from tests.conftest import Infra, Isolation
from tests.fakes.sender import RecordingSender
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wxseg0001"
CLICKS = "click-links-for-tests"
RULE = {"all": [{"stage_in": ["stage.pregnancy.late"]}, {"has_tag": "interest.feeding.formula"}]}


def _profile(openid: str, *, weeks_left: int, formula: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    p = Profile(APPID, openid)
    p.declarations.append(StageDeclaration(Basis.DUE_DATE, now.date(), now.date() + timedelta(weeks=weeks_left)))
    if formula:
        code = "interest.feeding.formula"
        p.tags[(code, TagSource.DECLARED)] = Tag(code, TagSource.DECLARED, 1.0, now, now)
    p.follow = Follow(now - timedelta(days=3), now - timedelta(days=3), None)
    p.set_consent(ConsentKind.MARKETING, True, now, "h5_form")
    return to_document(p)


@pytest.fixture
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture
def sender() -> RecordingSender:
    """The WeChat platform as test sends reach it."""
    return RecordingSender()


@pytest.fixture
def api(
    infra: Infra, isolation: Isolation, service_settings: LoadSettings, callers: Callers, sender: RecordingSender
) -> Iterator[TestClient]:
    settings = service_settings(SegmentsSettings, wechat_accounts=[account(APPID)], click_link_secret=CLICKS)
    mongo: MongoClient[dict[str, Any]]
    with MongoClient[dict[str, Any]](infra.mongodb_url) as mongo:
        docs = [_profile(f"o_late_{i}", weeks_left=4, formula=True) for i in range(5)]
        docs += [
            _profile("o_late_no_formula", weeks_left=4, formula=False),
            _profile("o_mid", weeks_left=20, formula=True),
        ]
        mongo[isolation.database][PROFILES].insert_many(docs)
    app = create_app(settings, identity=callers.config, follow_changes=False, sender=sender)
    with TestClient(app, headers=callers.headers(Role.ADMIN)) as client:
        yield client


@pytest.fixture
def public(api: TestClient, service_settings: LoadSettings) -> Iterator[TestClient]:
    """The public app (click redirects) over the operator API's database."""
    settings = service_settings(SegmentsSettings, wechat_accounts=[account(APPID)], click_link_secret=CLICKS)
    with TestClient(create_public_app(settings)) as client:
        yield client


BASE = f"/accounts/{APPID}/segments"


def test_rules_are_validated_with_the_path_of_each_problem(api: TestClient) -> None:
    bad = {"all": [{"stage_in": ["stage.nope"]}, {"has_tag": "interest.unknown"}, {"frobnicate": 1}]}
    answer = api.post(f"{BASE}/preview", json={"rule": bad})
    assert answer.status_code == 422
    paths = [p["path"] for p in answer.json()["detail"]]
    assert paths == ["rule.all[0].stage_in", "rule.all[1].has_tag", "rule.all[2]"]
    assert answer.json()["detail"][0]["loc"][:2] == ["body", "rule"]
    assert api.post(BASE, json={"name": "x", "rule": {"all": []}}).status_code == 422
    assert api.post(BASE, json={"rule": RULE}).json()["detail"][0]["loc"] == ["body", "name"]
    unknown = api.post("/accounts/wx_unknown/segments/preview", json={"rule": RULE})
    assert unknown.status_code == 404 and unknown.json() == {"detail": "unknown account 'wx_unknown'"}
    huge = api.post(f"{BASE}/preview", content=b'{"rule": {"any": [' + b'{"has_tag": "x"},' * 40_000 + b"]}}")
    assert huge.status_code == 413 and "larger than" in huge.json()["detail"]
    not_json = api.post(f"{BASE}/preview", content=b"{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422
    deep: dict[str, object] = {"has_tag": "interest.feeding.formula"}
    for _ in range(40):
        deep = {"not": deep}
    too_deep = api.post(f"{BASE}/preview", json={"rule": deep})
    assert too_deep.status_code == 422 and "deeper" in too_deep.json()["detail"][0]["msg"]


def test_preview_summary_saved_versions_and_explanations(api: TestClient) -> None:
    preview = api.post(f"{BASE}/preview", json={"rule": RULE, "sample": 3}).json()
    assert preview["size"] == 5
    assert len(preview["sample"]) == 3 and all(o.startswith("o_late_") for o in preview["sample"])
    assert "奶粉" in preview["summary"]["zh"] and "孕晚期" in preview["summary"]["zh"]
    assert "interest.feeding.formula" in preview["summary"]["en"]
    # Names and codes in both languages (issue 22), and whom a push would reach of them.
    assert '"Formula" (interest.feeding.formula)' in preview["summary"]["en"]
    assert "「奶粉」(interest.feeding.formula)" in preview["summary"]["zh"]
    assert preview["reach"] == {"matching": 5, "reachable": 5, "skipped": 0, "not_following": 0, "no_consent": 0}

    created = api.post(BASE, json={"name": "孕晚期奶粉", "rule": RULE})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert (segment["version"], segment["size"]) == (1, 5)
    assert api.post(BASE, json={"name": "孕晚期奶粉", "rule": RULE}).status_code == 409

    wider = {"any": [RULE, {"pregnancy_week": {"min": 10, "max": 30}}]}
    edit = {"name": "孕晚期奶粉", "rule": wider}
    assert created.headers["etag"] == '"1"'
    unversioned = api.put(f"{BASE}/{segment['id']}", json=edit)
    assert unversioned.status_code == 428 and "If-Match" in unversioned.json()["detail"]
    saved = api.put(f"{BASE}/{segment['id']}", json=edit, headers={"If-Match": created.headers["etag"]})
    assert saved.status_code == 200 and saved.headers["etag"] == '"2"'
    updated = saved.json()
    assert (updated["version"], updated["size"]) == (2, 6)
    stale = api.put(f"{BASE}/{segment['id']}", json={"name": "x", "rule": RULE}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
    assert api.get(f"{BASE}/{segment['id']}").json()["name"] == "孕晚期奶粉"  # the stale edit changed nothing
    versions = api.get(f"{BASE}/{segment['id']}/versions").json()
    assert [v["version"] for v in versions] == [2, 1] and versions[1]["rule"] == RULE

    why = api.get(f"{BASE}/{segment['id']}/members/o_mid", params={"lang": "zh"}).json()
    assert why["in_segment"] is True
    assert [part["held"] for part in why["explanation"]["parts"]] == [False, True]
    why_not = api.get(f"{BASE}/{segment['id']}/members/o_late_no_formula").json()
    assert why_not["in_segment"] is False
    assert api.get(f"{BASE}/{segment['id']}/members/o_nobody").status_code == 404

    listed = api.get(BASE).json()
    assert [s["name"] for s in listed] == ["孕晚期奶粉"]
    assert api.delete(f"{BASE}/{segment['id']}").status_code == 204
    assert api.get(f"{BASE}/{segment['id']}").status_code == 404


def test_pushes_are_validated_scheduled_and_controlled(api: TestClient) -> None:
    segment = api.post(BASE, json={"name": "late", "rule": RULE}).json()
    pushes = f"/accounts/{APPID}/pushes"
    nothing = api.post(pushes, json={"name": "p", "segment_id": segment["id"], "variants": [{"name": "A"}]})
    assert nothing.status_code == 422
    assert nothing.json()["detail"][0]["loc"][:3] == ["body", "variants", 0]
    broadcast_ab = {
        "name": "p",
        "segment_id": segment["id"],
        "broadcast": True,
        "variants": [
            {"name": "A", "message": {"kind": "text", "text": "a"}},
            {"name": "B", "message": {"kind": "text", "text": "b"}},
        ],
    }
    assert api.post(pushes, json=broadcast_ab).status_code == 422
    missing = {"name": "p", "segment_id": "seg_nope", "variants": [{"message": {"kind": "text", "text": "hi"}}]}
    assert api.post(pushes, json=missing).status_code == 404
    # WeChat no longer shows a template's first and remark: refused, naming the field, not dropped silently.
    retired = {"template_id": "tpl", "data": {"thing1": "奶粉", "remark": "lost"}}
    dropped = api.post(pushes, json={"name": "p", "segment_id": segment["id"], "variants": [{"template": retired}]})
    assert dropped.status_code == 422
    assert dropped.json()["detail"][0]["loc"] == ["body", "variants", 0, "template", "data", "remark", "[key]"]

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {
        "name": "guide",
        "segment_id": segment["id"],
        "send_at": later,
        "variants": [
            {"name": "A", "weight": 70, "message": {"kind": "text", "text": "see https://brand.example/a"}},
            {
                "name": "B",
                "weight": 30,
                "template": {"template_id": "tpl", "data": {"thing1": "hi"}, "url": "https://brand.example/b"},
            },
        ],
    }
    created = api.post(pushes, json=body)
    assert created.status_code == 201, created.text
    push = created.json()
    assert push["status"] == "scheduled" and push["quiet_hours"] == {"start": "22:00:00", "end": "08:00:00"}
    assert push["cap"] == {"per_day": 1, "per_week": 3}
    path = f"{pushes}/{push['id']}"
    refused = api.post(f"{path}/resume")
    assert refused.status_code == 409 and refused.json() == {"detail": "cannot resume a push that is scheduled"}
    assert api.post(f"{path}/pause").json()["status"] == "paused"
    assert api.post(f"{path}/resume").json()["status"] == "scheduled"
    assert api.post(f"{path}/cancel").json()["status"] == "cancelled"
    assert api.post(f"{path}/pause").status_code == 409
    assert [p["id"] for p in api.get(pushes).json()] == [push["id"]]


def test_click_redirects_count_members_once_and_refuse_forged_links(api: TestClient, public: TestClient) -> None:
    segment = api.post(BASE, json={"name": "late", "rule": RULE}).json()
    body = {
        "name": "p",
        "segment_id": segment["id"],
        "variants": [{"message": {"kind": "text", "text": "hi"}}],
        "send_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    push = api.post(f"/accounts/{APPID}/pushes", json=body).json()
    token = sign_click(CLICKS.encode(), ClickLink(push["id"], "A", "o_late_1", "https://brand.example/a"))
    for _ in range(2):
        answer = public.get(f"/r/{token}", follow_redirects=False)
        assert answer.status_code == 302 and answer.headers["location"] == "https://brand.example/a"
    stats = api.get(f"/accounts/{APPID}/pushes/{push['id']}").json()["stats"]
    assert stats["total"]["clicked"] == 1 and stats["variants"]["A"]["clicked"] == 1
    forged = sign_click(b"another key", ClickLink(push["id"], "A", "o_late_1", "https://evil.example/"))
    assert public.get(f"/r/{forged}", follow_redirects=False).status_code == 404
    assert public.get("/r/garbage", follow_redirects=False).status_code == 404
    assert api.get(f"/r/{token}", follow_redirects=False).status_code == 404  # not on the operator API


def test_a_profile_write_whose_event_was_lost_is_swept_into_the_index(api: TestClient) -> None:
    assert api.post(f"{BASE}/preview", json={"rule": RULE}).json()["size"] == 5
    service = api.app.state.service  # type: ignore[attr-defined]
    database = service.pushes.profiles.database
    late = _profile("o_late_new", weeks_left=3, formula=True) | {"written_at": datetime.now(UTC)}
    assert api.portal is not None
    api.portal.call(database[PROFILES].insert_one, late)  # written, but no profile.changed reached the API
    assert api.post(f"{BASE}/preview", json={"rule": RULE}).json()["size"] == 5
    assert api.portal.call(service.live.sweep, datetime.now(UTC)) >= 1
    assert api.post(f"{BASE}/preview", json={"rule": RULE}).json()["size"] == 6


def test_campaign_rules_read_the_participation_the_worker_keeps(api: TestClient) -> None:
    service = api.app.state.service  # type: ignore[attr-defined]
    invited = {"invited_at_least": {"count": 2, "campaign": "c1"}}
    assert api.post(f"{BASE}/preview", json={"rule": invited}).json()["size"] == 0
    assert api.portal is not None
    for openid, credited in (("o_late_0", 2), ("o_late_1", 1), ("o_mid", 3)):
        event = CampaignParticipationChanged(
            openid=openid, campaign_id="c1", credited=credited, revision=credited, occurred_at=datetime.now(UTC)
        )
        envelope = Envelope.wrap(
            event, appid=APPID, key=openid, event_id=participation_event_id("c1", openid, credited)
        )  # as the segments worker receives it from campaigns
        assert api.portal.call(record_participation, envelope, event, service.participation())
    assert api.portal.call(service.live.refresh_campaigns, datetime.now(UTC)) == 3  # the periodic re-read
    preview = api.post(f"{BASE}/preview", json={"rule": invited, "sample": 5}).json()
    assert preview["size"] == 2 and sorted(preview["sample"]) == ["o_late_0", "o_mid"]
    assert api.post(f"{BASE}/preview", json={"rule": {"joined_campaign": "c1"}}).json()["size"] == 3
    segment = api.post(BASE, json={"name": "邀请达人", "rule": invited}).json()
    assert api.get(f"{BASE}/{segment['id']}/members/o_late_1").json()["in_segment"] is False
    assert api.get(f"{BASE}/{segment['id']}/members/o_mid").json()["in_segment"] is True


def _audit(api: TestClient, callers: Callers, **query: Any) -> list[AuditEntry]:
    assert api.portal is not None
    return api.portal.call(callers.directory.audit_entries, AuditQuery(appid=APPID, **query))


def _ids(api: TestClient) -> tuple[str, str]:
    """A saved segment and a push scheduled tomorrow, for routes that need existing ids."""
    segment = api.post(BASE, json={"name": "late", "rule": RULE}).json()
    body = {
        "name": "p",
        "segment_id": segment["id"],
        "variants": [{"message": {"kind": "text", "text": "hi"}}],
        "send_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    push = api.post(f"/accounts/{APPID}/pushes", json=body)
    assert push.status_code == 201, push.text
    return segment["id"], push.json()["id"]


#: Every operator route (tests/unit/segments/test_route_permissions.py checks this is all of them),
#: a role allowed and a role refused.
ROUTES: list[tuple[str, str, dict[str, Any] | None, Role, Role]] = [
    ("POST", "/segments/preview", {"rule": RULE}, Role.ANALYST, Role.REVIEWER),
    ("POST", "/segments", {"name": "n2", "rule": RULE}, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
    ("GET", "/segments", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/segments/{segment}", None, Role.ANALYST, Role.REVIEWER),
    ("PUT", "/segments/{segment}", {"name": "late", "rule": RULE}, Role.PROJECT_MANAGER, Role.ANALYST),
    ("GET", "/segments/{segment}/versions", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/segments/{segment}/preview", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/segments/{segment}/members/o_mid", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/pushes", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/pushes/{push}", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/pushes/{push}/deliveries", None, Role.ANALYST, Role.REVIEWER),
    # Creating schedules the push: a composer who may not send is refused (a draft is theirs to make).
    ("POST", "/pushes", {"name": "p"}, Role.PROJECT_MANAGER, Role.CAMPAIGN_OPERATOR),
    ("POST", "/pushes/eligibility", {"name": "p"}, Role.ANALYST, Role.REVIEWER),
    ("POST", "/pushes/test-send", {"name": "p"}, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
    ("PATCH", "/pushes/{push}", {"name": "x", "version": 1}, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
    ("DELETE", "/pushes/{push}", None, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
    ("POST", "/pushes/{push}/send", None, Role.PROJECT_MANAGER, Role.CAMPAIGN_OPERATOR),
    ("GET", "/pushes/{push}/eligibility", None, Role.ANALYST, Role.REVIEWER),
    ("POST", "/pushes/{push}/test-send", None, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
    ("GET", "/push-testers", None, Role.ANALYST, Role.REVIEWER),
    ("PUT", "/push-testers", {"testers": []}, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
    ("GET", "/members/o_mid/pushes", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/members/o_mid/subscriptions", None, Role.ANALYST, Role.REVIEWER),
    ("GET", "/segments/{segment}/usage", None, Role.ANALYST, Role.REVIEWER),
    ("POST", "/pushes/{push}/pause", None, Role.PROJECT_MANAGER, Role.CAMPAIGN_OPERATOR),
    ("POST", "/pushes/{push}/resume", None, Role.PROJECT_MANAGER, Role.CAMPAIGN_OPERATOR),
    ("POST", "/pushes/{push}/cancel", None, Role.PROJECT_MANAGER, Role.ANALYST),
    ("DELETE", "/segments/{segment}", None, Role.CAMPAIGN_OPERATOR, Role.ANALYST),
]


def test_every_operator_route_needs_its_permission_on_the_account(api: TestClient, callers: Callers) -> None:
    # Taken from the app's own route table, so a new operator route cannot be left out of ROUTES.
    covered = {
        (method, "/accounts/{appid}" + t.replace("{segment}", "{segment_id}").replace("{push}", "{push_id}"))
        for method, t, *_ in ROUTES
    }
    served = {
        (method.upper(), path)
        for path, operations in api.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in operations
        if path.startswith("/accounts/")
    }
    assert {(m, p.replace("o_mid", "{openid}")) for m, p in covered} == served
    segment, push = _ids(api)
    for method, template, body, allowed, refused in ROUTES:
        path = f"/accounts/{APPID}" + template.format(segment=segment, push=push)
        if body is not None and template in ("/pushes", "/pushes/eligibility", "/pushes/test-send"):
            body = {**body, "segment_id": segment, "variants": [{"message": {"kind": "text", "text": "hi"}}]}
        nobody = api.request(method, path, json=body, headers={"Authorization": ""})
        assert nobody.status_code == 401, (method, path, nobody.text)
        wrong = api.request(method, path, json=body, headers=callers.headers(refused))
        assert wrong.status_code == 403, (method, path, refused, wrong.text)
        elsewhere = api.request(method, path, json=body, headers=callers.headers_other_account())
        assert elsewhere.status_code in (403, 404), (method, path, elsewhere.text)
        right = api.request(method, path, json=body, headers=callers.headers(allowed))
        assert right.status_code not in (401, 403), (method, path, allowed, right.text)
    # The public redirect needs no identity (a bad link is refused on its own terms, not as unauthenticated).
    assert api.get("/r/garbage", headers={"Authorization": ""}, follow_redirects=False).status_code not in (401, 403)


def test_writes_sends_and_explanations_are_audited_with_the_caller(api: TestClient, callers: Callers) -> None:
    manager = callers.headers(Role.PROJECT_MANAGER)
    segment = api.post(BASE, json={"name": "late", "rule": RULE}, headers=manager).json()
    api.put(f"{BASE}/{segment['id']}", json={"name": "later", "rule": RULE}, headers=manager | {"If-Match": '"1"'})
    api.get(f"{BASE}/{segment['id']}/members/o_mid", headers=manager)
    body = {
        "name": "guide",
        "segment_id": segment["id"],
        "variants": [{"message": {"kind": "text", "text": "hi"}}],
        "send_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "created_by": "someone else",  # ignored: the composer is the caller
        "actor": "someone else",
    }
    push = api.post(f"/accounts/{APPID}/pushes", json=body, headers=manager).json()
    assert push["created_by"]["name"] == "project_manager-op"
    assert api.get(f"/accounts/{APPID}/pushes/{push['id']}").json()["created_by"] == push["created_by"]
    for action in ("pause", "resume", "cancel"):
        assert api.post(f"/accounts/{APPID}/pushes/{push['id']}/{action}", headers=manager).status_code == 200
    assert api.delete(f"{BASE}/{segment['id']}", headers=manager).status_code == 204

    entries = [e for e in _audit(api, callers) if e.action.startswith(("segment.", "push."))]
    assert {e.actor_name for e in entries} == {"project_manager-op"}
    by_action = {e.action: e for e in entries}
    assert set(by_action) == {
        "segment.created",
        "segment.updated",
        "segment.member_explained",
        "push.scheduled",
        "push.paused",
        "push.resumed",
        "push.cancelled",
        "segment.deleted",
    }
    created, updated = by_action["segment.created"], by_action["segment.updated"]
    assert created.object_id == segment["id"] and created.after is not None and created.after["rule"] == RULE
    assert updated.before is not None and updated.after is not None
    assert (updated.before["name"], updated.after["name"]) == ("late", "later")
    assert by_action["segment.deleted"].before is not None
    assert by_action["segment.member_explained"].object_id == "o_mid"
    scheduled = by_action["push.scheduled"]
    assert scheduled.object_id == push["id"] and scheduled.after is not None
    assert scheduled.after["segment_id"] == segment["id"]
    assert by_action["push.cancelled"].after == {"status": "cancelled"}
    assert all(e.appid == APPID and e.credential_id for e in entries)


def test_a_denied_send_is_audited_and_changes_nothing(api: TestClient, callers: Callers) -> None:
    _, push = _ids(api)
    composer = callers.headers(Role.CAMPAIGN_OPERATOR)
    assert api.post(f"/accounts/{APPID}/pushes/{push}/cancel", headers=composer).status_code == 403
    assert api.get(f"/accounts/{APPID}/pushes/{push}").json()["status"] == "scheduled"
    denied = _audit(api, callers, action="permission.denied")
    assert denied and denied[0].after == {"permission": "push:send"}


def test_the_console_drafts_checks_tests_and_sends_a_push(
    api: TestClient, callers: Callers, sender: RecordingSender
) -> None:
    """A composer drafts, edits, checks whom it reaches and test-sends; a manager sends it; the segment
    then says it is used and may not be deleted."""
    composer, manager = callers.headers(Role.CAMPAIGN_OPERATOR), callers.headers(Role.PROJECT_MANAGER)
    segment = api.post(BASE, json={"name": "late", "rule": RULE}).json()
    pushes = f"/accounts/{APPID}/pushes"
    body = {
        "name": "guide",
        "segment_id": segment["id"],
        "variants": [
            {
                "message": {"kind": "text", "text": "see https://brand.example/a"},
                "template": {"template_id": "tpl", "data": {"thing1": "hi"}},
            }
        ],
    }
    assert api.post(pushes, json=body, headers=composer).status_code == 403  # scheduling needs push:send
    created = api.post(pushes, json=body | {"draft": True}, headers=composer)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["status"], draft["send_at"], draft["version"]) == ("draft", None, 1)
    assert created.headers["ETag"] == '"1"'
    path = f"{pushes}/{draft['id']}"

    assert api.patch(path, json={"name": "x"}, headers=composer).status_code == 428
    edited = api.patch(path, json={"name": "guide 2"}, headers=composer | {"If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["version"], edited.headers["ETag"]) == ("guide 2", 2, '"2"')
    assert edited.json()["variants"][0]["template"]["template_id"] == "tpl"  # untouched fields stay
    assert api.patch(path, json={"name": "y", "version": 1}, headers=composer).status_code == 409
    empty = api.patch(path, json={"variants": [{"name": "A"}], "version": 2}, headers=composer)
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"][:2] == ["body", "variants"]

    seen = api.get(f"{path}/eligibility", headers=composer).json()
    assert (seen["in_segment"], seen["estimated"], seen["will_receive"]) == (5, False, 5)
    assert sum(seen["channels"].values()) == 5 and seen["steps"][0]["rule"]["zh"]
    unsaved = api.post(f"{pushes}/eligibility", json=body, headers=composer).json()
    assert unsaved["in_segment"] == 5 and api.get(pushes).json()[0]["id"] == draft["id"]  # nothing saved

    no_testers = api.post(f"{path}/test-send", headers=composer)
    assert no_testers.status_code == 409 and "no testers" in no_testers.json()["detail"]
    too_many = {"testers": [{"openid": f"o{i}"} for i in range(21)]}
    assert api.put(f"/accounts/{APPID}/push-testers", json=too_many, headers=composer).status_code == 422
    testers = {"testers": [{"openid": "o_late_0", "label": "Ann"}]}
    assert api.put(f"/accounts/{APPID}/push-testers", json=testers, headers=composer).json() == testers
    assert api.get(f"/accounts/{APPID}/push-testers").json() == testers
    tested = api.post(f"{path}/test-send", headers=composer).json()
    assert [(r["openid"], r["label"], r["channel"], r["ok"]) for r in tested["results"]] == [
        ("o_late_0", "Ann", "customer_service", True),
        ("o_late_0", "Ann", "template", True),
    ]
    assert sender.sent == ["o_late_0", "o_late_0"]
    assert api.post(f"{pushes}/test-send", json=body, headers=composer).json()["push_id"] is None
    assert api.get(f"{path}/deliveries").json() == []  # tests are not deliveries
    assert api.get(f"/accounts/{APPID}/members/o_late_0/pushes").json() == []

    assert api.post(f"{path}/send", headers=composer).status_code == 403
    assert api.post(f"{path}/send", headers=manager | {"If-Match": '"1"'}).status_code == 409
    sent = api.post(f"{path}/send", headers=manager).json()
    assert (sent["status"], sent["version"]) == ("scheduled", 3) and sent["send_at"] is not None
    assert api.delete(path, headers=composer).status_code == 409  # no longer a draft

    used = [{"id": draft["id"], "name": "guide 2", "status": "scheduled"}]
    assert api.get(f"{BASE}/{segment['id']}").json()["used_by"] == used
    assert api.get(f"{BASE}/{segment['id']}/usage").json() == used
    kept = api.delete(f"{BASE}/{segment['id']}")
    assert kept.status_code == 409 and draft["id"] in kept.json()["detail"]

    other = api.post(pushes, json=body | {"draft": True}, headers=composer).json()
    assert api.delete(f"{pushes}/{other['id']}", headers=composer | {"If-Match": '"1"'}).status_code == 204
    assert api.get(f"{pushes}/{other['id']}").status_code == 404
    report = api.get(path).json()["report"]
    assert report["progress"]["audience"] is None and report["failed_by_code"] == []

    actions = {e.action for e in _audit(api, callers) if e.action.startswith("push.")}
    assert actions == {
        "push.drafted",
        "push.edited",
        "push.testers_set",
        "push.test_sent",
        "push.scheduled",
        "push.deleted",
    }


def test_a_push_is_linked_to_a_brand_project_when_composed(api: TestClient, callers: Callers) -> None:
    """``project_id`` on create and PATCH (a short id, 422 naming it otherwise), in the push, its report
    and its audit entry; the list filters by it."""
    segment = api.post(BASE, json={"name": "late", "rule": RULE}).json()
    pushes = f"/accounts/{APPID}/pushes"
    body = {"name": "guide", "segment_id": segment["id"], "variants": [{"message": {"kind": "text", "text": "hi"}}]}
    for bad in ("", "proj 1", "p" * 65, 7):
        refused = api.post(pushes, json=body | {"draft": True, "project_id": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["detail"][0]["loc"] == ["body", "project_id"]

    linked = api.post(pushes, json=body | {"draft": True, "project_id": "proj_a1"})
    assert linked.status_code == 201, linked.text
    draft = linked.json()
    assert draft["project_id"] == "proj_a1" and draft["report"]["project_id"] == "proj_a1"
    unlinked = api.post(pushes, json=body | {"draft": True}).json()
    assert unlinked["project_id"] is None and unlinked["report"]["project_id"] is None
    path = f"{pushes}/{draft['id']}"

    renamed = api.patch(path, json={"name": "guide 2", "version": 1}).json()
    assert renamed["project_id"] == "proj_a1"  # a PATCH without it keeps the link
    bad_patch = api.patch(path, json={"project_id": "no/slash", "version": 2})
    assert bad_patch.status_code == 422 and bad_patch.json()["detail"][0]["loc"] == ["body", "project_id"]
    moved = api.patch(path, json={"project_id": "proj_b2", "version": 2}).json()
    assert (moved["project_id"], api.get(path).json()["project_id"]) == ("proj_b2", "proj_b2")

    assert [p["id"] for p in api.get(pushes, params={"project_id": "proj_b2"}).json()] == [draft["id"]]
    assert api.get(pushes, params={"project_id": "proj_a1"}).json() == []
    assert {p["id"] for p in api.get(pushes).json()} == {draft["id"], unlinked["id"]}
    bad_filter = api.get(pushes, params={"project_id": "a b"})
    assert bad_filter.status_code == 422 and bad_filter.json()["detail"][0]["loc"] == ["query", "project_id"]

    cleared = api.patch(path, json={"project_id": None, "version": 3}).json()
    assert cleared["project_id"] is None
    assert api.get(pushes, params={"project_id": "proj_b2"}).json() == []

    [drafted] = _audit(api, callers, action="push.drafted", object_id=draft["id"])
    assert drafted.after is not None and drafted.after["project_id"] == "proj_a1"


def test_a_send_time_in_the_quiet_hours_is_accepted_and_says_when_it_goes(api: TestClient) -> None:
    segment = api.post(BASE, json={"name": "night", "rule": RULE}).json()
    beijing = timezone(timedelta(hours=8))
    tomorrow = (datetime.now(beijing) + timedelta(days=1)).date()
    night = datetime.combine(tomorrow, time(23, 30), tzinfo=beijing)
    body = {
        "name": "night",
        "segment_id": segment["id"],
        "send_at": night.isoformat(),
        "variants": [{"message": {"kind": "text", "text": "hi"}}],
    }
    created = api.post(f"/accounts/{APPID}/pushes", json=body)
    assert created.status_code == 201, created.text  # accepted, not refused
    push = created.json()
    assert push["held_by_quiet_hours"] is True  # the service's default quiet hours, 22:00-08:00
    morning = datetime.combine(tomorrow + timedelta(days=1), time(8, 0), tzinfo=beijing)
    assert datetime.fromisoformat(push["effective_send_at"]) == morning
    assert datetime.fromisoformat(push["send_at"]) == night
    read = api.get(f"/accounts/{APPID}/pushes/{push['id']}").json()
    assert datetime.fromisoformat(read["effective_send_at"]) == morning
    day = api.post(f"/accounts/{APPID}/pushes", json=body | {"send_at": night.replace(hour=12).isoformat()}).json()
    assert day["held_by_quiet_hours"] is False and datetime.fromisoformat(day["effective_send_at"]) == night.replace(
        hour=12
    )
