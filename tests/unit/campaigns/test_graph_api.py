"""The poster-variant and referral-graph routes of the campaigns API, on its in-memory adapters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image

from services.campaigns.adapters.memory import CampaignRecords, InMemoryPosterVariants
from services.campaigns.domain.graph import Edge
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.unit.campaigns.graph_harness import at
from tests.unit.console.campaigns_api import in_memory_bootstrap

APPID = "wx1"
BASE = f"/accounts/{APPID}/campaigns"
GRAPH = f"/accounts/{APPID}/referral-graph"


def png(colour: str = "white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (750, 1334), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@dataclass
class Api:
    client: httpx.AsyncClient
    records: CampaignRecords
    variants: InMemoryPosterVariants
    callers: Callers

    async def as_role(self, role: Role, method: str, url: str, **kwargs: object) -> httpx.Response:
        return await self.client.request(method, url, headers=self.callers.headers(role), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch, callers: Callers) -> AsyncIterator[Api]:
    records = CampaignRecords()
    variants = InMemoryPosterVariants(records)
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records, variants=variants))
    app = create_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://campaigns", headers=callers.headers(Role.ADMIN)
        ) as client,
    ):
        yield Api(client, records, variants, callers)


async def draft(api: Api) -> str:
    body = {
        "name": "海报 A/B",
        "starts_at": "2026-01-01T00:00:00+08:00",
        "ends_at": "2099-01-01T00:00:00+08:00",
        "tiers": [{"count": 3, "pool": "A"}],
    }
    created = await api.client.post(BASE, json=body)
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    layout = json.dumps({"qr": {"x": 500, "y": 1100, "size": 200}})
    uploaded = await api.client.post(
        f"{BASE}/{cid}/template",
        files={"image": ("p.png", png(), "image/png")},
        data={"layout": layout},
        headers={"If-Match": '"1"'},
    )
    assert uploaded.status_code == 201, uploaded.text
    return cid


async def test_variants_are_added_to_a_draft_weighted_and_reported_per_variant(api: Api) -> None:
    cid = await draft(api)
    added = await api.client.post(
        f"{BASE}/{cid}/variants/b/template", files={"image": ("b.png", png("red"), "image/png")}, data={"weight": "2"}
    )
    assert added.status_code == 201, added.text
    layout = json.dumps({"qr": {"x": 10, "y": 10, "size": 300}})
    other = await api.client.post(
        f"{BASE}/{cid}/variants/c/template",
        files={"image": ("c.png", png("blue"), "image/png")},
        data={"layout": layout},
    )
    assert other.status_code == 201, other.text
    listed = (await api.client.get(f"{BASE}/{cid}/variants")).json()
    assert [(v["key"], v["weight"], v["primary"]) for v in listed["variants"]] == [
        ("a", 1, True),
        ("b", 2, False),
        ("c", 1, False),
    ]
    assert "Thompson" in listed["rule"] and listed["leader"] is None
    plan = await api.variants.plan(cid)
    assert plan is not None and plan.template("c") is not None and plan.template("c").qr.size == 300  # type: ignore[union-attr]

    bad = await api.client.patch(f"{BASE}/{cid}/variants", json={"weights": {"z": 1}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "weights", "z"]
    none_left = await api.client.patch(f"{BASE}/{cid}/variants", json={"weights": {"a": 0, "b": 0, "c": 0}})
    assert none_left.status_code == 422
    patched = await api.client.patch(
        f"{BASE}/{cid}/variants", json={"weights": {"a": 0}, "auto_shift": {"enabled": True, "min_sample": 50}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["auto_shift"] == {"enabled": True, "min_sample": 50}
    removed = await api.client.delete(f"{BASE}/{cid}/variants/c")
    assert [v["key"] for v in removed.json()["variants"]] == ["a", "b"]
    assert (await api.client.delete(f"{BASE}/{cid}/variants/c")).status_code == 404
    too_long = await api.client.post(
        f"{BASE}/{cid}/variants/abcd/template", files={"image": ("b.png", png(), "image/png")}
    )
    assert too_long.status_code == 422
    not_image = await api.client.post(
        f"{BASE}/{cid}/variants/d/template", files={"image": ("b.png", b"nope", "image/png")}
    )
    assert not_image.status_code == 422 and "image" in not_image.text

    api.variants.counters[cid] = {"members:a": 10, "members:b": 10, "follows:a": 1, "follows:b": 4, "credited:b": 3}
    listed = (await api.client.get(f"{BASE}/{cid}/variants")).json()
    assert listed["leader"] == "b"
    assert [(v["key"], v["follow_rate"], v["credit_rate"]) for v in listed["variants"]] == [
        ("a", 0.1, 0.0),
        ("b", 0.4, 0.3),
    ]
    # Rewards count verified followers here: the shift and the leader go by confirmed credits per member.
    assert listed["shift_on"] == "confirmed" and "confirmed credits per member" in listed["rule"]
    assert "credited_note" not in listed
    api.variants.counters[cid] |= {"confirmed:a": 2, "confirmed:b": 1}
    listed = (await api.client.get(f"{BASE}/{cid}/variants")).json()
    assert listed["leader"] == "a"
    assert [(v["key"], v["confirmed"], v["confirmed_rate"]) for v in listed["variants"]] == [
        ("a", 2, 0.2),
        ("b", 1, 0.1),
    ]
    forbidden = await api.as_role(Role.REVIEWER, "PATCH", f"{BASE}/{cid}/variants", json={"weights": {"a": 1}})
    assert forbidden.status_code == 403
    [entry] = await api.callers.directory.audit_entries(AuditQuery(appid=APPID, action="campaign.variants_changed"))
    assert entry.after is not None and entry.after["weights"] == {"a": 0, "b": 2, "c": 1}


def seed_ring(records: CampaignRecords) -> None:
    for n, (inviter, invitee, campaign) in enumerate(
        (("o_A", "o_B", "c1"), ("o_B", "o_A", "c2"), ("o_A", "o_C", "c1"))
    ):
        records.edges[f"{campaign}:{invitee}"] = Edge(APPID, campaign, inviter, invitee, at(n))


async def test_flags_freeze_release_and_export_of_the_graph(api: Api) -> None:
    seed_ring(api.records)
    flags = (await api.client.get(f"{GRAPH}/flags")).json()
    assert flags["counts"] == {"ring": 1}
    [ring] = flags["items"]
    assert ring["kind"] == "ring" and ring["members"] == ["o_A", "o_B"] and ring["frozen"] == []

    frozen = await api.as_role(Role.REVIEWER, "POST", f"{GRAPH}/inviters/o_A/freeze", json={"reason": "ring"})
    assert frozen.status_code == 201, frozen.text
    assert frozen.json()["status"] == "frozen" and frozen.json()["frozen_by"] == "reviewer-op"
    again = await api.client.post(f"{GRAPH}/inviters/o_A/freeze", json={"reason": "ring"})
    assert again.status_code == 409
    assert (await api.client.post(f"{GRAPH}/inviters/o_A/freeze", json={"reason": " "})).status_code == 422
    assert (await api.client.get(f"{GRAPH}/flags")).json()["items"][0]["frozen"] == ["o_A"]
    inviters = (await api.client.get(f"{GRAPH}/inviters")).json()
    assert [(i["openid"], i["invitees"], i["campaigns"], i["frozen"]) for i in inviters["items"]] == [
        ("o_A", 2, 1, True),
        ("o_B", 1, 1, False),
    ]
    assert [f["openid"] for f in (await api.client.get(f"{GRAPH}/freezes?status=frozen")).json()["items"]] == ["o_A"]

    released = await api.client.post(f"{GRAPH}/inviters/o_A/release")
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released" and released.json()["granted"] == []
    assert (await api.client.post(f"{GRAPH}/inviters/o_A/release")).status_code == 409

    exported = await api.client.get(f"{GRAPH}/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["inviter"], r["invitee"], r["campaign_id"]) for r in rows] == [
        ("o_A", "o_B", "c1"),
        ("o_B", "o_A", "c2"),
        ("o_A", "o_C", "c1"),
    ]
    as_json = (await api.client.get(f"{GRAPH}/export?format=json")).json()
    assert as_json["nodes"] == ["o_A", "o_B", "o_C"] and len(as_json["edges"]) == 3
    assert (await api.as_role(Role.REVIEWER, "GET", f"{GRAPH}/export")).status_code == 403
    exports = await api.callers.directory.audit_entries(AuditQuery(appid=APPID, action="referral.graph_exported"))
    assert len(exports) == 2
    for action in ("referral.inviter_frozen", "referral.inviter_released"):
        assert await api.callers.directory.audit_entries(AuditQuery(appid=APPID, action=action))
    assert (await api.client.post(f"{GRAPH}/backfill")).json() == {"added": 0}


async def test_a_running_campaign_keeps_its_variants_but_takes_new_weights(api: Api) -> None:
    cid = await draft(api)
    image = {"image": ("b.png", png("red"), "image/png")}
    assert (await api.client.post(f"{BASE}/{cid}/variants/b/template", files=image)).status_code == 201
    await api.client.post(f"{BASE}/{cid}/reward-pools/A/generate", json={"count": 5})
    activated = await api.client.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"2"'})
    assert activated.status_code == 200, activated.text
    assert (await api.client.post(f"{BASE}/{cid}/variants/c/template", files=image)).status_code == 409
    assert (await api.client.delete(f"{BASE}/{cid}/variants/b")).status_code == 409
    assert (await api.client.patch(f"{BASE}/{cid}/variants", json={"weights": {"b": 0}})).status_code == 200


async def test_flags_are_kept_with_their_review_and_a_dismissed_one_stays_dismissed(api: Api) -> None:
    seed_ring(api.records)
    [ring] = (await api.client.get(f"{GRAPH}/flags")).json()["items"]
    assert (ring["id"], ring["status"], ring["current"]) == ("ring:o_A", "open", True)
    assert ring["first_seen_at"] is not None and ring["reviewed_by"] is None

    url = f"{GRAPH}/flags/ring:o_A/review"
    refused = await api.as_role(Role.CAMPAIGN_OPERATOR, "POST", url, json={"status": "dismissed"})
    assert refused.status_code == 403
    bad = await api.as_role(Role.REVIEWER, "POST", url, json={"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]
    unknown = await api.as_role(Role.REVIEWER, "POST", f"{GRAPH}/flags/ring:o_Z/review", json={"status": "dismissed"})
    assert unknown.status_code == 404
    dismissed = await api.as_role(Role.REVIEWER, "POST", url, json={"status": "dismissed", "note": " friends "})
    assert dismissed.status_code == 200, dismissed.text
    body = dismissed.json()
    assert (body["status"], body["reviewed_by"], body["note"]) == ("dismissed", "reviewer-op", "friends")
    again = await api.as_role(Role.REVIEWER, "POST", url, json={"status": "dismissed"})
    assert again.status_code == 409 and "dismissed already" in again.text
    [entry] = await api.callers.directory.audit_entries(AuditQuery(appid=APPID, action="referral.flag_reviewed"))
    assert entry.object_id == "ring:o_A" and entry.before == {"status": "open"}
    assert entry.after == {"status": "dismissed", "note": "friends"}

    # The ring grows: computed again, it is the same flag, still dismissed, and not among the open ones.
    api.records.edges["c3:o_A"] = Edge(APPID, "c3", "o_C", "o_A", at(9))
    listed = (await api.client.get(f"{GRAPH}/flags")).json()
    [ring] = listed["items"]
    assert (ring["id"], ring["status"], ring["members"]) == ("ring:o_A", "dismissed", ["o_A", "o_B", "o_C"])
    assert listed["by_status"] == {"dismissed": 1}
    assert (await api.client.get(f"{GRAPH}/flags?status=open")).json()["items"] == []
    # Freezing keeps working beside the review.
    frozen = await api.as_role(Role.REVIEWER, "POST", f"{GRAPH}/inviters/o_C/freeze", json={"reason": "ring"})
    assert frozen.status_code == 201
    assert (await api.client.get(f"{GRAPH}/flags?status=dismissed")).json()["items"][0]["frozen"] == ["o_C"]

    # A pattern no longer found is kept (with its review), listed on request only.
    for key in ("c2:o_A", "c3:o_A"):
        del api.records.edges[key]
    assert (await api.client.get(f"{GRAPH}/flags")).json()["items"] == []
    [kept] = (await api.client.get(f"{GRAPH}/flags?include_gone=true")).json()["items"]
    assert (kept["id"], kept["current"], kept["status"]) == ("ring:o_A", False, "dismissed")
    reopened = await api.as_role(Role.REVIEWER, "POST", url, json={"status": "open"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
