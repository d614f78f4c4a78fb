"""The demo's share-poster campaign: ops set it up over the API; simulated members join, share their
posters, invite friends, send Moments screenshots of their shares, and some cheat. The results are read
back from the campaign's own stats."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image, ImageDraw

from scrm_dev.screenshot_corpus import make_share_screenshot, with_qr_painted_over
from scrm_dev.stack import DEMO_APPID
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
    #: Screenshots sent: each sender's kind (genuine, private, someone_elses, unclear).
    screenshot_kinds: dict[str, str]
    #: What the platform decided for each sender (approved, rejected, review).
    screenshot_statuses: dict[str, str]
    stats: dict[str, Any]
    campaign_id: str = ""
    #: Friends credited after the confirmation sweep: still inside their 48-hour window (pending).
    pending_friends: int = 0
    #: Seeds whose tier is granted (their friends' credits confirmed before the last seed invited).
    rewarded_seeds: int = 0

    @property
    def screenshots_judged_safely(self) -> bool:
        """Every picture decided; no cheat approved; a genuine one never rejected (review is allowed:
        the verifier sends what it is unsure of to a person)."""
        allowed = {
            "genuine": {"approved", "review"},
            "private": {"rejected", "review"},
            "someone_elses": {"rejected"},
            "unclear": {"review", "rejected"},
        }
        return self.screenshot_kinds.keys() == self.screenshot_statuses.keys() and all(
            self.screenshot_statuses[member] in allowed[kind] for member, kind in self.screenshot_kinds.items()
        )

    @property
    def tier_rewards(self) -> dict[str, int]:
        """The stats' ``rewards_granted`` expected: one tier reward per seed whose credits are confirmed."""
        return {str(_FRIENDS_PER_SEED): self.rewarded_seeds} if self.rewarded_seeds else {}

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
            and s.get("invites_pending") == self.pending_friends
            and s.get("invites_confirmed") == self.friends - self.pending_friends
            and s.get("rewards_granted", {})
            == ({str(_FRIENDS_PER_SEED): self.rewarded_seeds} if self.rewarded_seeds else {})
            and s.get("rejections", {}).get("existing_follower_scan") == self.self_scans
            and s.get("rejections", {}).get("invitee_blacklisted") == self.blacklisted
            and s.get("posters_sent", 0) >= self.seeds + self.friends
            and self.screenshots_judged_safely
            and s.get("share_rewards_granted") == s.get("screenshots", {}).get("approved", 0)
        )


