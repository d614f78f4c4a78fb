"""A push that waits for the window, end to end (issue 21 item 10): two simulated members of a segment,
one who last interacted two and a half days ago; a push with only a customer-service message and
``wait_for_window_hours`` reaches the recent one at once and keeps the other ``waiting``; when that
member writes to the account (simulator → gateway → Kafka → the segments worker), the message goes
to them through the simulator, counted ``sent_after_wait``, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from tests.e2e.campaign_stack import APPID, SimulatedMembers, eventually
from tests.e2e.test_targeted_pushes import RULE, create_push, finished, join, pushed, stack

pytestmark = pytest.mark.e2e

__all__ = ["stack"]  # the targeted pushes' stack: gateway, profiles, segments and the simulator

GUIDE = "https://brand.example/late-pregnancy-formula"


async def test_a_member_outside_the_window_gets_the_push_when_they_next_write(
    stack: dict[str, str], operator_headers: dict[str, str], infra_env: dict[str, str]
) -> None:
    async with (
        httpx.AsyncClient(base_url=stack["wechat-sim"], timeout=30) as sim,
        httpx.AsyncClient(base_url=stack["segments-api"], headers=operator_headers, timeout=30) as api,
        httpx.AsyncClient(timeout=30) as browser,
    ):
        members = SimulatedMembers(sim)
        for openid in ("o_near", "o_far"):
            await join(members, browser, openid, weeks_left=5)

        async def segment_ready() -> int | None:
            preview = (await api.post(f"/accounts/{APPID}/segments/preview", json={"rule": RULE})).json()
            return preview["size"] if preview["size"] == 2 else None

        await eventually(segment_ready, "both members in the live index")

        # o_far last spoke to the account two and a half days ago (the platform's window is closed too):
        # written on the profile once the H5 form's consent is there (nothing touches it afterwards).
        long_ago = datetime.now(UTC) - timedelta(hours=60)
        mongo: MongoClient[dict[str, Any]]
        with MongoClient[dict[str, Any]](infra_env["MONGODB_URL"]) as mongo:
            profiles_collection = mongo[infra_env["MONGODB_DATABASE"]]["profiles"]
            far = {"appid": APPID, "openid": "o_far", "consents.marketing.given": True}

            async def consented() -> bool:
                return profiles_collection.find_one(far) is not None

            assert await eventually(consented, "o_far's marketing consent on the profile")
            updated = profiles_collection.update_one(far, {"$set": {"last_active_at": long_ago}})
            assert updated.matched_count == 1

        segment = (await api.post(f"/accounts/{APPID}/segments", json={"name": "孕晚期奶粉", "rule": RULE})).json()
        variants = [{"name": "A", "message": {"kind": "text", "text": f"孕晚期奶粉指南 {GUIDE}"}}]
        push = await create_push(api, segment["id"], variants, wait_for_window_hours=24)
        first = await finished(api, push)
        total = first["stats"]["total"]
        assert (total["sent"], total["waiting"], first["wait_for_window_hours"]) == (1, 1, 24)
        assert "skipped" not in total or "outside_window" not in total["skipped"]
        assert len(pushed(await members.inbox("o_near"))) == 1
        assert pushed(await members.inbox("o_far")) == []

        await members.act("o_far", "text", {"content": "奶粉怎么选"})

        async def sent_after_wait() -> dict[str, Any] | None:
            stats: dict[str, Any] = (await api.get(f"/accounts/{APPID}/pushes/{push}")).json()["stats"]["total"]
            return stats if stats.get("sent_after_wait") == 1 else None

        after = await eventually(sent_after_wait, "the waiting member's push after they wrote")
        assert (after["waiting"], after["sent"], after["channels"]) == (0, 2, {"customer_service": 2})
        assert len(pushed(await members.inbox("o_far"))) == 1
        delivery = (await api.get(f"/accounts/{APPID}/pushes/{push}/deliveries", params={"status": "sent"})).json()
        assert sorted(d["openid"] for d in delivery) == ["o_far", "o_near"]

        # Another message: nothing more (at most once).
        await members.act("o_far", "text", {"content": "谢谢"})
        await members.act("o_near", "text", {"content": "谢谢"})
        again = (await api.get(f"/accounts/{APPID}/pushes/{push}")).json()["stats"]["total"]
        assert again["sent"] == 2
        assert len(pushed(await members.inbox("o_far"))) == 1
