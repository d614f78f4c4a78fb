"""Share screenshots end to end: members send Moments screenshots to the simulated account; the campaign
worker fetches them from the simulator (media/get), decides, rewards and replies; ops settle the unclear
ones through the review API."""

from __future__ import annotations

import base64
import io
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
import zxingcpp
from PIL import Image
from pymongo.database import Database

from scrm_dev.screenshot_corpus import make_share_screenshot, with_qr_painted_over
from tests.e2e.campaign_stack import (
    APPID,
    BASE,
    OPERATOR,
    SimulatedMembers,
    background,
    eventually,
    stack_clients,
)

pytestmark = pytest.mark.e2e


async def set_up_share_campaign(api: httpx.AsyncClient) -> str:
    now = datetime.now(UTC)
    created = await api.post(
        BASE,
        json={
            "name": "晒图有礼",
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
            "tiers": [{"count": 3, "pool": "A"}],
            "share_screenshot_task": True,
            "share_reward_pool": "S",
        },
    )
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    layout = {"qr": {"x": 475, "y": 1059, "size": 240}, "text_slots": []}
    uploaded = await api.post(
        f"{BASE}/{campaign_id}/template",
        files={"image": ("bg.png", artwork(), "image/png")},
        data={"layout": json.dumps(layout)},
        headers={"If-Match": created.headers["etag"]},  # edits name the version they change
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    for pool in ("A", "S"):
        generated = await api.post(f"{BASE}/{campaign_id}/reward-pools/{pool}/generate", json={"count": 5})
        assert generated.status_code == 201, generated.text
    version = (await api.get(f"{BASE}/{campaign_id}")).headers["etag"]
    activated = await api.post(f"{BASE}/{campaign_id}/activate", headers={"If-Match": version})
    assert activated.status_code == 200, activated.text
    return campaign_id


def artwork() -> bytes:
    """A background with some structure: the verifier checks the artwork around the QR code."""
    picture = Image.open(io.BytesIO(background())).convert("RGB")
    pixels = np.asarray(picture).copy()
    rng = np.random.default_rng(5)
    for _ in range(24):
        x, y = int(rng.integers(0, 650)), int(rng.integers(0, 950))
        pixels[y : y + 100, x : x + 100] = rng.integers(0, 255, 3)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def without_qr(screenshot: bytes) -> bytes:
    """The screenshot with its QR code painted over: the poster is there, whose it is cannot be read."""
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(screenshot))), "the genuine screenshot's QR code should decode"
    return with_qr_painted_over(screenshot)


async def test_members_send_screenshots_the_platform_decides_rewards_once_and_ops_settle_the_rest(
    stack: dict[str, str], operator_headers: dict[str, str], mongo_database: Database[dict[str, Any]]
) -> None:
    async with stack_clients(stack, operator_headers) as (api, sim, gateway, platform):
        campaign_id = await set_up_share_campaign(api)
        join_qr = (await api.get(f"{BASE}/{campaign_id}/join-qr")).json()

        members = SimulatedMembers(sim)
        act = members.act

        async def texts(openid: str) -> list[str]:
            return [m["payload"]["content"] for m in await members.inbox(openid) if m["msgtype"] == "text"]

        async def texts_with(openid: str, needle: str, count: int = 1) -> list[str]:
            async def check() -> list[str] | None:
                found = [text for text in await texts(openid) if needle in text]
                return found if len(found) >= count else None

            found: list[str] = await eventually(check, f"{needle!r} in {openid}'s inbox", within=90)
            return found

        async def poster_of(openid: str) -> bytes:
            async def check() -> str | None:
                images = [m["payload"]["media_id"] for m in await members.inbox(openid) if m["msgtype"] == "image"]
                return images[0] if images else None

            media_id: str = await eventually(check, f"{openid}'s poster")
            return await platform.get_media(media_id)

        def as_body(image: bytes) -> dict[str, str]:
            return {"png_base64": base64.b64encode(image).decode()}

        for member in ("o_mom", "o_cheat", "o_blurry"):
            await act(member, "follow", {"ticket": join_qr["ticket"]})
        posters = {member: await poster_of(member) for member in ("o_mom", "o_cheat", "o_blurry")}
        shots = {
            # Each member's own phone: their avatar, nickname and words around the poster.
            member: make_share_screenshot(Image.open(io.BytesIO(poster)), random.Random(seed), dark=False, view="feed")
            for seed, (member, poster) in enumerate(posters.items())
        }

        # A genuine screenshot: approved, one share-reward code, even when the platform retries the push.
        sent = await act("o_mom", "image", as_body(shots["o_mom"]))
        approved = await texts_with("o_mom", "审核通过")
        retried = await gateway.post(f"/wechat/{APPID}", params=sent["params"], content=sent["body"].encode())
        assert retried.status_code == 200
        rewards = (await api.get(f"{BASE}/{campaign_id}/rewards")).json()
        share_rewards = [r for r in rewards if r["tier"] == 0]
        assert len(share_rewards) == 1 and share_rewards[0]["openid"] == "o_mom"
        assert share_rewards[0]["code"] in approved[0]

        # Sending another after approval earns nothing more.
        await act("o_mom", "image", as_body(shots["o_mom"]))
        await texts_with("o_mom", "无需重复发送")

        # A cheater sends the inviter's screenshot: rejected with a reason, no reward.
        await act("o_cheat", "image", as_body(shots["o_mom"]))
        rejected = await texts_with("o_cheat", "未通过")
        assert "不是您的专属海报" in rejected[0]

        # The poster is there but its code cannot be read: a person decides.
        await act("o_blurry", "image", as_body(without_qr(shots["o_blurry"])))
        await texts_with("o_blurry", "人工审核")
        queue = (await api.get(f"{BASE}/{campaign_id}/screenshots", params={"status": "review"})).json()
        assert queue["counts"] == {"approved": 1, "rejected": 1, "review": 1}
        [item] = queue["items"]
        assert item["openid"] == "o_blurry" and [r["code"] for r in item["reasons"]] == ["qr_unreadable"]
        path = f"{BASE}/{campaign_id}/screenshots/{item['id']}"
        detail = (await api.get(path)).json()
        assert "poster" in detail["evidence"]["boxes"] and detail["audit"][0]["actor"] == "auto"
        picture = await api.get(detail["image_url"], params={"annotated": "true"})
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"

        # The reviewer is the operator whose token signs the call; a "reviewer" in the body is ignored.
        settled = await api.post(path + "/approve", json={"reviewer": "ops-li", "note": "海报清晰可见"})
        assert settled.status_code == 200, settled.text
        assert settled.json()["status"] == "approved" and settled.json()["decided_by"] == OPERATOR
        await texts_with("o_blurry", "审核通过")
        again = await api.post(path + "/reject", json={})
        assert again.status_code == 409
        trail = (await api.get(path)).json()["audit"]
        assert [(entry["actor"], entry["decision"]) for entry in trail] == [("auto", "review"), (OPERATOR, "approve")]

        rewards = (await api.get(f"{BASE}/{campaign_id}/rewards")).json()
        assert sorted(r["openid"] for r in rewards if r["tier"] == 0) == ["o_blurry", "o_mom"]
        assert len(await texts_with("o_mom", "奖励券码")) == 1  # one reward message, whatever else was said

        # The approval granted a reward: the audit log keeps who decided, with their name.
        [decision] = list(mongo_database["audit_log"].find({"action": "screenshot.approved"}))
        assert (decision["actor_name"], decision["object_id"], decision["appid"]) == (OPERATOR, item["id"], APPID)
        assert decision["after"]["status"] == "approved" and decision["after"]["note"] == "海报清晰可见"
