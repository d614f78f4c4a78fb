"""Segments and targeted pushes end to end: simulated members follow and fill in the H5 interest page
(through the gateway, Kafka and the profiles worker); the segment API sees them through
``profile.changed``; a push to 孕晚期 members who like 奶粉 reaches exactly them through the segments
worker and the simulator, within the rules: the unfollowed, the unconsenting, those outside the segment
and those over the frequency cap get nothing, a closed window falls back to the template, a used-up
quota stops the push until it is resumed, and nobody gets a push twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.campaign_stack import APPID, SimulatedMembers, eventually, platform_env, profiles_env, run_processes

pytestmark = pytest.mark.e2e

RULE = {"all": [{"stage_in": ["stage.pregnancy.late"]}, {"has_tag": "interest.feeding.formula"}]}
GUIDE = "https://brand.example/late-pregnancy-formula"
IN_SEGMENT = ("o_ann", "o_bea", "o_cat")


@pytest.fixture
def stack(infra_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    def env_for(ports: dict[str, int]) -> dict[str, str]:
        return (
            platform_env(infra_env, ports)
            | profiles_env(ports)
            | {
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['segments-public']}",
                "CLICK_LINK_SECRET": "click-links-e2e-0123",
                "POLL_SECONDS": "0.2",
                "SEND_RETRY_SECONDS": "0.05",
            }
        )

    names = (
        *("gateway", "profiles-api", "profiles-public", "profiles-worker"),
        *("segments-api", "segments-public", "segments-worker", "wechat-sim"),
    )
    yield from run_processes(names, tmp_path, env_for)


async def join(members: SimulatedMembers, public: httpx.AsyncClient, openid: str, *, weeks_left: int,
               formula: bool = True, marketing: bool = True) -> None:  # fmt: skip
    """Follow, open the H5 invitation (on the public process, ``public``) and declare a due date, interests
    and consents."""
    await members.act(openid, "follow")

    async def invitation() -> str | None:
        texts = [m["payload"]["content"] for m in await members.inbox(openid) if m["msgtype"] == "text"]
        found = [link.group(1) for text in texts if (link := re.search(r'href="([^"]+)"', text))]
        return found[0] if found else None

    link: str = await eventually(invitation, f"the H5 invitation of {openid}")
    due = (datetime.now(UTC) + timedelta(weeks=weeks_left)).date().isoformat()
    form = f"basis=due_date&on={due}&data_use=yes"
    form += "&interests=interest.feeding.formula" if formula else "&interests=interest.toys"
    form += "&marketing=yes" if marketing else ""
    answer = await public.post(
        link, content=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 200 and "提交成功" in answer.text, answer.text


def pushed(inbox: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the segments worker sent: custom messages naming the guide (not the H5 invitation) and templates."""
    return [
        m for m in inbox
        if (m["channel"] == "custom" and "/r/" in str(m["payload"].get("content", ""))) or m["channel"] == "template"
    ]  # fmt: skip