def _background() -> bytes:
    image = Image.new("RGB", (750, 1334), (255, 236, 242))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 710, 300), fill=(255, 200, 214))
    # Some artwork: the screenshot check compares what surrounds the QR code with the poster.
    shapes = random.Random(2024)  # noqa: S311  (a fixed picture, not a secret)
    for _ in range(14):
        x, y, size = shapes.randint(40, 600), shapes.randint(320, 800), shapes.randint(60, 140)
        colour = (shapes.randint(120, 255), shapes.randint(80, 200), shapes.randint(120, 255))
        draw.ellipse((x, y, x + size, y + size), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def run_campaign(
    sim: httpx.AsyncClient,
    api: httpx.AsyncClient,
    platform: WeChatClient,
    seeds: int,
    confirm: Callable[[datetime], Awaitable[int]] | None = None,
) -> CampaignRun:
    """``confirm(as_of)`` runs the campaigns worker's confirmation sweep as of a later time (the demo
    cannot wait 48 hours): every seed but the last has its friends' credits confirmed and its tier
    granted; the last seed's friends follow afterwards and stay pending."""
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
            "share_screenshot_task": True,
            "share_reward_pool": "S",
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
        await api.post(
            f"{_BASE}/{campaign_id}/template",
            files=files,
            data={"layout": json.dumps(layout)},
            headers={"If-Match": created.headers["etag"]},  # edits name the version they change
        )
    ).raise_for_status()
    for pool in ("A", "S"):
        generated = await api.post(f"{_BASE}/{campaign_id}/reward-pools/{pool}/generate", json={"count": seeds + 5})
        generated.raise_for_status()
    version = (await api.get(f"{_BASE}/{campaign_id}")).headers["etag"]
    (await api.post(f"{_BASE}/{campaign_id}/activate", headers={"If-Match": version})).raise_for_status()
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

    early = seed_ids[:-1] if confirm is not None else seed_ids
    outcomes = await asyncio.gather(*(one_seed(i, seed) for i, seed in enumerate(early)))
    await _stats_until(api, campaign_id, lambda s: s["invites_credited"] >= len(early) * _FRIENDS_PER_SEED)
    # Cheat: friends who follow for the gift and leave at once; their credit is taken back.
    leavers = [f"o_quick_{i:04d}" for i in range(seeds) if i % 3 == 0]
    for i, openid in enumerate(leavers):
        poster = await poster_of(early[(i * 3) % len(early)])
        await act(openid, "poster", poster)
    credited = len(early) * _FRIENDS_PER_SEED + len(leavers)
    await _stats_until(api, campaign_id, lambda s: s["invites_credited"] == credited)
    for openid in leavers:
        await act(openid, "unfollow")
    await _stats_until(api, campaign_id, lambda s: s["invites_revoked"] == len(leavers))
    rewarded = 0
    if confirm is not None:
        # verified_followers: credits count once the friends stayed 48 hours; the sweep as of then.
        await confirm(datetime.now(UTC) + timedelta(hours=49))
        rewarded = len(early)
        outcomes.append(await one_seed(len(early), seed_ids[-1]))  # the last seed's friends: pending
        await _stats_until(
            api, campaign_id, lambda s: s["invites_credited"] == seeds * _FRIENDS_PER_SEED and s["invites_pending"]
        )

    # Seeds send screenshots of their Moments posts; some cheat, some are unclear.
    kinds: dict[str, str] = {}
    shots: dict[int, bytes] = {}
    for i, seed in enumerate(seed_ids):
        issued = Image.open(io.BytesIO(base64.b64decode((await poster_of(seed))["png_base64"])))
        kind = _screenshot_kind(i)
        phone = random.Random(i)  # noqa: S311  (each member's own screen, reproducibly)
        shot = make_share_screenshot(issued, phone, private=kind == "private")
        shots[i] = shot
        if kind == "someone_elses" and i > 0:
            shot = shots[i - 1]  # the previous member's screenshot
        elif kind == "unclear":
            shot = with_qr_painted_over(shot)
        kinds[seed] = kind
        await act(seed, "image", {"png_base64": base64.b64encode(shot).decode()})
    stats = await _stats_until(api, campaign_id, lambda s: sum(s["screenshots"].values()) == seeds)
    listed: list[dict[str, Any]] = []
    while True:
        page = await api.get(f"{_BASE}/{campaign_id}/screenshots", params={"limit": 200, "offset": len(listed)})
        items = page.raise_for_status().json()["items"]
        listed += items
        if len(items) < 200:
            break
    return CampaignRun(
        seeds=seeds,
        friends=seeds * _FRIENDS_PER_SEED,
        quick_leavers=len(leavers),
        self_scans=sum(o[0] for o in outcomes),
        blacklisted=sum(o[1] for o in outcomes),
        screenshot_kinds=kinds,
        screenshot_statuses={item["openid"]: item["status"] for item in listed},
        stats=stats,
        campaign_id=campaign_id,
        pending_friends=_FRIENDS_PER_SEED if confirm is not None else seeds * _FRIENDS_PER_SEED,
        rewarded_seeds=rewarded,
    )


def _screenshot_kind(i: int) -> str:
    """Most members share honestly; every fifth sends someone else's or a private post; a few are unclear."""
    if i % 10 == 7:
        return "unclear"
    if i % 5 == 3 and i > 0:
        return "someone_elses"
    if i % 5 == 4:
        return "private"
    return "genuine"


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
