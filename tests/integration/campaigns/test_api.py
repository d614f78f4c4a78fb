"""The campaign management API, the real app against SecantusDB."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services.campaigns.entrypoints.http import create_app
from services.campaigns.settings import CampaignsSettings
from shared.identity import CLI_ACTOR, Role
from tests.accounts import account
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

MAX_TEMPLATE_BYTES = 200_000
BASE = "/accounts/wx1/campaigns"
LAYOUT = {
    "qr": {"x": 500, "y": 1100, "size": 200},
    "text_slots": [{"name": "nickname", "x": 40, "y": 40, "font_size": 32}],
}


@pytest.fixture
def http(service_settings: LoadSettings) -> Iterator[TestClient]:
    settings = service_settings(
        CampaignsSettings, max_template_bytes=MAX_TEMPLATE_BYTES, wechat_accounts=[account("wx1"), account("wx2")]
    )
    # An admin of wx1 by default; tests/integration/campaigns/test_api_permissions.py checks the others.
    callers = Callers.on("wx1")
    # Also an admin of wx2, so that reading wx1's campaigns through wx2 reaches the store (404).
    asyncio.run(callers.directory.grant(CLI_ACTOR, "admin-op", Role.ADMIN.value, "wx2"))
    with TestClient(create_app(settings, identity=callers.config), headers=callers.headers(Role.ADMIN)) as client:
        yield client


def image_bytes(size: tuple[int, int] = (750, 1334), image_format: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white" if mode == "RGB" else 0).save(buffer, format=image_format)
    return buffer.getvalue()


def noisy_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def new_campaign(http: TestClient, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "name": "新客邀请",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=14)).isoformat(),
        "tiers": [{"count": 3, "pool": "A"}, {"count": 10, "pool": "B"}],
    } | overrides
    response = http.post(BASE, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def upload_template(
    http: TestClient, campaign_id: str, data: bytes, layout: dict[str, Any] | None = LAYOUT, name: str = "poster.png"
) -> Any:
    """The upload, based on the campaign's current version (``If-Match`` is required)."""
    form = {} if layout is None else {"layout": json.dumps(layout)}
    return http.post(
        f"{BASE}/{campaign_id}/template",
        files={"image": (name, data, "image/png")},
        data=form,
        headers=current(http, campaign_id),
    )


def current(http: TestClient, campaign_id: str) -> dict[str, str]:
    """``If-Match`` with the version the campaign is at now."""
    return {"If-Match": http.get(f"{BASE}/{campaign_id}").headers["etag"]}


def activate(http: TestClient, campaign_id: str) -> Any:
    return http.post(f"{BASE}/{campaign_id}/activate", headers=current(http, campaign_id))


def error_locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


