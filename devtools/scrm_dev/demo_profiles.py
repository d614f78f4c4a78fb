"""The demo's member profiles: followers open the H5 link the platform sent them and say where they are
(pregnant, a baby, preparing) and what they care about; the mall reports what some of them buy. The
counts are read back from the profiles API, not from this script."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scrm_dev.stack import DEMO_APPID
from services.profiles.domain.mall_webhook import sign

__all__ = ["ProfilesRun", "run_profiles"]

_TIMEOUT_S = 60.0
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: What the members answer on the H5 page, in turn: a stage (with the date's offset from today in
#: days) and an interest.
_ANSWERS: tuple[tuple[str, int | None, str], ...] = (
    ("due_date", 250, "interest.maternity.wear"),  # early pregnancy
    ("due_date", 120, "interest.feeding.formula"),  # mid
    ("due_date", 30, "interest.feeding.formula"),  # late: the demo's push goes to these
    ("birthday", -60, "interest.feeding.breastfeeding"),  # 0-6 months
    ("birthday", -250, "interest.feeding.complementary"),  # 6-12 months
    ("birthday", -700, "interest.toys"),  # 1-3 years
    ("preparing", None, "interest.health.supplements"),
)


@dataclass
class ProfilesRun:
    answered: int
    shoppers: int
    #: Members who answered or shopped: each should have a tagged profile.
    expected_tagged: int
    stats: dict[str, Any]

    @property
    def ok(self) -> bool:
        staged = sum(self.stats.get("by_stage", {}).values())
        return int(self.stats.get("tagged", 0)) >= self.expected_tagged and staged >= self.expected_tagged


async def _invitation(sim: httpx.AsyncClient, openid: str) -> str:
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        inbox = (await sim.get(f"/sim/accounts/{DEMO_APPID}/members/{openid}/inbox")).json()["messages"]
        for message in inbox:
            found = re.search(r'href="([^"]+/h5/[^"]+)"', str(message["payload"].get("content", "")))
            if found:
                return found.group(1)
        await asyncio.sleep(0.25)
    raise TimeoutError(f"no H5 invitation reached {openid}")


async def run_profiles(
    sim: httpx.AsyncClient,
    profiles_api: httpx.AsyncClient,
    profiles_public: httpx.AsyncClient,
    openids: list[str],
    mall_secret: bytes,
) -> ProfilesRun:
    """``profiles_public`` is the public process (H5 pages, mall webhook), ``profiles_api`` the operator
    API (with the demo operator's token)."""
    today = datetime.now(UTC).date()
    answering = openids[: max(1, len(openids) // 2)]
    gate = asyncio.Semaphore(8)

    async def answer(i: int, openid: str) -> None:
        basis, offset, interest = _ANSWERS[i % len(_ANSWERS)]
        on = "" if offset is None else (today + timedelta(days=offset)).isoformat()
        form = f"basis={basis}&on={on}&interests={interest}&marketing=yes&data_use=yes"
        async with gate:
            link = await _invitation(sim, openid)
            (await profiles_public.post(link, content=form.encode(), headers=_FORM)).raise_for_status()

    await asyncio.gather(*(answer(i, openid) for i, openid in enumerate(answering)))

    # The mall reports views and orders of a third of the followers, in one signed bulk request.
    shoppers = openids[::3]
    now = datetime.now(UTC)
    events = [
        {
            "event_id": f"demo-{openid}-{n}",
            "appid": DEMO_APPID,
            "openid": openid,
            "type": kind,
            "category": category,
            "occurred_at": (now - timedelta(days=n)).isoformat(),
            **({"amount": amount} if kind == "order" else {}),
        }
        for openid in shoppers
        for n, (kind, category, amount) in enumerate(
            (("view", "stroller", 0), ("order", "diapers_s", 189.0), ("order", "formula_stage2", 328.0))
        )
    ]
    body = "\n".join(json.dumps(event) for event in events).encode()
    sent = int(time.time())
    headers = {"X-Mall-Timestamp": str(sent), "X-Mall-Signature": sign(mall_secret, sent, body)}
    (await profiles_public.post("/events/mall/bulk", content=body, headers=headers)).raise_for_status()

    expected = len(set(answering) | set(shoppers))
    # Everyone who answered has a stage, and so does every shopper once the orders are applied (an
    # inferred one): wait for all of it, not just for the first tag of each.
    staged = expected
    deadline = time.monotonic() + _TIMEOUT_S
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = (await profiles_api.get(f"/accounts/{DEMO_APPID}/profiles/stats")).json()
        if stats.get("tagged", 0) >= expected and sum(stats.get("by_stage", {}).values()) >= staged:
            break
        await asyncio.sleep(0.25)
    return ProfilesRun(len(answering), len(shoppers), expected, stats)
