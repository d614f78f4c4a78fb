"""A member's data rights on real processes: export and erase through the members API, after which the
worker drops the member's events (no resurrection) until the member follows again."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from scrm_dev import pushes
from tests.e2e.conftest import APPID, Platform
from tests.e2e.test_walking_skeleton import eventually, send

pytestmark = pytest.mark.e2e


async def test_an_erased_member_stays_erased_until_they_follow_again(platform: Platform) -> None:
    gone, bystander = "o_rights_erased", "o_rights_bystander"
    headers = platform.operator_headers
    now = int(time.time())
    assert (await send(platform.gateway.url, gone, pushes.follow(gone, now - 60, scene="poster-1"))).text == "success"
    await eventually(platform.api.url, f"/accounts/{APPID}/members/{gone}", lambda body: True, headers=headers)

    async with httpx.AsyncClient(base_url=platform.api.url, headers=headers, timeout=30) as api:
        exported = (await api.get(f"/accounts/{APPID}/members/{gone}/export")).json()
        assert exported["collections"]["members"][0]["first_scene"] == "poster-1"
        refused = await api.post(f"/accounts/{APPID}/members/{gone}/erase", json={"confirm": "someone else"})
        assert refused.status_code == 422
        erased = await api.post(f"/accounts/{APPID}/members/{gone}/erase", json={"confirm": gone})
        assert erased.status_code == 200 and erased.json()["counts"]["members"] == {"deleted": 1}
        assert (await api.get(f"/accounts/{APPID}/members/{gone}")).status_code == 404

        # Events that happened before the erasure (late, or redelivered) do not bring the member back.
        await send(platform.gateway.url, gone, pushes.unfollow(gone, now - 30))
        await send(platform.gateway.url, gone, pushes.follow(gone, now - 20, scene="poster-2"))
        await send(platform.gateway.url, bystander, pushes.follow(bystander, now - 10))
        await eventually(platform.api.url, f"/accounts/{APPID}/members/{bystander}", lambda body: True, headers=headers)
        await asyncio.sleep(2)  # the erased member's pushes were consumed with the bystander's, or before
        assert (await api.get(f"/accounts/{APPID}/members/{gone}")).status_code == 404
        metrics = (await api.get(f"{platform.worker.url}/metrics")).text
        assert 'type="member.unfollowed"' in metrics  # it was consumed, and dropped

        # The member comes back: a follow after the erasure is theirs.
        await asyncio.sleep(1.1)
        back = int(time.time())
        await send(platform.gateway.url, gone, pushes.follow(gone, back, scene="poster-3"))
        member = await eventually(
            platform.api.url,
            f"/accounts/{APPID}/members/{gone}",
            lambda body: body.get("following") is True,
            headers=headers,
        )
        assert member["first_scene"] == "poster-3" and member["follow_count"] == 1