def test_a_campaign_goes_through_its_whole_lifecycle(http: TestClient) -> None:
    created = http.post(
        BASE,
        json={
            "name": "新客邀请",
            "starts_at": "2026-01-01T08:00:00+08:00",
            "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "join": {"follow_qr": True, "keywords": ["邀请有礼"], "menu_keys": ["CAMPAIGN"]},
            "tiers": [{"count": 3, "pool": "A"}, {"count": 10, "pool": "B"}],
            "messages": {"progress": "已邀请 {count}/{target}"},
            "rules": {"per_inviter_daily_cap": 20, "blacklist": ["o-cheat"]},
        },
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    cid = campaign["id"]
    assert created.headers["location"] == f"{BASE}/{cid}"
    assert created.headers["etag"] == '"1"'
    assert campaign["status"] == "draft" and campaign["version"] == 1
    assert campaign["starts_at"].startswith("2026-01-01T00:00:00")
    assert campaign["rules"] == {
        "first_time_followers_only": True,
        "allow_self_invite": False,
        "one_inviter_per_invitee": True,
        "revoke_if_unfollowed_within_hours": 48,
        "per_inviter_daily_cap": 20,
        "blacklist": ["o-cheat"],
    }
    assert campaign["reward_basis"] == "verified_followers"
    assert campaign["messages"]["progress"] == "已邀请 {count}/{target}"
    assert campaign["messages"]["welcome"]  # defaults fill what was left out

    not_ready = activate(http, cid)  # no template yet: every problem at once, a 422
    assert not_ready.status_code == 422 and [p["field"] for p in not_ready.json()["problems"]] == ["template"]

    uploaded = upload_template(http, cid, image_bytes())
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["image"]["width"] == 750
    assert uploaded.json()["campaign"]["template"]["qr"] == LAYOUT["qr"]
    # The nickname slot: WeChat gives no nicknames, so it is dropped from members' posters; said here.
    [note] = uploaded.json()["notes"]
    assert note["field"] == "template.text_slots.0" and "dropped from members' posters" in note["problem"]

    read = http.get(f"{BASE}/{cid}")
    assert read.status_code == 200 and read.json()["version"] == 2 and read.headers["etag"] == '"2"'

    active = http.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"2"'})
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active" and active.headers["etag"] == '"3"'

    renamed = http.patch(
        f"{BASE}/{cid}",
        json={"name": "新客邀请 · 加长", "rules": {"blacklist": ["o-cheat", "o-bot"]}},
        headers={"If-Match": '"3"'},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["rules"]["blacklist"] == ["o-bot", "o-cheat"]
    assert renamed.json()["rules"]["per_inviter_daily_cap"] == 20  # fields not given stay

    refused = http.patch(f"{BASE}/{cid}", json={"tiers": [{"count": 5, "pool": "A"}], "version": 4})
    assert refused.status_code == 409 and "pause it first" in refused.json()["detail"]
    assert upload_template(http, cid, image_bytes()).status_code == 409

    assert http.post(f"{BASE}/{cid}/pause").json()["status"] == "paused"
    assert http.post(f"{BASE}/{cid}/pause").status_code == 409
    edited = http.patch(f"{BASE}/{cid}", json={"tiers": [{"count": 5, "pool": "A"}], "version": 5})
    assert edited.status_code == 200 and edited.json()["tiers"] == [{"count": 5, "pool": "A"}]
    assert activate(http, cid).json()["status"] == "active"

    ended = http.post(f"{BASE}/{cid}/end")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    final = activate(http, cid)
    assert final.status_code == 409 and "ended" in final.json()["detail"]
    assert http.patch(f"{BASE}/{cid}", json={"name": "again", "version": 8}).status_code == 409

    other = new_campaign(http, name="第二期")
    listed = http.get(BASE).json()["items"]
    assert [c["id"] for c in listed] == [other["id"], cid]
    assert [c["id"] for c in http.get(BASE, params={"status": "ended"}).json()["items"]] == [cid]
    assert [c["id"] for c in http.get(BASE, params={"status": "draft"}).json()["items"]] == [other["id"]]
    assert http.get("/accounts/wx2/campaigns").json()["items"] == []
    assert error_locs(http.get(BASE, params={"status": "running"})) == [["query", "status"]]


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"tiers": [{"count": 3, "pool": "A"}, {"count": 3, "pool": "B"}]}, ["body", "tiers", 1, "count"]),
        ({"tiers": [{"count": 0, "pool": "A"}]}, ["body", "tiers", 0, "count"]),
        ({"ends_at": "2020-01-01T00:00:00Z"}, ["body", "ends_at"]),
        ({"starts_at": "2026-01-01T00:00:00"}, ["body", "starts_at"]),
        ({"messages": {"progress": "已邀请 {done}/{target}"}}, ["body", "messages", "progress"]),
        ({"rules": {"allow_self_invite": True}}, ["body", "rules", "allow_self_invite"]),
        ({"rules": {"revoke_if_unfollowed_within_hours": -1}}, ["body", "rules", "revoke_if_unfollowed_within_hours"]),
        ({"reward_basis": "share_screenshot"}, ["body", "reward_basis"]),
        ({"reward_basis": "share_to_moments"}, ["body", "reward_basis"]),
        ({"join": {"follow_qr": False}}, ["body", "join"]),
        ({"name": ""}, ["body", "name"]),
        ({"colour": "red"}, ["body", "colour"]),
    ],
)
def test_invalid_payloads_are_422_naming_the_field(http: TestClient, overrides: dict[str, Any], loc: list[Any]) -> None:
    now = datetime.now(UTC)
    body = {"name": "x", "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()} | overrides
    assert loc in error_locs(http.post(BASE, json=body))


def test_screenshot_rewards_are_allowed_with_the_screenshot_task(http: TestClient) -> None:
    campaign = new_campaign(http, reward_basis="share_screenshot", share_screenshot_task=True, share_reward_pool="S")
    assert campaign["reward_basis"] == "share_screenshot"


def test_template_images_are_checked_and_the_layout_must_fit(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    outside = {"qr": {"x": 600, "y": 1100, "size": 200}}
    assert error_locs(upload_template(http, cid, image_bytes(), layout=outside)) == [["body", "template", "qr"]]
    assert ["body", "layout", "qr", "size"] in error_locs(
        upload_template(http, cid, image_bytes(), layout={"qr": {"x": 0, "y": 0, "size": 10}})
    )
    assert http.get(f"{BASE}/{cid}").json()["template"] is None

    # An image alone: stored, returned with its size, and attached by a PATCH that references it.
    alone = upload_template(http, cid, image_bytes(image_format="JPEG"), layout=None, name="bg.jpg")
    assert alone.status_code == 201, alone.text
    image = alone.json()["image"]
    assert (image["content_type"], image["width"], image["height"]) == ("image/jpeg", 750, 1334)
    assert alone.json()["campaign"]["template"] is None
    patched = http.patch(f"{BASE}/{cid}", json={"template": {"image_id": image["image_id"], **LAYOUT}, "version": 1})
    assert patched.status_code == 200, patched.text
    assert patched.json()["template"]["image_id"] == image["image_id"]
    unknown = http.patch(f"{BASE}/{cid}", json={"template": {"image_id": "nope", **LAYOUT}, "version": 2})
    assert error_locs(unknown) == [["body", "template", "image_id"]]

    # A new image keeps the layout when it still fits, and is refused when it does not.
    swapped = upload_template(http, cid, image_bytes((800, 1400)), layout=None)
    assert swapped.status_code == 201 and swapped.json()["campaign"]["template"]["width"] == 800
    assert error_locs(upload_template(http, cid, image_bytes((400, 400)), layout=None)) == [["body", "template", "qr"]]
    assert http.get(f"{BASE}/{cid}").json()["template"]["width"] == 800


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"definitely not an image", "not a PNG or JPEG"),
        (b"", "empty"),
        (image_bytes(image_format="GIF", mode="P"), "not a PNG or JPEG"),
        (image_bytes()[:-20], "damaged"),
        (noisy_png(280), "at most 200000 bytes"),
        (noisy_png(400), "at most 200000 bytes"),
        (image_bytes((10_000, 5_000), mode="1"), "megapixels"),
    ],
    ids=["text", "empty", "gif", "truncated", "too-big", "far-too-big", "decompression-bomb"],
)
def test_unusable_images_are_refused_with_a_clear_422(http: TestClient, data: bytes, message: str) -> None:
    cid = new_campaign(http)["id"]
    response = upload_template(http, cid, data)
    assert error_locs(response) == [["body", "image"]]
    assert message in response.json()["detail"][0]["msg"]


