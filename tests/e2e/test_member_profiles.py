"""Member profiles end to end: a simulated member follows, gets the link to the H5 interest page through
the real gateway, Kafka and profiles worker, fills it in, answers a survey and wins its coupon exactly
once; the mall's signed events reach the profile through the webhook, Kafka and the worker, once each."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.profiles.domain.mall_webhook import sign
from tests.e2e.campaign_stack import (
    APPID,
    MALL_SECRET,
    SimulatedMembers,
    eventually,
    platform_env,
    profiles_env,
    run_processes,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(infra_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    def env_for(ports: dict[str, int]) -> dict[str, str]:
        return platform_env(infra_env, ports) | profiles_env(ports)

    names = ("gateway", "profiles-api", "profiles-public", "profiles-worker", "wechat-sim")
    yield from run_processes(names, tmp_path, env_for)


def signed(events: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    body = "\n".join(json.dumps(event, ensure_ascii=False) for event in events).encode()
    now = int(time.time())
    return body, {"X-Mall-Timestamp": str(now), "X-Mall-Signature": sign(MALL_SECRET.encode(), now, body)}


async def test_a_member_follows_fills_the_interest_page_and_shops(
    stack: dict[str, str], operator_headers: dict[str, str]
) -> None:
    async with (
        httpx.AsyncClient(base_url=stack["wechat-sim"], timeout=30) as sim,
        httpx.AsyncClient(base_url=stack["profiles-api"], headers=operator_headers, timeout=30) as api,
        # What members' browsers and the mall reach: the public process, with no operator credentials.
        httpx.AsyncClient(base_url=stack["profiles-public"], timeout=30) as public,
    ):
        members = SimulatedMembers(sim)
        await members.act("o_mom", "follow")

        async def invitation() -> str | None:
            texts = [m["payload"]["content"] for m in await members.inbox("o_mom") if m["msgtype"] == "text"]
            links = [re.search(r'href="([^"]+)"', text) for text in texts]
            found = [link.group(1) for link in links if link]
            return found[0] if found else None

        link: str = await eventually(invitation, "the H5 invitation in the new follower's inbox")
        assert link.startswith(stack["profiles-public"])
        page = await public.get(link)
        assert page.status_code == 200 and "预产期" in page.text
        due = (datetime.now(UTC) + timedelta(weeks=6)).date().isoformat()  # week 34: 孕晚期
        form = f"basis=due_date&on={due}&interests=interest.feeding.formula&marketing=yes&data_use=yes"
        submitted = await public.post(
            link, content=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert submitted.status_code == 200 and "提交成功" in submitted.text

        # A survey with a lottery: she answers, wins the one coupon, and answering again wins nothing more.
        survey = {
            "title": "喂养小调查",
            "questions": [
                {
                    "id": "care",
                    "kind": "multiple",
                    "text": "您关心哪些？",
                    "options": [
                        {"id": "bath", "label": "洗浴", "tags": ["interest.care.bath"]},
                        {"id": "toys", "label": "玩具", "tags": ["interest.toys"]},
                    ],
                }
            ],
            "prizes": [{"id": "c20", "name": "20元券", "kind": "coupon", "probability": 1.0, "stock": 1}],
        }
        survey_id = (await api.post(f"/accounts/{APPID}/surveys", json=survey)).json()["id"]
        assert (await api.post(f"/accounts/{APPID}/surveys/{survey_id}/publish")).status_code == 200
        survey_link = (await api.get(f"/accounts/{APPID}/surveys/{survey_id}/link", params={"openid": "o_mom"})).json()[
            "url"
        ]
        form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        assert survey_link.startswith(stack["profiles-public"])
        won = await public.post(survey_link, content=b"care=bath&care=toys", headers=form_headers)
        assert won.status_code == 200 and "20元券" in won.text
        again = await public.post(survey_link, content=b"care=bath", headers=form_headers)
        assert "已参与过" in again.text

        async def coupon_messages() -> list[str] | None:
            texts = [m["payload"]["content"] for m in await members.inbox("o_mom") if m["msgtype"] == "text"]
            found = [text for text in texts if "20元券" in text]
            return found or None

        assert len(await eventually(coupon_messages, "the coupon message")) == 1

        # A keyword reply and a menu click declare interests too.
        await members.act("o_mom", "text", {"content": "纸尿裤"})
        await members.act("o_mom", "click", {"key": "INTEREST_CARE"})

        now = datetime.now(UTC)
        events: list[dict[str, Any]] = [
            {"event_id": "m1", "appid": APPID, "openid": "o_mom", "type": "view", "category": "stroller",
             "occurred_at": now.isoformat()},
            {"event_id": "m2", "appid": APPID, "openid": "o_mom", "type": "order", "category": "diapers_newborn",
             "occurred_at": now.isoformat(), "amount": 129.9},
        ]  # fmt: skip
        body, headers = signed(events)
        accepted = await public.post("/events/mall/bulk", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        body, headers = signed(events[1:])  # the mall resends the order
        assert (await public.post("/events/mall/bulk", content=body, headers=headers)).status_code == 202

        async def shopped() -> dict[str, Any] | None:
            # The full profile (stage, consents) is a PII reveal: the admin token may, and it is audited.
            response = await api.get(f"/accounts/{APPID}/members/o_mom/profile/reveal")
            profile: dict[str, Any] = response.json()
            codes = {tag["code"] for tag in profile.get("tags", [])}
            wanted = {"purchase.diapers", "interest.gear.stroller", "interest.care"}
            return profile if wanted <= codes else None

        profile = await eventually(shopped, "the mall events on the profile")
        # What she said beats what the newborn diapers suggest.
        assert profile["stage"]["code"] == "stage.pregnancy.late" and profile["stage"]["confidence"] == "declared"
        assert profile["stage"]["pregnancy_week"] == 34
        assert profile["follow"]["following"] is True and profile["last_active_at"] is not None
        sources = {(tag["code"], tag["source"]) for tag in profile["tags"]}
        assert ("interest.feeding.formula", "declared") in sources and ("spend.c", "mall") in sources
        assert {("interest.diapers", "declared"), ("interest.care", "declared")} <= sources
        assert {("interest.care.bath", "survey"), ("interest.toys", "survey")} <= sources
        history = (await api.get(f"/accounts/{APPID}/members/o_mom/profile/history")).json()
        assert sum(1 for change in history if change["kind"] == "mall_event") == 2  # the resent order once
