"""The demo's segments and targeted push: once the members have said where they are and what they like,
segments are saved over their profiles, and a push goes to the 孕晚期 members who like 奶粉. Sizes are
checked against MongoDB counts of the same rules, and what members received against the simulator's
inboxes; nothing here is taken on the segments service's word alone."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from scrm_dev.stack import DEMO_APPID
from services.segments.adapters.profile_documents import rule_filter
from services.segments.domain.rules import parse_rule

__all__ = ["SegmentsRun", "run_segments"]

_TIMEOUT_S = 60.0
LATE_FORMULA = "孕晚期奶粉"
SEGMENTS: dict[str, dict[str, Any]] = {
    LATE_FORMULA: {"all": [{"stage_in": ["stage.pregnancy.late"]}, {"has_tag": "interest.feeding.formula"}]},
    "孕期": {"stage_in": ["stage.pregnancy.early", "stage.pregnancy.mid", "stage.pregnancy.late"]},
    "0-12月宝宝": {"stage_in": ["stage.baby.0_6m", "stage.baby.6_12m"]},
    "可营销": {"all": [{"consent": "marketing"}, {"account": DEMO_APPID}]},
}
GUIDE = "https://brand.example/late-pregnancy-formula"
#: A pushed link, signed and pointing at the click redirect (segments-public).
_CLICK_LINK = re.compile(r"https?://[^\s'\"<>]+/r/[A-Za-z0-9._~=-]+")


@dataclass
class SegmentsRun:
    sizes: dict[str, int]
    #: MongoDB's count of each rule, straight from the profile documents.
    expected_sizes: dict[str, int]
    push: dict[str, Any]
    #: Members who should have received the push (in the segment, following, consenting) and what the
    #: simulator says each received.
    expected_recipients: set[str] = field(default_factory=set)
    received: dict[str, int] = field(default_factory=dict)
    #: The brand project the push was composed for, if any.
    project_id: str | None = None
    #: Pushed links the script opened (one recipient's first click) and how many the redirect took.
    clicks: int = 0
    clicks_redirected: int = 0

    @property
    def push_id(self) -> str:
        return str(self.push.get("id", ""))

    @property
    def segment_id(self) -> str:
        return str(self.push.get("segment_id", ""))

    @property
    def sent(self) -> int:
        return int(self.push.get("stats", {}).get("total", {}).get("sent", 0))

    @property
    def failed(self) -> int:
        return sum(self.push.get("stats", {}).get("total", {}).get("failed", {}).values())

    @property
    def ok(self) -> bool:
        return (
            self.sizes == self.expected_sizes
            and self.push.get("status") == "finished"
            and self.sent == len(self.expected_recipients)
            and self.received == dict.fromkeys(self.expected_recipients, 1)
            and self.push.get("project_id") == self.project_id
            and self.clicks_redirected == self.clicks
        )


async def _count(database: Any, rule: dict[str, Any]) -> int:
    query = {"$and": [{"appid": DEMO_APPID}, rule_filter(parse_rule(rule), datetime.now(UTC))]}
    return int(await database["profiles"].count_documents(query))


async def run_segments(
    api: httpx.AsyncClient,
    sim: httpx.AsyncClient,
    database: Any,
    project_for: Callable[[int], Awaitable[str]] | None = None,
) -> SegmentsRun:
    """``project_for`` (given the targeted segment's size) makes the brand project the push is composed
    for and answers its id."""
    expected = {name: await _count(database, rule) for name, rule in SEGMENTS.items()}
    # The index follows profile.changed: wait until it agrees with MongoDB.
    sizes: dict[str, int] = {}
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        for name, rule in SEGMENTS.items():
            answer = await api.post(f"/accounts/{DEMO_APPID}/segments/preview", json={"rule": rule, "sample": 0})
            sizes[name] = int(answer.json()["size"])
        if sizes == expected:
            break
        await asyncio.sleep(0.25)
    saved: dict[str, str] = {}
    for name, rule in SEGMENTS.items():
        created = await api.post(f"/accounts/{DEMO_APPID}/segments", json={"name": name, "rule": rule})
        created.raise_for_status()
        saved[name] = created.json()["id"]
        sizes[name] = created.json()["size"]

    late = SEGMENTS[LATE_FORMULA]
    reachable = {"all": [late, {"consent": "marketing"}]}
    query = {
        "$and": [{"appid": DEMO_APPID, "follow.following": True}, rule_filter(parse_rule(reachable), datetime.now(UTC))]
    }
    recipients = {doc["openid"] async for doc in database["profiles"].find(query, {"openid": 1})}
    variants = [
        {"name": "A", "weight": 50, "message": {"kind": "text", "text": f"孕晚期奶粉指南 {GUIDE}"},
         "template": {"template_id": "tpl_guide", "data": {"thing1": "孕晚期奶粉指南"}, "url": GUIDE}},
        {"name": "B", "weight": 50, "message": {"kind": "text", "text": f"宝宝第一口奶怎么选 {GUIDE}"},
         "template": {"template_id": "tpl_guide", "data": {"thing1": "宝宝第一口奶"}, "url": GUIDE}},
    ]  # fmt: skip
    project_id = None if project_for is None else await project_for(sizes[LATE_FORMULA])
    body = {
        "name": "孕晚期奶粉指南",
        "segment_id": saved[LATE_FORMULA],
        "variants": variants,
        "quiet_hours": None,
        "project_id": project_id,
    }
    created = await api.post(f"/accounts/{DEMO_APPID}/pushes", json=body)
    created.raise_for_status()
    push_id = created.json()["id"]
    push: dict[str, Any] = {}
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        push = (await api.get(f"/accounts/{DEMO_APPID}/pushes/{push_id}")).json()
        if push["status"] in ("finished", "failed", "cancelled"):
            break
        await asyncio.sleep(0.25)

    received: dict[str, int] = {}
    links: list[str] = []
    everyone = [doc["openid"] async for doc in database["profiles"].find({"appid": DEMO_APPID}, {"openid": 1})]
    for openid in everyone:
        inbox = (await sim.get(f"/sim/accounts/{DEMO_APPID}/members/{openid}/inbox")).json()["messages"]
        got = sum(1 for m in inbox if GUIDE in str(m["payload"]) or "/r/" in str(m["payload"]))
        if got:
            received[openid] = got
            links += [link for m in inbox for link in _CLICK_LINK.findall(str(m["payload"]))][:1]
    # The first recipient opens the guide: one click through the signed redirect.
    redirected = 0
    async with httpx.AsyncClient(timeout=10.0) as browser:
        for link in links[:1]:
            answer = await browser.get(link, follow_redirects=False)
            redirected += answer.is_redirect and answer.headers.get("location", "").startswith(GUIDE)
    return SegmentsRun(sizes, expected, push, recipients, received, project_id, len(links[:1]), redirected)