def test_an_upload_without_an_image_field_is_refused(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    no_image = http.post(
        f"{BASE}/{cid}/template", files={"file": ("p.png", image_bytes(), "image/png")}, headers=current(http, cid)
    )
    assert error_locs(no_image) == [["body", "image"]]
    not_a_form = http.post(
        f"{BASE}/{cid}/template", content=image_bytes(), headers={"content-type": "image/png"} | current(http, cid)
    )
    assert error_locs(not_a_form) == [["body", "image"]]


def test_edits_from_a_stale_version_are_409(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    first = http.patch(f"{BASE}/{cid}", json={"name": "A 版"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = http.patch(f"{BASE}/{cid}", json={"name": "B 版"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
    assert http.patch(f"{BASE}/{cid}", json={"name": "B 版", "version": 1}).status_code == 409
    assert http.patch(f"{BASE}/{cid}", json={"name": "B 版"}).status_code == 428
    assert error_locs(http.patch(f"{BASE}/{cid}", json={"name": "B"}, headers={"If-Match": "*"})) == [
        ["header", "If-Match"]
    ]
    assert http.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"1"'}).status_code == 409
    assert http.get(f"{BASE}/{cid}").json()["name"] == "A 版"


def test_template_uploads_and_activation_name_the_version_they_change(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    files = {"image": ("p.png", image_bytes(), "image/png")}
    unversioned = http.post(f"{BASE}/{cid}/template", files=files, data={"layout": json.dumps(LAYOUT)})
    assert unversioned.status_code == 428 and "If-Match" in unversioned.json()["detail"]
    stale = http.post(
        f"{BASE}/{cid}/template", files=files, data={"layout": json.dumps(LAYOUT)}, headers={"If-Match": '"0"'}
    )
    assert stale.status_code == 409
    assert http.get(f"{BASE}/{cid}").json()["template"] is None  # neither changed anything
    uploaded = upload_template(http, cid, image_bytes())
    assert uploaded.status_code == 201 and uploaded.json()["campaign"]["version"] == 2
    assert http.post(f"{BASE}/{cid}/activate").status_code == 428
    assert http.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"1"'}).status_code == 409
    assert http.get(f"{BASE}/{cid}").json()["status"] == "draft"
    assert http.post(f"{BASE}/{cid}/activate", headers={"If-Match": '"2"'}).json()["status"] == "active"
    # The brakes need no version: stopping never waits for a reload.
    assert http.post(f"{BASE}/{cid}/pause").json()["status"] == "paused"


def test_unknown_campaigns_and_accounts_are_404(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    assert http.get(f"{BASE}/{cid}").status_code == 200
    for path in (f"{BASE}/nope", f"/accounts/wx2/campaigns/{cid}"):
        assert http.get(path).status_code == 404
        assert http.patch(path, json={"name": "x", "version": 1}).status_code == 404
        assert http.post(f"{path}/activate", headers={"If-Match": '"1"'}).status_code == 404
        assert http.get(f"{path}/reward-pools").status_code == 404
        assert http.post(f"{path}/reward-pools/A/generate", json={"count": 1}).status_code == 404
        assert http.post(f"{path}/reward-pools/A/codes", content=b"AAA111").status_code == 404
        template = http.post(
            f"{path}/template", files={"image": ("p.png", image_bytes(), "image/png")}, headers={"If-Match": '"1"'}
        )
        assert template.status_code == 404


def test_reward_pools_take_csv_uploads_and_generated_codes(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    pools = f"{BASE}/{cid}/reward-pools"
    assert http.get(pools).json() == [
        {"pool": "A", "total": 0, "allocated": 0, "remaining": 0, "tiers": [3]},
        {"pool": "B", "total": 0, "allocated": 0, "remaining": 0, "tiers": [10]},
    ]

    csv = "\ufeffcode,备注\nAAA111,首批\nAAA111,重复\n\nBB,太短\nCCC333,\n".encode()
    uploaded = http.post(f"{pools}/A/codes", content=csv, headers={"content-type": "text/csv"})
    assert uploaded.status_code == 200, uploaded.text
    report = uploaded.json()
    assert (report["added"], report["duplicates"], report["already_in_pool"]) == (2, 1, 0)
    assert [(r["line"], r["text"]) for r in report["rejected"]] == [(5, "BB,太短")]
    assert report["stock"] == {"pool": "A", "total": 2, "allocated": 0, "remaining": 2, "tiers": [3]}

    as_form = http.post(f"{pools}/A/codes", files={"file": ("codes.csv", b"CCC333\nDDD444\n", "text/csv")})
    assert as_form.status_code == 200, as_form.text
    assert (as_form.json()["added"], as_form.json()["already_in_pool"]) == (1, 1)

    generated = http.post(f"{pools}/B/generate", json={"count": 20})
    assert generated.status_code == 201, generated.text
    assert generated.json()["stock"]["total"] == 20
    spare = http.post(f"{pools}/spare/generate", json={"count": 5})
    assert spare.json()["stock"] == {"pool": "spare", "total": 5, "allocated": 0, "remaining": 5, "tiers": []}

    assert [(p["pool"], p["total"]) for p in http.get(pools).json()] == [("A", 3), ("B", 20), ("spare", 5)]

    assert error_locs(http.post(f"{pools}/A/codes", content=b"x\n\n")) == [["body", "file"]]
    assert error_locs(http.post(f"{pools}/A/codes", content=b"")) == [["body", "file"]]
    assert error_locs(http.post(f"{pools}/B/generate", json={"count": 0})) == [["body", "count"]]
    assert ["path", "pool"] in error_locs(http.post(f"{pools}/bad%20pool/generate", json={"count": 1}))


def test_an_ended_campaigns_pools_are_closed(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    assert upload_template(http, cid, image_bytes()).status_code == 201
    assert activate(http, cid).status_code == 200
    assert http.post(f"{BASE}/{cid}/end").status_code == 200
    assert http.post(f"{BASE}/{cid}/reward-pools/A/generate", json={"count": 1}).status_code == 409
    assert http.post(f"{BASE}/{cid}/reward-pools/A/codes", content=b"AAA111").status_code == 409


def test_every_route_is_documented_and_the_service_is_ready(http: TestClient) -> None:
    schema = http.get("/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/accounts/")
        for method, operation in item.items()
    ]
    # 25 campaign operations (with the activation check, archive and delete), 5 of a campaign's
    # share-screenshot review queue, 9 of the account's review desk (with the labelled export), 4 of
    # poster variants, 8 of the referral graph (with a flag's review), 2 of share payouts
    assert len(operations) == 25 + 5 + 9 + 4 + 8 + 2
    for path, method, operation in operations:
        assert operation.get("tags") and operation.get("summary"), (method, path)
    upload = schema["paths"]["/accounts/{appid}/campaigns/{campaign_id}/template"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"mongodb": "ok"}


def test_an_account_this_service_holds_no_credentials_for_is_404(http: TestClient) -> None:
    response = http.get("/accounts/wx-unknown/campaigns")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown account 'wx-unknown'"}
    assert http.get(BASE).status_code == 200


def test_template_uploads_above_the_services_body_cap_keep_working(http: TestClient) -> None:
    cid = new_campaign(http)["id"]
    big = noisy_png(800)  # about 1.9 MB: over MAX_BODY_BYTES (1 MiB)
    assert len(big) > 1024 * 1024
    # The route reads it under its own limit (these tests' MAX_TEMPLATE_BYTES), not the app's 413.
    uploaded = upload_template(http, cid, big, layout=None)
    assert uploaded.status_code == 422 and "image too large" in uploaded.text
    too_big_json = http.post(BASE, content=b'{"name": "' + b"x" * (1024 * 1024 + 1) + b'"}')
    assert too_big_json.status_code == 413  # every other route keeps the default cap