async def test_a_push_reaches_late_pregnancy_formula_members_within_the_rules(
    stack: dict[str, str], operator_headers: dict[str, str]
) -> None:
    async with (
        httpx.AsyncClient(base_url=stack["wechat-sim"], timeout=30) as sim,
        httpx.AsyncClient(base_url=stack["profiles-api"], headers=operator_headers, timeout=30) as profiles,
        httpx.AsyncClient(base_url=stack["segments-api"], headers=operator_headers, timeout=30) as api,
        # Members' browsers: the public processes, with no operator credentials.
        httpx.AsyncClient(timeout=30) as browser,
    ):
        members = SimulatedMembers(sim)
        for openid in (*IN_SEGMENT, "o_left"):
            await join(members, browser, openid, weeks_left=5)
        await join(members, browser, "o_mid", weeks_left=20)  # 孕中期: outside the segment
        await join(members, browser, "o_toys", weeks_left=5, formula=False)  # outside the segment
        await join(members, browser, "o_no", weeks_left=5, marketing=False)  # in it, but no consent
        await members.act("o_left", "unfollow")

        async def segment_ready() -> int | None:
            preview = (await api.post(f"/accounts/{APPID}/segments/preview", json={"rule": RULE})).json()
            return preview["size"] if preview["size"] == 5 else None

        await eventually(segment_ready, "the five members of the segment in the live index")
        created = await api.post(f"/accounts/{APPID}/segments", json={"name": "孕晚期奶粉", "rule": RULE})
        assert created.status_code == 201, created.text
        segment = created.json()
        assert "孕晚期" in segment["summary"]["zh"] and "奶粉" in segment["summary"]["zh"]

        async def following_ready() -> bool:
            why = (await api.get(f"/accounts/{APPID}/segments/{segment['id']}/members/o_left")).json()
            return bool(why["in_segment"])

        assert await eventually(following_ready, "o_left explained as a member")

        # The unfollow reaches the profile through the gateway, Kafka and the profiles worker; a push
        # sent before it lands would meet the platform's 43004 instead of our skip.
        async def unfollow_recorded() -> bool:
            profile = (await profiles.get(f"/accounts/{APPID}/members/o_left/profile")).json()
            return profile["follow"]["following"] is False

        assert await eventually(unfollow_recorded, "o_left's unfollow on the profile")

        # The platform's window closes early for one member: that one gets the template instead.
        fault = {"api": "message/custom/send", "errcode": 45015, "count": 1}
        assert (await sim.post(f"/sim/accounts/{APPID}/faults", json=fault)).status_code == 201
        variants = [
            {"name": "A", "weight": 50, "message": {"kind": "text", "text": f"孕晚期奶粉指南 {GUIDE}"},
             "template": {"template_id": "tpl_guide", "data": {"thing1": "孕晚期奶粉指南"}, "url": GUIDE}},
            {"name": "B", "weight": 50, "message": {"kind": "text", "text": f"宝宝第一口奶 {GUIDE}"},
             "template": {"template_id": "tpl_guide", "data": {"thing1": "宝宝第一口奶"}, "url": GUIDE}},
        ]  # fmt: skip
        push = await create_push(api, segment["id"], variants)

        first = await finished(api, push)
        total = first["stats"]["total"]
        assert (first["audience_size"], first["segment_version"]) == (5, 1)
        assert total["sent"] == 3
        assert total["skipped"] == {"unfollowed": 1, "no_consent": 1}
        assert total["channels"] == {"customer_service": 2, "template": 1}
        assert {name: v["targeted"] for name, v in first["stats"]["variants"].items()}.keys() <= {"A", "B"}
        for openid in IN_SEGMENT:
            assert len(pushed(await members.inbox(openid))) == 1, openid
        for openid in ("o_left", "o_mid", "o_toys", "o_no"):
            assert pushed(await members.inbox(openid)) == [], openid

        # The template's job-finish push comes back through the gateway and Kafka.
        async def delivered() -> bool:
            stats = (await api.get(f"/accounts/{APPID}/pushes/{push}")).json()["stats"]["total"]
            return bool(stats.get("delivered") == 1)

        assert await eventually(delivered, "TEMPLATESENDJOBFINISH settling the template delivery")

        # A member opens the link: counted once, sent on to the guide.
        message = pushed(await members.inbox("o_ann"))[0]
        text = message["payload"].get("content") or message["payload"].get("url")
        link = re.search(r"(http://\S+/r/\S+)", str(text))
        assert link is not None, message
        assert link.group(1).startswith(stack["segments-public"])
        for _ in range(2):
            opened = await browser.get(link.group(1), follow_redirects=False)
            assert opened.status_code == 302 and opened.headers["location"] == GUIDE
        assert (await api.get(f"/accounts/{APPID}/pushes/{push}")).json()["stats"]["total"]["clicked"] == 1

        # A second push the same day: everyone is at the cap of one a day.
        second = await finished(api, await create_push(api, segment["id"], variants[:1]))
        assert second["stats"]["total"]["skipped"].get("frequency_cap") == 3
        assert second["stats"]["total"]["sent"] == 0
        for openid in IN_SEGMENT:
            assert len(pushed(await members.inbox(openid))) == 1, openid

        # A third with a looser cap meets a used-up daily quota: it stops, and goes on when resumed.
        fault = {"api": "message/custom/send", "errcode": 45009, "count": 1}
        assert (await sim.post(f"/sim/accounts/{APPID}/faults", json=fault)).status_code == 201
        third = await create_push(api, segment["id"], variants[:1], cap={"per_day": 5, "per_week": 10})

        async def waiting() -> dict[str, Any] | None:
            doc: dict[str, Any] = (await api.get(f"/accounts/{APPID}/pushes/{third}")).json()
            return doc if doc["status"] == "waiting_quota" else None

        stopped = await eventually(waiting, "the push waiting for the quota")
        assert stopped["resume_at"] and "45009" in stopped["note"]
        assert (await api.post(f"/accounts/{APPID}/pushes/{third}/resume")).status_code == 200
        resumed = await finished(api, third)
        assert resumed["stats"]["total"]["sent"] == 3
        for openid in IN_SEGMENT:
            assert len(pushed(await members.inbox(openid))) == 2, openid
        deliveries = (await api.get(f"/accounts/{APPID}/pushes/{third}/deliveries", params={"status": "sent"})).json()
        assert sorted(d["openid"] for d in deliveries) == sorted(IN_SEGMENT)


async def create_push(api: httpx.AsyncClient, segment_id: str, variants: list[dict[str, Any]], **extra: Any) -> str:
    body = {"name": "孕晚期奶粉指南", "segment_id": segment_id, "variants": variants, "quiet_hours": None} | extra
    created = await api.post(f"/accounts/{APPID}/pushes", json=body)
    assert created.status_code == 201, created.text
    push_id: str = created.json()["id"]
    return push_id


async def finished(api: httpx.AsyncClient, push_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        doc: dict[str, Any] = (await api.get(f"/accounts/{APPID}/pushes/{push_id}")).json()
        return doc if doc["status"] == "finished" else None

    found: dict[str, Any] = await eventually(done, f"push {push_id} finished")
    return found
