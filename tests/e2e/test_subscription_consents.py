"""Subscription-message consents end to end (issue 21 item 5): simulated members answer the platform's
popup (accept, reject) or switch the notice off in their settings; each push travels simulator →
gateway → Kafka → the segments worker, which keeps the consents. A push with a subscription message
reaches only the member with an unused consent (the others are skipped before the platform is asked:
one ``bizsend`` call in all), the consent is used up by it, and a second push skips that member too
without calling the platform."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.campaign_stack import APPID, SimulatedMembers, eventually
from tests.e2e.test_targeted_pushes import RULE, create_push, finished, join, stack

pytestmark = pytest.mark.e2e

__all__ = ["stack"]  # the targeted pushes' stack: gateway, profiles, segments and the simulator

TPL = "TPL_CHECKUP"
MEMBERS = ("o_yes", "o_none", "o_rej", "o_off")
NOTICE = {"template_id": TPL, "data": {"thing1": "产检提醒"}, "page": "pages/checkup"}
VARIANTS = [{"name": "S", "subscription": NOTICE}]
#: Caps out of the way: a second push the same day is about consents, not caps.
CAP = {"per_day": 5, "per_week": 10}


def _skipped(doc: dict[str, Any]) -> dict[str, int]:
    skipped: dict[str, int] = doc["stats"]["total"].get("skipped", {})
    return skipped


async def test_only_a_member_with_an_unused_consent_gets_the_subscription_message(
    stack: dict[str, str], operator_headers: dict[str, str]
) -> None:
    async with (
        httpx.AsyncClient(base_url=stack["wechat-sim"], timeout=30) as sim,
        httpx.AsyncClient(base_url=stack["segments-api"], headers=operator_headers, timeout=30) as api,
        httpx.AsyncClient(timeout=30) as browser,
    ):
        members = SimulatedMembers(sim)
        for openid in MEMBERS:
            await join(members, browser, openid, weeks_left=5)

        await members.act("o_yes", "consent", {"template_id": TPL})
        await members.act("o_rej", "consent", {"template_id": TPL, "accept": False})
        await members.act("o_off", "consent", {"template_id": TPL})
        await members.act("o_off", "consent/cancel", {"template_id": TPL})

        async def consents_kept() -> dict[str, Any] | None:
            seen = {}
            for openid in ("o_yes", "o_rej", "o_off"):
                answer = await api.get(f"/accounts/{APPID}/members/{openid}/subscriptions")
                assert answer.status_code == 200, answer.text
                seen[openid] = {c["template_id"]: c for c in answer.json()["consents"]}
            statuses = {openid: held.get(TPL, {}).get("status") for openid, held in seen.items()}
            return seen if statuses == {"o_yes": "accepted", "o_rej": "rejected", "o_off": "cancelled"} else None

        kept = await eventually(consents_kept, "the three members' consents kept by the segments worker")
        assert (kept["o_yes"][TPL]["credits"], kept["o_yes"][TPL]["usable"]) == (1, True)
        assert kept["o_off"][TPL]["usable"] is False

        async def segment_ready() -> int | None:
            preview = (await api.post(f"/accounts/{APPID}/segments/preview", json={"rule": RULE})).json()
            return preview["size"] if preview["size"] == len(MEMBERS) else None

        await eventually(segment_ready, "the four members in the live index")
        segment = (await api.post(f"/accounts/{APPID}/segments", json={"name": "产检提醒", "rule": RULE})).json()
        body = {"name": "产检提醒", "segment_id": segment["id"], "variants": VARIANTS, "quiet_hours": None, "cap": CAP}
        eligibility = (await api.post(f"/accounts/{APPID}/pushes/eligibility", json=body)).json()
        steps = {step["step"]: step["count"] for step in eligibility["steps"]}
        assert (steps["no_subscription_consent"], eligibility["will_receive"]) == (3, 1)

        first = await finished(api, await create_push(api, segment["id"], VARIANTS, cap=CAP))
        assert first["stats"]["total"]["sent"] == 1
        assert first["stats"]["total"]["channels"] == {"subscription": 1}
        assert _skipped(first) == {"no_subscription_consent": 3}
        [notice] = [m for m in await members.inbox("o_yes") if m["channel"] == "subscribe"]
        assert notice["payload"]["template_id"] == TPL
        for openid in ("o_none", "o_rej", "o_off"):
            assert [m for m in await members.inbox(openid) if m["channel"] == "subscribe"] == [], openid

        used = (await api.get(f"/accounts/{APPID}/members/o_yes/subscriptions")).json()["consents"]
        assert [(c["credits"], c["usable"]) for c in used] == [(0, False)]

        second = await finished(api, await create_push(api, segment["id"], VARIANTS, cap=CAP))
        assert second["stats"]["total"].get("sent", 0) == 0
        assert _skipped(second) == {"no_subscription_consent": 4}
        calls = (await sim.get(f"/sim/accounts/{APPID}/calls", params={"api": "message/subscribe/bizsend"})).json()
        assert calls["calls"] == 1  # the platform was asked once, for o_yes's first notice
        assert len([m for m in await members.inbox("o_yes") if m["channel"] == "subscribe"]) == 1
