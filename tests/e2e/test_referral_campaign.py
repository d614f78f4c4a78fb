"""A share-poster campaign end to end: ops set it up over the API, members act on the simulated
platform, pushes go through the real gateway and Kafka to the campaign worker, which calls the
simulator's API back (QR codes, media, customer-service messages)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from scrm_dev.topics import read_records
from shared.contracts import WECHAT_PUSHES
from tests.conftest import Infra, Isolation
from tests.e2e.campaign_stack import APPID, BASE, SimulatedMembers, background, eventually, stack_clients

pytestmark = pytest.mark.e2e


async def set_up_campaign(api: httpx.AsyncClient) -> str:
    now = datetime.now(UTC)
    created = await api.post(
        BASE,
        json={
            "name": "宝妈邀请有礼",
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
            "join": {"follow_qr": True, "keywords": ["任务宝"]},
            "tiers": [{"count": 3, "pool": "A"}],
            "rules": {"blacklist": ["o_black"], "revoke_if_unfollowed_within_hours": 48},
        },
    )
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    layout = {"qr": {"x": 475, "y": 1059, "size": 240}, "text_slots": []}
    uploaded = await api.post(
        f"{BASE}/{campaign_id}/template",
        files={"image": ("bg.png", background(), "image/png")},
        data={"layout": json.dumps(layout)},
        headers={"If-Match": created.headers["etag"]},  # edits name the version they change
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    generated = await api.post(f"{BASE}/{campaign_id}/reward-pools/A/generate", json={"count": 5})
    assert generated.status_code == 201, generated.text
    version = (await api.get(f"{BASE}/{campaign_id}")).headers["etag"]
    activated = await api.post(f"{BASE}/{campaign_id}/activate", headers={"If-Match": version})
    assert activated.status_code == 200, activated.text
    return campaign_id


async def test_a_poster_campaign_credits_real_invites_once_and_rewards_the_tier_once(
    stack: dict[str, str], infra: Infra, isolation: Isolation, operator_headers: dict[str, str]
) -> None:
    async with stack_clients(stack, operator_headers) as (api, sim, gateway, platform):
        campaign_id = await set_up_campaign(api)
        join_qr = (await api.get(f"{BASE}/{campaign_id}/join-qr")).json()

        members = SimulatedMembers(sim)
        act, inbox = members.act, members.inbox

        async def stats() -> dict[str, Any]:
            answer: dict[str, Any] = (await api.get(f"{BASE}/{campaign_id}/stats")).json()
            return answer

        async def stats_where(what: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            async def check() -> dict[str, Any] | None:
                current = await stats()
                return current if predicate(current) else None

            found: dict[str, Any] = await eventually(check, what)
            return found

        # Members who were around before the campaign: one stays, one leaves (and will come back).
        await act("o_old", "follow")
        await act("o_refollow", "follow")
        await act("o_refollow", "unfollow")

        # The inviter follows through the campaign's own code and gets the welcome and her poster.
        await act("o_mom", "follow", {"ticket": join_qr["ticket"]})
        received = await eventually(
            lambda: _poster_in(inbox("o_mom")), "the welcome text and the poster in the inviter's inbox"
        )
        texts = [m["payload"]["content"] for m in received if m["msgtype"] == "text"]
        assert any("宝妈邀请有礼" in text for text in texts)
        poster = await platform.get_media(next(m for m in received if m["msgtype"] == "image")["payload"]["media_id"])
        poster_b64 = {"png_base64": base64.b64encode(poster).decode()}

        # A friend scans the poster; the platform retries the push, and Kafka delivers everything again.
        first = await act("o_friend1", "poster", poster_b64)
        retried = await gateway.post(f"/wechat/{APPID}", params=first["params"], content=first["body"].encode())
        assert retried.status_code == 200
        await stats_where("the first credit", lambda s: s["invites_credited"] == 1)
        await redeliver_everything(infra, isolation)

        # A friend who leaves within the window takes the credit back.
        await act("o_quick", "poster", poster_b64)
        await stats_where("the second credit", lambda s: s["invites_credited"] == 2)
        await act("o_quick", "unfollow")
        await stats_where("the revocation", lambda s: s["invites_revoked"] == 1 and s["invites_credited"] == 1)

        # No credit: the inviter scanning her own poster, a follower scanning it, a re-follow, the blacklisted.
        await act("o_mom", "poster", poster_b64)
        await act("o_old", "poster", poster_b64)
        await act("o_refollow", "poster", poster_b64)
        await act("o_black", "poster", poster_b64)
        await stats_where(
            "the four refusals",
            lambda s: (
                s["rejections"] == {"existing_follower_scan": 2, "not_a_new_follower": 1, "invitee_blacklisted": 1}
            ),
        )

        # Two more real friends reach the tier.
        await act("o_friend2", "poster", poster_b64)
        await act("o_friend3", "poster", poster_b64)
        final = await stats_where("the tier", lambda s: s["rewards_granted"] == {"3": 1})
        assert final["invites_credited"] == 3 and final["invites_revoked"] == 1
        assert final["leaderboard"][0]["openid"] == "o_mom" and final["leaderboard"][0]["credited"] == 3
        assert final["posters_sent"] >= 4  # the inviter, and the friends who joined through her poster

        # Notices that met a closed customer-service window (three sends within a minute of a follow or
        # scan) go out with her next interaction; here, a message to the account.
        await act("o_mom", "text", {"content": "进度"})

        async def all_notices_in() -> list[str] | None:
            texts = [m["payload"]["content"] for m in await inbox("o_mom") if m["msgtype"] == "text"]
            return texts if sum("奖励券码" in text for text in texts) == 1 and len(texts) >= 6 else None

        try:
            await eventually(all_notices_in, "the held notices after the inviter's message")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; inbox: {await inbox('o_mom')}") from None
        await asyncio.sleep(2)  # anything doubled would arrive now
        # The code is drawn from the pool when its notice goes out, not when the tier is reached.
        codes = [row["code"] for row in await reward_codes(api, campaign_id)]
        texts = [m["payload"]["content"] for m in await inbox("o_mom") if m["msgtype"] == "text"]
        progress = [text for text in texts if text.startswith("已邀请")]
        # 1, 2, back to 1 (revoked), 2, then 3: the tier notice instead of progress.
        assert (
            sorted(progress)
            == ["已邀请 1/3，再邀请 2 位即可领取奖励。"] + ["已邀请 2/3，再邀请 1 位即可领取奖励。"] * 2
        )
        assert sum("取消关注" in text for text in texts) == 1
        [reward] = [text for text in texts if "奖励券码" in text]
        assert len(codes) == 1 and reward.endswith(codes[0])
        assert len([m for m in await inbox("o_mom") if m["msgtype"] == "image"]) == 1

        # The export lists every participant.
        exported = await api.get(f"{BASE}/{campaign_id}/participants.csv")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert "o_mom" in exported.text and "o_black" not in exported.text


async def _poster_in(messages: Awaitable[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    received = await messages
    kinds = [m["msgtype"] for m in received]
    return received if "text" in kinds and "image" in kinds else None


async def reward_codes(api: httpx.AsyncClient, campaign_id: str) -> list[dict[str, Any]]:
    answer = (await api.get(f"{BASE}/{campaign_id}/rewards")).json()
    rows: list[dict[str, Any]] = answer
    return rows


async def redeliver_everything(infra: Infra, isolation: Isolation) -> None:
    """What a consumer sees after a rebalance before a commit: every record again."""
    topic = WECHAT_PUSHES.physical_name(isolation.topic_prefix)
    records = await read_records(infra.kafka, topic, at_least=1, within=5)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(topic, record.value, key=record.key, headers=list(record.headers))
    finally:
        await producer.stop()
