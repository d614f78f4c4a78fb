"""The demo's A/B poster campaign and a referral ring: ops give one campaign two posters and read which
converts; two members trade follows across campaigns and the referral graph flags them as a ring.

Reads everything back from the campaigns API (the variants' figures, the graph's flags)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image, ImageDraw

from shared.wechat_client import WeChatClient

_TIMEOUT_S = 120.0


@dataclass
class GraphRun:
    """What the script did (expected) and what the platform reports (observed)."""

    seeds: int
    friends: int
    #: Per variant: members, scans, follows, credited (the campaigns API's figures).
    poster_variants: dict[str, dict[str, int]]
    #: Flags of the referral graph by kind.
    flags: dict[str, int]
    ring_members: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)
    campaign_id: str = ""

    @property
    def rings_flagged(self) -> int:
        return self.flags.get("ring", 0)

    @property
    def new_members(self) -> int:
        return self.seeds + self.friends

    @property
    def ok(self) -> bool:
        figures = self.poster_variants.values()
        return (
            set(self.poster_variants) >= {"a", "b"}
            and sum(f["members"] for f in figures) >= self.seeds + self.friends
            and sum(f["credited"] for f in figures) == self.friends
            and self.rings_flagged >= 1
            and bool(self.frozen)
        )


def _poster(colour: tuple[int, int, int], title: str) -> bytes:
    image = Image.new("RGB", (750, 1334), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, 690, 360), fill=(255, 255, 255))
    draw.text((90, 180), title, fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def run_graph(
    sim: httpx.AsyncClient, api: httpx.AsyncClient, platform: WeChatClient, appid: str, seeds: int
) -> GraphRun:
    """One A/B poster campaign (``seeds`` members, 1–3 friends each) and a ring across two campaigns."""
    base = f"/accounts/{appid}/campaigns"
    now = datetime.now(UTC)
    dates = {"starts_at": (now - timedelta(minutes=1)).isoformat(), "ends_at": (now + timedelta(days=14)).isoformat()}
    layout = {"qr": {"x": 255, "y": 900, "size": 240}, "text_slots": []}

    async def campaign(body: dict[str, Any], background: bytes) -> str:
        created = await api.post(base, json=dates | body)
        created.raise_for_status()
        campaign_id: str = created.json()["id"]
        files = {"image": ("poster.png", background, "image/png")}
        uploaded = await api.post(
            f"{base}/{campaign_id}/template",
            files=files,
            data={"layout": json.dumps(layout)},
            headers={"If-Match": created.headers["etag"]},
        )
        uploaded.raise_for_status()
        return campaign_id

    async def activate(campaign_id: str, pool: str) -> None:
        generated = await api.post(f"{base}/{campaign_id}/reward-pools/{pool}/generate", json={"count": seeds + 5})
        generated.raise_for_status()
        version = (await api.get(f"{base}/{campaign_id}")).headers["etag"]
        (await api.post(f"{base}/{campaign_id}/activate", headers={"If-Match": version})).raise_for_status()

    # The A/B campaign: its own poster (a) and a second one (b), given half and half.
    ab = await campaign(
        {"name": "海报 A/B 测试", "join": {"follow_qr": True}, "tiers": [{"count": 3, "pool": "V"}]},
        _poster((255, 236, 242), "A"),
    )
    added = await api.post(
        f"{base}/{ab}/variants/b/template",
        files={"image": ("b.png", _poster((220, 236, 255), "B"), "image/png")},
        data={"weight": "1"},
    )
    added.raise_for_status()
    await activate(ab, "V")
    # A second campaign that also credits returning followers: where the ring closes.
    other = await campaign(
        {
            "name": "老带新互助",
            "join": {"follow_qr": False, "keywords": ["互助"]},
            "tiers": [{"count": 3, "pool": "W"}],
            "rules": {"first_time_followers_only": False},
        },
        _poster((236, 255, 236), "C"),
    )
    await activate(other, "W")
    ticket = (await api.get(f"{base}/{ab}/join-qr")).json()["ticket"]

    async def act(openid: str, action: str, body: dict[str, Any] | None = None) -> None:
        response = await sim.post(f"/sim/accounts/{appid}/members/{openid}/{action}", json=body)
        response.raise_for_status()

    async def poster_of(openid: str, skip: int = 0) -> dict[str, str]:
        """The member's poster (``skip`` earlier ones: a member of two campaigns has two)."""
        deadline = time.monotonic() + _TIMEOUT_S
        while time.monotonic() < deadline:
            inbox = (await sim.get(f"/sim/accounts/{appid}/members/{openid}/inbox")).json()["messages"]
            images = [m for m in inbox if m["msgtype"] == "image"]
            if len(images) > skip:
                picture = await platform.get_media(images[skip]["payload"]["media_id"])
                return {"png_base64": base64.b64encode(picture).decode()}
            await asyncio.sleep(0.25)
        raise TimeoutError(f"no poster reached {openid}")

    seed_ids = [f"o_ab_{i:04d}" for i in range(seeds)]
    friends = 0
    for i, seed in enumerate(seed_ids):
        await act(seed, "follow", {"ticket": ticket})
        poster = await poster_of(seed)
        for n in range(i % 3 + 1):
            await act(f"o_ab_friend_{i:04d}_{n}", "poster", poster)
            friends += 1

    async def variants() -> dict[str, Any]:
        answer: dict[str, Any] = (await api.get(f"{base}/{ab}/variants")).raise_for_status().json()
        return answer

    deadline = time.monotonic() + _TIMEOUT_S
    report = await variants()
    while sum(v["credited"] for v in report["variants"]) < friends and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        report = await variants()

    # The ring: the first seed's friend joins the other campaign and brings the seed back (who left and
    # follows again through the friend's poster): each was credited for the other.
    seed, friend = seed_ids[0], "o_ab_friend_0000_0"
    await poster_of(friend)  # the friend's A/B poster arrived: their own participation is there
    await act(friend, "text", {"content": "互助"})
    their_poster = await poster_of(friend, skip=1)
    await act(seed, "unfollow")
    await act(seed, "poster", their_poster)
    graph = f"/accounts/{appid}/referral-graph"
    flags: dict[str, Any] = {}
    while time.monotonic() < deadline:
        flags = (await api.get(f"{graph}/flags")).raise_for_status().json()
        if flags["counts"].get("ring"):
            break
        await asyncio.sleep(0.25)
    rings = [flag for flag in flags.get("items", []) if flag["kind"] == "ring"]
    frozen: list[str] = []
    for member in rings[0]["inviters"] if rings else []:
        answer = await api.post(f"{graph}/inviters/{member}/freeze", json={"reason": "demo: ring across campaigns"})
        if answer.status_code in (201, 409):
            frozen.append(member)
    return GraphRun(
        seeds=seeds,
        friends=friends,
        poster_variants={
            v["key"]: {name: v[name] for name in ("members", "scans", "follows", "credited", "confirmed")}
            for v in report["variants"]
        },
        flags=dict(flags.get("counts", {})),
        ring_members=rings[0]["members"] if rings else [],
        frozen=frozen,
        campaign_id=ab,
    )
