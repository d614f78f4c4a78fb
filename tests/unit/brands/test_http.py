"""The brands API end to end in memory: who sees which brands, edits with versions, hand-over audited,
deals, payments, project progress, the value report and the business view."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from services.brands.bootstrap import Brands
from services.brands.domain.progress import DeliveryFact
from shared.identity import AuditQuery
from tests.brand_callers import APPID
from tests.unit.brands.conftest import Api


def _team(api: Api) -> dict[str, Any]:
    body = {"name": "East", "head_id": "hana", "member_ids": ["mia", "max"]}
    response = api.client.post("/teams", json=body, headers=api.as_("root"))
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


def _brand(api: Api, who: str, name: str, **extra: Any) -> dict[str, Any]:
    response = api.client.post("/brands", json={"name": name, **extra}, headers=api.as_(who))
    assert response.status_code == 201, response.text
    brand: dict[str, Any] = response.json()
    return brand


def _project(api: Api, who: str, brand_id: str, **extra: Any) -> dict[str, Any]:
    body = {
        "appid": APPID,
        "name": "Spring formula",
        "target_deliveries": 1000,
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-10",
        "price_fen": 5_000_000,
        "status": "active",
    } | extra
    response = api.client.post(f"/brands/{brand_id}/projects", json=body, headers=api.as_(who))
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def _deliver(api: Api, facts: list[tuple[str, DeliveryFact]]) -> int:
    service: Brands = api.client.app.state.service  # type: ignore[attr-defined]
    return asyncio.run(service.record_deliveries(facts))  # the TestClient's loop runs elsewhere


def test_a_manager_sees_their_own_brands_a_head_their_teams_an_admin_all(api: Api) -> None:
    _team(api)
    _brand(api, "mia", "Beibei")
    kidsy = _brand(api, "max", "Kidsy")
    _brand(api, "olga", "Olga's")
    assert _names(api.client.get("/brands", headers=api.as_("mia"))) == ["Beibei"]
    assert _names(api.client.get("/brands", headers=api.as_("hana"))) == ["Beibei", "Kidsy"]
    assert _names(api.client.get("/brands", headers=api.as_("root"))) == ["Beibei", "Kidsy", "Olga's"]
    assert api.client.get("/brands", headers=api.as_("ana")).status_code == 403
    assert api.client.get("/brands", headers=api.as_("pete")).status_code == 403
    # Another's brand is not there for a manager, whatever the route.
    assert api.client.get(f"/brands/{kidsy['id']}", headers=api.as_("mia")).status_code == 404
    assert api.client.get(f"/brands/{kidsy['id']}/projects", headers=api.as_("mia")).status_code == 404
    assert api.client.get(f"/brands/{kidsy['id']}", headers=api.as_("hana")).status_code == 200
    # The owner filter stays within the scope.
    assert _names(api.client.get("/brands", params={"owner": api.ids["olga"]}, headers=api.as_("hana"))) == []
    listed = api.client.get("/brands", headers=api.as_("hana")).json()
    assert listed["names"] == {api.ids["mia"]: "mia", api.ids["max"]: "max"}
    managers = {
        who: sorted(m["name"] for m in api.client.get("/managers", headers=api.as_(who)).json()["items"])
        for who in ("root", "hana", "mia")
    }
    assert managers == {"root": ["hana", "max", "mia", "olga", "root"], "hana": ["hana", "max", "mia"], "mia": ["mia"]}
    teams = api.client.get("/teams", headers=api.as_("olga")).json()["items"]
    assert teams == []
    assert [t["name"] for t in api.client.get("/teams", headers=api.as_("mia")).json()["items"]] == ["East"]


def test_only_admins_manage_teams_and_members_must_be_operators(api: Api) -> None:
    body = {"name": "West", "head_id": "hana", "member_ids": ["olga"]}
    assert api.client.post("/teams", json=body, headers=api.as_("hana")).status_code == 403
    unknown = api.client.post("/teams", json=body | {"member_ids": ["nobody"]}, headers=api.as_("root"))
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "member_ids", 0]
    not_a_head = api.client.post("/teams", json=body | {"head_id": "mia"}, headers=api.as_("root"))
    assert not_a_head.status_code == 422 and not_a_head.json()["detail"][0]["loc"] == ["body", "head_id"]
    team = _team(api)
    taken = api.client.post("/teams", json={"name": "East", "head_id": "hana"}, headers=api.as_("root"))
    assert taken.status_code == 409
    path = f"/teams/{team['id']}"
    assert api.client.patch(path, json={"name": "East 1"}, headers=api.as_("root")).status_code == 428
    edited = api.client.patch(path, json={"member_ids": ["mia"]}, headers=api.as_("root") | {"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.json()["member_ids"] == [api.ids["mia"]]
    assert edited.headers["ETag"] == '"2"'
    assert api.client.delete(path, headers=api.as_("root")).status_code == 204
    assert api.client.get(path, headers=api.as_("root")).status_code == 404


def test_a_brand_is_created_for_oneself_or_a_team_member_and_edited_with_its_version(api: Api) -> None:
    _team(api)
    refused = api.client.post("/brands", json={"name": "X", "owner_id": "olga"}, headers=api.as_("mia"))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "owner_id"]
    # An owner must hold brand:edit on every account (an analyst of one account cannot own a brand).
    analyst = api.client.post("/brands", json={"name": "X", "owner_id": "ana"}, headers=api.as_("root"))
    assert analyst.status_code == 422 and "brand:edit" in analyst.json()["detail"][0]["msg"]
    brand = _brand(api, "hana", "Beibei", owner_id="max", industry="formula")
    assert brand["owner_id"] == api.ids["max"] and brand["tier"] == "C" and brand["inactive"] is False
    assert api.client.post("/brands", json={"name": "Beibei"}, headers=api.as_("mia")).status_code == 409
    assert api.client.post("/brands", json={"name": ""}, headers=api.as_("mia")).status_code == 422
    path = f"/brands/{brand['id']}"
    stale = api.client.patch(path, json={"name": "Bei", "version": 7}, headers=api.as_("max"))
    assert stale.status_code == 409
    edited = api.client.patch(path, json={"name": "Bei"}, headers=api.as_("max") | {"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.json()["name"] == "Bei" and edited.json()["version"] == 2
    entries = asyncio.run(api.directory.audit_log.query(AuditQuery(object_id=brand["id"])))
    assert {e.action for e in entries} == {"brand.created", "brand.edited"}
    assert all(e.actor_id in {api.ids["hana"], api.ids["max"]} for e in entries)


def test_hand_over_moves_the_brand_its_open_projects_and_deals_and_is_audited(api: Api) -> None:
    _team(api)
    brand = _brand(api, "mia", "Beibei")
    project = _project(api, "mia", brand["id"])
    ended = _project(api, "mia", brand["id"], name="Old", status="draft")
    api.client.patch(f"/projects/{ended['id']}", json={"status": "ended", "version": 1}, headers=api.as_("mia"))
    deal = api.client.post("/deals", json={"brand_id": brand["id"], "value_fen": 100}, headers=api.as_("mia")).json()
    path = f"/brands/{brand['id']}/handover"
    assert api.client.post(path, json={"to": "max", "reason": "x"}, headers=api.as_("mia")).status_code == 403
    outside = api.client.post(path, json={"to": "olga", "reason": "leaving"}, headers=api.as_("hana"))
    assert outside.status_code == 422 and outside.json()["detail"][0]["loc"] == ["body", "to"]
    assert api.client.post(path, json={"to": "max", "reason": ""}, headers=api.as_("hana")).status_code == 422
    moved = api.client.post(path, json={"to": "max", "reason": "mia is on leave"}, headers=api.as_("hana"))
    assert moved.status_code == 200, moved.text
    out = moved.json()
    assert out["from_owner"] == api.ids["mia"] and out["to"] == api.ids["max"]
    assert out["projects"] == [project["id"]] and out["deals"] == [deal["id"]]
    assert api.client.get(f"/projects/{project['id']}", headers=api.as_("max")).json()["manager_id"] == api.ids["max"]
    assert api.client.get(f"/projects/{ended['id']}", headers=api.as_("root")).json()["manager_id"] == api.ids["mia"]
    assert _names(api.client.get("/brands", headers=api.as_("mia"))) == []
    (entry,) = asyncio.run(api.directory.audit_log.query(AuditQuery(action="brand.handed_over")))
    assert entry.actor_id == api.ids["hana"] and entry.object_id == brand["id"]
    assert entry.before == {"owner_id": api.ids["mia"]}
    assert entry.after is not None and entry.after["owner_id"] == api.ids["max"]
    assert entry.after["reason"] == "mia is on leave"
    # An admin hands over to anyone.
    back = api.client.post(path, json={"to": "olga", "reason": "rebalance"}, headers=api.as_("root"))
    assert back.status_code == 200 and back.json()["brand"]["owner_id"] == api.ids["olga"]


def test_projects_are_edited_with_their_version_and_listed_for_push_composers(api: Api) -> None:
    brand = _brand(api, "mia", "Beibei")
    project = _project(api, "mia", brand["id"])
    assert project["brand_name"] == "Beibei" and project["manager_id"] == api.ids["mia"]
    path = f"/projects/{project['id']}"
    bad = api.client.post(
        f"/brands/{brand['id']}/projects",
        json={"appid": APPID, "name": "x", "target_deliveries": 0, "starts_on": "2026-12-01", "ends_on": "2026-12-02"},
        headers=api.as_("mia"),
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "target_deliveries"]
    backwards = api.client.patch(path, json={"ends_on": "2026-11-01", "version": 1}, headers=api.as_("mia"))
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["loc"] == ["body", "ends_on"]
    assert api.client.patch(path, json={"name": "y"}, headers=api.as_("mia")).status_code == 428
    assert api.client.patch(path, json={"name": "y"}, headers=api.as_("mia") | {"If-Match": '"5"'}).status_code == 409
    edited = api.client.patch(path, json={"target_clicks": 50}, headers=api.as_("mia") | {"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.json()["target_clicks"] == 50 and edited.headers["ETag"] == '"2"'
    cleared = api.client.patch(path, json={"target_clicks": None, "version": 2}, headers=api.as_("mia"))
    assert cleared.json()["target_clicks"] is None
    assert api.client.get(path, headers=api.as_("max")).status_code == 404
    _project(api, "mia", brand["id"], name="Later", status="draft")
    assert _names(api.client.get("/projects", headers=api.as_("mia"))) == ["Later", "Spring formula"]
    assert _names(api.client.get("/projects", params={"status": "draft"}, headers=api.as_("mia"))) == ["Later"]
    assert _names(api.client.get("/projects", headers=api.as_("max"))) == []
    assert _names(api.client.get("/projects", headers=api.as_("root"))) == ["Later", "Spring formula"]
    listed = api.client.get(f"/accounts/{APPID}/projects", params={"active": "true"}, headers=api.as_("pete"))
    assert listed.status_code == 200
    assert [(p["name"], p["brand_name"]) for p in listed.json()["items"]] == [("Spring formula", "Beibei")]
    assert api.client.get(f"/accounts/{APPID}/projects", headers=api.as_("ana")).status_code == 403
    assert api.client.get("/accounts/wx_other/projects", headers=api.as_("pete")).status_code == 403


def _facts(project_id: str) -> list[tuple[str, DeliveryFact]]:
    day1 = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 2026-12-02 01:00 in Beijing
    day2 = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    facts = [(f"d{i}", DeliveryFact("delivered", project_id, "push1", "seg1", day1, False)) for i in range(3)] + [
        ("d3", DeliveryFact("delivered", project_id, "push2", "seg2", day2, False)),
        ("c1", DeliveryFact("clicked", project_id, "push1", "seg1", day2, True)),
        ("c2", DeliveryFact("clicked", project_id, "push1", "seg1", day2, False)),
    ]
    return facts


def test_progress_and_the_value_report_come_from_the_counted_deliveries(api: Api) -> None:
    brand = _brand(api, "mia", "贝贝")
    project = _project(api, "mia", brand["id"], target_deliveries=10)
    assert _deliver(api, _facts(project["id"])) == 6
    assert _deliver(api, _facts(project["id"])) == 0  # redelivered: nothing counted twice
    progress = api.client.get(f"/projects/{project['id']}/progress", headers=api.as_("mia"))
    assert progress.status_code == 200, progress.text
    p = progress.json()
    assert (p["target"], p["delivered"], p["clicks"], p["clickers"]) == (10, 4, 2, 1)
    assert p["completion"] == 40.0 and p["click_rate"] == 25.0 and p["remaining"] == 6
    days = {s["day"]: s for s in p["series"]}
    assert list(days) == [f"2026-12-0{d}" for d in range(1, 5)]  # the start to today (Beijing)
    assert days["2026-12-02"]["delivered"] == 3 and days["2026-12-03"]["delivered_total"] == 4
    assert days["2026-12-04"]["target_line"] == 4.0
    # These deliveries carried no names: each row is named by its id.
    assert p["by_segment"] == [
        {"segment_id": "seg1", "segment_name": "seg1", "delivered": 3, "clicks": 2},
        {"segment_id": "seg2", "segment_name": "seg2", "delivered": 1, "clicks": 0},
    ]
    assert p["by_push"][0] == {"push_id": "push1", "push_name": "push1", "delivered": 3, "clicks": 2, "clickers": 1}
    report = api.client.get(f"/projects/{project['id']}/value-report", headers=api.as_("hana"))
    assert report.status_code == 404  # hana heads no team here
    report = api.client.get(f"/projects/{project['id']}/value-report", headers=api.as_("mia"))
    assert report.json()["brand"] == "贝贝" and report.json()["delivered"] == 4
    csv = api.client.get(f"/projects/{project['id']}/value-report?format=csv", headers=api.as_("mia"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())
    assert "贝贝,Spring formula,wx1,2026-12-01..2026-12-10,10,4,2,1,25.0%" in csv.text
    # Deliveries move the brand's last activity.
    brand_now = api.client.get(f"/brands/{brand['id']}", headers=api.as_("mia")).json()
    assert brand_now["last_activity_at"].startswith("2026-12-04")  # created today, later than the deliveries


def test_deals_move_forward_or_to_lost_and_payments_make_the_tier(api: Api) -> None:
    brand = _brand(api, "mia", "Beibei")
    deal = api.client.post("/deals", json={"brand_id": brand["id"], "value_fen": 9900}, headers=api.as_("mia")).json()
    assert deal["stage"] == "lead"
    path = f"/deals/{deal['id']}/stage"
    assert api.client.post(path, json={"stage": "signed"}, headers=api.as_("mia")).json()["stage"] == "signed"
    assert api.client.post(path, json={"stage": "proposal"}, headers=api.as_("mia")).status_code == 409
    assert api.client.post(path, json={"stage": "bogus"}, headers=api.as_("mia")).status_code == 422
    lost = api.client.post(path, json={"stage": "lost"}, headers=api.as_("mia")).json()
    assert [h["stage"] for h in lost["history"]] == ["lead", "signed", "lost"]
    assert api.client.post(path, json={"stage": "renewed"}, headers=api.as_("mia")).status_code == 409
    assert api.client.post(path, json={"stage": "lost"}, headers=api.as_("max")).status_code == 404
    pay = api.client.post(
        "/payments",
        json={"brand_id": brand["id"], "amount_fen": 20_000_000, "due_on": "2026-11-30"},
        headers=api.as_("mia"),
    ).json()
    assert pay["overdue"] is True
    assert api.client.get(f"/brands/{brand['id']}", headers=api.as_("mia")).json()["tier"] == "C"
    received = api.client.post(
        f"/payments/{pay['id']}/received", json={"received_on": "2026-12-02"}, headers=api.as_("mia")
    )
    assert received.status_code == 200 and received.json()["overdue"] is False
    again = api.client.post(
        f"/payments/{pay['id']}/received", json={"received_on": "2026-12-02"}, headers=api.as_("mia")
    )
    assert again.status_code == 200 and again.json()["version"] == received.json()["version"]
    other_day = api.client.post(
        f"/payments/{pay['id']}/received", json={"received_on": "2026-12-03"}, headers=api.as_("mia")
    )
    assert other_day.status_code == 422 and other_day.json()["detail"][0]["loc"] == ["body", "received_on"]
    brand_now = api.client.get(f"/brands/{brand['id']}", headers=api.as_("mia")).json()
    assert (brand_now["tier"], brand_now["spend_fen"]) == ("B", 20_000_000)
    assert _names(api.client.get("/brands", params={"tier": "B"}, headers=api.as_("mia"))) == ["Beibei"]
    bad = api.client.post(
        "/payments", json={"brand_id": brand["id"], "amount_fen": 0, "due_on": "2026-12-01"}, headers=api.as_("mia")
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "amount_fen"]


def test_brands_with_nothing_happening_for_30_days_are_flagged(api: Api) -> None:
    brand = _brand(api, "mia", "Beibei")
    api.clock.advance(days=29)
    assert api.client.get("/brands", params={"inactive": "true"}, headers=api.as_("mia")).json()["items"] == []
    api.clock.advance(days=1)
    (flagged,) = api.client.get("/brands", params={"inactive": "true"}, headers=api.as_("mia")).json()["items"]
    assert flagged["id"] == brand["id"] and flagged["days_inactive"] == 30
    api.client.post("/deals", json={"brand_id": brand["id"]}, headers=api.as_("mia"))
    assert api.client.get(f"/brands/{brand['id']}", headers=api.as_("mia")).json()["inactive"] is False


def test_the_business_view_of_a_head_covers_their_team(api: Api) -> None:
    _team(api)
    beibei = _brand(api, "mia", "Beibei")
    kidsy = _brand(api, "max", "Kidsy")
    _brand(api, "olga", "Olga's")
    project = _project(api, "mia", beibei["id"], target_deliveries=10)
    _project(api, "max", kidsy["id"], target_deliveries=3100, starts_on="2026-11-01", ends_on="2026-12-31")
    _deliver(api, _facts(project["id"]))
    api.client.post(
        "/payments",
        json={"brand_id": kidsy["id"], "amount_fen": 500, "due_on": "2026-12-20"},
        headers=api.as_("max"),
    )
    api.client.post("/deals", json={"brand_id": kidsy["id"], "stage": "delivering"}, headers=api.as_("max"))
    view = api.client.get("/business", params={"period": "month", "at": "2026-12-15"}, headers=api.as_("hana"))
    assert view.status_code == 200, view.text
    b = view.json()
    assert b["period"] == {"kind": "month", "label": "2026-12", "start": "2026-12-01", "end": "2026-12-31"}
    managers = {m["manager_id"]: m for m in b["managers"]}
    assert set(managers) == {api.ids["hana"], api.ids["mia"], api.ids["max"]}
    assert (managers[api.ids["mia"]]["target"], managers[api.ids["mia"]]["delivered"]) == (10, 4)
    assert managers[api.ids["mia"]]["rank"] == 1 and managers[api.ids["mia"]]["completion"] == 40.0
    # 3100 over 61 days, 31 of them in December: 1575 (rounded).
    assert managers[api.ids["max"]]["target"] == 1575 and managers[api.ids["max"]]["rank"] == 2
    assert b["names"][api.ids["mia"]] == "mia"
    (team,) = b["teams"]
    assert team["target"] == 1585 and team["delivered"] == 4
    assert b["payments"]["due_fen"] == 500 and b["payments"]["due"][0]["brand_id"] == kidsy["id"]
    assert [p["name"] for p in b["renewals"]["projects"]] == ["Spring formula"]
    assert len(b["renewals"]["deals"]) == 1
    assert {s["stage"]: s["count"] for s in b["funnel"]}["delivering"] == 1
    assert b["tiers"] == {"A": 0, "B": 0, "C": 2}
    mine = api.client.get("/business", params={"period": "quarter", "at": "2026-12-15"}, headers=api.as_("mia")).json()
    assert [m["manager_id"] for m in mine["managers"]] == [api.ids["mia"]] and mine["teams"] == []
    assert mine["period"]["label"] == "2026-Q4"
    assert api.client.get("/business", params={"period": "year"}, headers=api.as_("mia")).status_code == 422
    assert api.client.get("/business", headers=api.as_("ana")).status_code == 403


def _named(project_id: str) -> list[tuple[str, DeliveryFact]]:
    early = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    late = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    return [
        ("n1", DeliveryFact("delivered", project_id, "push1", "seg1", early, push_name="旧名", segment_name="孕妈")),
        # The push renamed, then an older event redelivered late: the name of the latest event stays.
        ("n2", DeliveryFact("delivered", project_id, "push1", "seg1", late, push_name="奶粉试用", segment_name="孕妈")),
        ("n3", DeliveryFact("clicked", project_id, "push1", "seg1", early, True, push_name="旧名")),
        # Counted before events carried names: the id stands in.
        ("n4", DeliveryFact("delivered", project_id, "push2", "seg2", early)),
    ]


def test_progress_and_the_value_report_name_pushes_and_segments_by_their_latest_names(api: Api) -> None:
    brand = _brand(api, "mia", "贝贝")
    project = _project(api, "mia", brand["id"], target_deliveries=10)
    facts = _named(project["id"])
    assert _deliver(api, facts[:2]) == 2
    assert _deliver(api, facts[2:]) == 2
    p = api.client.get(f"/projects/{project['id']}/progress", headers=api.as_("mia")).json()
    assert [(r["push_id"], r["push_name"], r["delivered"]) for r in p["by_push"]] == [
        ("push1", "奶粉试用", 2),
        ("push2", "push2", 1),
    ]
    assert [(r["segment_id"], r["segment_name"]) for r in p["by_segment"]] == [("seg1", "孕妈"), ("seg2", "seg2")]
    report = api.client.get(f"/projects/{project['id']}/value-report", headers=api.as_("mia")).json()
    assert [r["push_name"] for r in report["by_push"]] == ["奶粉试用", "push2"]
    assert [r["segment_name"] for r in report["by_segment"]] == ["孕妈", "seg2"]
    csv = api.client.get(f"/projects/{project['id']}/value-report?format=csv", headers=api.as_("mia")).text
    assert "segment,segment_id,delivered,clicked\r\n孕妈,seg1,2,1\r\nseg2,seg2,1,0" in csv
    assert "push,push_id,delivered,clicked,clickers\r\n奶粉试用,push1,2,1,1\r\npush2,push2,1,0,0" in csv
