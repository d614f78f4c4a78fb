"""Delayed share-reward payouts end to end (issue 21 item 7): members send Moments screenshots to the
simulated account; approved ones wait for their payout; the payout sweep (``scrm campaigns pay-shares
--as-of``, as the worker runs it on its timer) asks each for a re-check; a fresh screenshot of the same
post, hours later, passes and is paid once; a member whose post is gone (who can only send the old
screenshot again) and one who never answers get nothing."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from scrm_dev.recheck_screenshots import post_screenshot
from tests.e2e.campaign_stack import APPID, BASE, SimulatedMembers, eventually, scrm, stack_clients
from tests.e2e.test_referral_campaign import campaign_cli_env
from tests.e2e.test_share_screenshots import artwork

pytestmark = pytest.mark.e2e

PAYOUT = {"delay_hours": 2, "recheck": "all", "recheck_after_hours": 1, "recheck_deadline_hours": 24}


async def set_up(api: httpx.AsyncClient) -> str:
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
            "share_payout": PAYOUT,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["share_payout"] == PAYOUT | {"recheck_percent": 10}
    campaign_id: str = created.json()["id"]
    layout = {"qr": {"x": 475, "y": 1059, "size": 240}, "text_slots": []}
    uploaded = await api.post(
        f"{BASE}/{campaign_id}/template",
        files={"image": ("bg.png", artwork(), "image/png")},
        data={"layout": json.dumps(layout)},
        headers={"If-Match": created.headers["etag"]},
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    for pool in ("A", "S"):
        generated = await api.post(f"{BASE}/{campaign_id}/reward-pools/{pool}/generate", json={"count": 5})
        assert generated.status_code == 201, generated.text
    version = (await api.get(f"{BASE}/{campaign_id}")).headers["etag"]
    activated = await api.post(f"{BASE}/{campaign_id}/activate", headers={"If-Match": version})
    assert activated.status_code == 200, activated.text
    return campaign_id


async def test_share_rewards_are_paid_after_a_recheck_and_never_for_a_post_that_is_gone(
    stack: dict[str, str], operator_headers: dict[str, str], infra_env: dict[str, str], tmp_path: Path
) -> None:
    async with stack_clients(stack, operator_headers) as (api, sim, _gateway, platform):
        campaign_id = await set_up(api)
        join_qr = (await api.get(f"{BASE}/{campaign_id}/join-qr")).json()
        members = SimulatedMembers(sim)
        act = members.act
        who = ("o_keep", "o_gone", "o_silent")

        async def texts_with(openid: str, needle: str) -> list[str]:
            async def check() -> list[str] | None:
                texts = [m["payload"]["content"] for m in await members.inbox(openid) if m["msgtype"] == "text"]
                found = [text for text in texts if needle in text]
                return found or None

            found: list[str] = await eventually(check, f"{needle!r} in {openid}'s inbox", within=120)
            return found

        async def poster_of(openid: str) -> Image.Image:
            async def check() -> str | None:
                images = [m["payload"]["media_id"] for m in await members.inbox(openid) if m["msgtype"] == "image"]
                return images[0] if images else None

            media_id: str = await eventually(check, f"{openid}'s poster")
            return Image.open(io.BytesIO(await platform.get_media(media_id)))

        def as_body(image: bytes) -> dict[str, str]:
            return {"png_base64": base64.b64encode(image).decode()}

        async def payout(openid: str) -> dict[str, Any]:
            found = await api.get(f"{BASE}/{campaign_id}/share-payouts/{openid}")
            assert found.status_code == 200, found.text
            answer: dict[str, Any] = found.json()
            return answer

        env = campaign_cli_env(infra_env, stack, tmp_path)

        async def pay_shares(hours: float) -> str:
            as_of = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
            swept = await asyncio.to_thread(scrm, "campaigns", "pay-shares", "--as-of", as_of, env=env, cwd=tmp_path)
            assert swept.returncode == 0, swept.stdout + swept.stderr
            return swept.stdout

        for member in who:
            await act(member, "follow", {"ticket": join_qr["ticket"]})
        posters = {member: await poster_of(member) for member in who}
        # Each member's own post on their own phone, as it looked right after posting.
        first = {member: post_screenshot(posters[member], seed, "刚刚") for seed, member in enumerate(who)}
        for member in who:
            await act(member, "image", as_body(first[member]))
            await texts_with(member, "小时后发放")  # approved: paid later, nothing yet
        assert {(await payout(member))["state"] for member in who} == {"waiting"}
        rewards = (await api.get(f"{BASE}/{campaign_id}/rewards")).json()
        assert [r for r in rewards if r["tier"] == 0] == []

        # An hour and a half later (the sweep, as of then): each is asked for a re-check.
        assert "re-checks asked 3; re-checks expired 0; share rewards paid 0" in await pay_shares(1.5)
        for member in who:
            await texts_with(member, "复查")
        assert {(await payout(member))["state"] for member in who} == {"recheck_requested"}

        # The post is still there, three hours old: the same post, not a copy of her own first picture.
        await act("o_keep", "image", as_body(post_screenshot(posters["o_keep"], 0, "3小时前")))
        await texts_with("o_keep", "复查通过")
        kept = await payout("o_keep")
        assert kept["state"] == "recheck_passed" and kept["recheck_submission"]
        # The post was deleted: all they can send is the old screenshot, which is no fresh one.
        await act("o_gone", "image", as_body(first["o_gone"]))
        await texts_with("o_gone", "重新截取")
        assert (await payout("o_gone"))["state"] == "recheck_requested"

        # A day later: the kept post is paid, the others' deadlines have passed.
        assert "re-checks asked 0; re-checks expired 2; share rewards paid 1" in await pay_shares(25)
        assert "re-checks asked 0; re-checks expired 0; share rewards paid 0" in await pay_shares(25)  # once
        [paid] = await texts_with("o_keep", "奖励券码")
        rewards = (await api.get(f"{BASE}/{campaign_id}/rewards")).json()
        share = [r for r in rewards if r["tier"] == 0]
        assert [r["openid"] for r in share] == ["o_keep"] and share[0]["code"] in paid
        for member in ("o_gone", "o_silent"):
            [forfeited] = await texts_with(member, "未能发放")
            assert "未在期限内发送复查截图" in forfeited
            assert (await payout(member))["state"] == "recheck_expired"

        stats = (await api.get(f"{BASE}/{campaign_id}/stats")).json()
        assert stats["share_payouts"] == {
            "pending": 0,
            "paid": 1,
            "rechecks_requested": 3,
            "rechecks_awaited": 0,
            "rechecks_passed": 1,
            "rechecks_failed": 0,
            "rechecks_expired": 2,
        }
        assert stats["share_rewards_granted"] == 1
        member_view = (await api.get(f"/accounts/{APPID}/members/o_keep/campaigns")).json()
        assert member_view["items"][0]["share_payout"]["state"] == "paid"
