"""The demo's share-poster campaign: ops set it up over the API; simulated members join, share their
posters, invite friends, and some cheat. The results are read back from the campaign's own stats."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image, ImageDraw

from scrm.stack import DEMO_APPID
from shared.wechat_client import WeChatClient

_BASE = f"/accounts/{DEMO_APPID}/campaigns"
_FRIENDS_PER_SEED = 3
_TIMEOUT_S = 120.0


@dataclass
class CampaignRun:
    """What the script did (expected) and what the platform reports (observed)."""

    seeds: int
    friends: int
    quick_leavers: int
    self_scans: int
    blacklisted: int
    stats: dict[str, Any]

    @property
    def new_members(self) -> int:
        return self.seeds + self.friends + self.quick_leavers + self.blacklisted

    @property
    def still_following(self) -> int:
        return self.seeds + self.friends + self.blacklisted

    @property
    def ok(self) -> bool:
        s = self.stats
        return (
            s.get("invites_credited") == self.friends
            and s.get("invites_revoked") == self.quick_leavers
            and s.get("rewards_granted") == {str(_FRIENDS_PER_SEED): self.seeds}
            and s.get("rejections", {}).get("existing_follower_scan") == self.self_scans
            and s.get("rejections", {}).get("invitee_blacklisted") == self.blacklisted
            and s.get("posters_sent", 0) >= self.seeds + self.friends
        )


def _background() -> bytes:
    image = Image.new("RGB", (750, 1334), (255, 236, 242))
    ImageDraw.Draw(image).rectangle((40, 40, 710, 300), fill=(255, 200, 214))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def run_campaign(
    sim: httpx.AsyncClient, api: httpx.AsyncClient, platform: WeChatClient, seeds: int
) -> CampaignRun:
    now = datetime.now(UTC)
    created = await api.post(
        _BASE,
        json={
            "name": "宝妈邀请有礼",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=14)).isoformat(),
            "join": {"follow_qr": True, "keywords": ["任务宝"]},
            "tiers": [{"count": _FRIENDS_PER_SEED, "pool": "A"}],
            "rules": {"blacklist": ["o_cheat_black"]},
        },
    )
    created.raise_for_status()
    campaign_id = created.json()["id"]
    layout = {
        "qr": {"x": 255, "y": 900, "size": 240},
        "text_slots": [{"name": "campaign_name", "x": 80, "y": 120, "font_size": 48}],
    }
    files = {"image": ("poster.png", _background(), "image/png")}
    (
        await api.post(f"{_BASE}/{campaign_id}/template", files=files, data={"layout": json.dumps(layout)})
    ).raise_for_status()
    (await api.post(f"{_BASE}/{campaign_id}/reward-pools/A/generate", json={"count": seeds + 5})).raise_for_status()
    (await api.post(f"{_BASE}/{campaign_id}/activate")).raise_for_status()
    ticket = (await api.get(f"{_BASE}/{campaign_id}/join-qr")).json()["ticket"]

    async def act(openid: str, action: str, body: dict[str, Any] | None = None) -> None:
        response = await sim.post(f"/sim/accounts/{DEMO_APPID}/members/{openid}/{action}", json=body)
        response.raise_for_status()

    async def poster_of(openid: str) -> dict[str, str]:
        deadline = time.monotonic() + _TIMEOUT_S
        while time.monotonic() < deadline:
            inbox = (await sim.get(f"/sim/accounts/{DEMO_APPID}/members/{openid}/inbox")).json()["messages"]
            images = [m for m in inbox if m["msgtype"] == "image"]
            if images:
                picture = await platform.get_media(images[0]["payload"]["media_id"])
                return {"png_base64": base64.b64encode(picture).decode()}
            await asyncio.sleep(0.25)
        raise TimeoutError(f"no poster reached {openid}")

    seed_ids = [f"o_mom_{i:04d}" for i in range(seeds)]
    gate = asyncio.Semaphore(8)

    async def one_seed(i: int, seed: str) -> tuple[int, int]:
        async with gate:
            await act(seed, "follow", {"ticket": ticket})
        poster = await poster_of(seed)
        async with gate:
            for n in range(_FRIENDS_PER_SEED):
                await act(f"o_friend_{i:04d}_{n}", "poster", poster)
            if i % 4 == 0:  # cheat: scanning one's own poster (a SCAN: recorded, never credited)
                await act(seed, "poster", poster)
            if i == 0:  # cheat: a blacklisted friend
                await act("o_cheat_black", "poster", poster)
        return (1 if i % 4 == 0 else 0), (1 if i == 0 else 0)

    outcomes = await asyncio.gather(*(one_seed(i, seed) for i, seed in enumerate(seed_ids)))
    await _stats_until(api, campaign_id, lambda s: s["invites_credited"] >= seeds * _FRIENDS_PER_SEED)
    # Cheat: friends who follow for the gift and leave at once; their credit is taken back.
    leavers = [f"o_quick_{i:04d}" for i in range(seeds) if i % 3 == 0]
    for i, openid in enumerate(leavers):
        poster = await poster_of(seed_ids[i * 3])
        await act(openid, "poster", poster)
    await _stats_until(api, campaign_id, lambda s: s["invites_credited"] == seeds * _FRIENDS_PER_SEED + len(leavers))
    for openid in leavers:
        await act(openid, "unfollow")
    stats = await _stats_until(api, campaign_id, lambda s: s["invites_revoked"] == len(leavers))
    return CampaignRun(
        seeds=seeds,
        friends=seeds * _FRIENDS_PER_SEED,
        quick_leavers=len(leavers),
        self_scans=sum(o[0] for o in outcomes),
        blacklisted=sum(o[1] for o in outcomes),
        stats=stats,
    )


async def _stats_until(api: httpx.AsyncClient, campaign_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + _TIMEOUT_S
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = (await api.get(f"{_BASE}/{campaign_id}/stats")).json()
        if done(stats):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1.0)  # let stragglers (rejections, rewards) land before reading for good
    final: dict[str, Any] = (await api.get(f"{_BASE}/{campaign_id}/stats")).json()
    return final
