"""One real event end to end: webhook → gateway → Kafka → faust worker → MongoDB → read API."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from scrm_dev import pushes
from scrm_dev.topics import read_records
from shared.contracts import CATALOG, DEADLETTER, WECHAT_PUSHES, MessageDeadLettered
from shared.events import Envelope
from tests.conftest import Infra, Isolation
from tests.e2e.conftest import APPID, TOKEN, Platform

pytestmark = pytest.mark.e2e


async def send(gateway: str, openid: str, body: bytes) -> httpx.Response:
    signed = pushes.sign(TOKEN, body, timestamp=int(time.time()), openid=openid)
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        return await client.post(f"/wechat/{APPID}", params=signed.params, content=signed.body)


async def eventually(
    api: str, path: str, check: object, within: float = 60, *, headers: dict[str, str]
) -> dict[str, object]:
    deadline = time.monotonic() + within
    body: dict[str, object] = {}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=5) as client:
        while time.monotonic() < deadline:
            response = await client.get(path)
            if response.status_code == 200:
                body = response.json()
                if check(body):  # type: ignore[operator]
                    return body
            await asyncio.sleep(0.2)
    raise AssertionError(f"{path} never satisfied the check; last body: {body}")


async def test_a_follow_travels_to_the_read_api(platform: Platform) -> None:
    now = int(time.time())
    follow = pushes.follow("o_e2e_1", now - 20, scene="poster-9")
    assert (await send(platform.gateway.url, "o_e2e_1", follow)).text == "success"
    assert (await send(platform.gateway.url, "o_e2e_1", follow)).text == "success"  # platform retry
    member = await eventually(
        platform.api.url,
        f"/accounts/{APPID}/members/o_e2e_1",
        lambda body: body.get("following") is True,
        headers=platform.operator_headers,
    )
    assert member["first_scene"] == "poster-9"
    assert member["follow_count"] == 1  # the retry changed nothing

    await send(platform.gateway.url, "o_e2e_1", pushes.unfollow("o_e2e_1", now - 10))
    await eventually(
        platform.api.url,
        f"/accounts/{APPID}/member-counts",
        lambda body: body == {"members": 1, "following": 0, "unfollowed": 1},
        headers=platform.operator_headers,
    )
    async with httpx.AsyncClient(base_url=platform.api.url, headers=platform.operator_headers) as client:
        assert (await client.get(f"/accounts/{APPID}/members/nobody")).status_code == 404
        assert (await client.get(f"/accounts/{APPID}/members", params={"limit": 0})).status_code == 422
        worker_metrics = (await client.get(f"{platform.worker.url}/metrics")).text
    assert (
        'scrm_events_consumed_total{consumer="members",outcome="processed",type="member.followed"}' in (worker_metrics)
        or 'consumer="members",type="member.followed",outcome="processed"' in worker_metrics
    )


async def test_a_poison_record_is_parked_and_the_stream_moves_on(
    platform: Platform, infra: Infra, isolation: Isolation
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(WECHAT_PUSHES.physical_name(isolation.topic_prefix), b"\x00garbage", key=b"o_bad")
    finally:
        await producer.stop()
    await send(platform.gateway.url, "o_after", pushes.follow("o_after", int(time.time()) - 5))
    await eventually(
        platform.api.url, f"/accounts/{APPID}/members/o_after", lambda body: True, headers=platform.operator_headers
    )

    [record] = await read_records(infra.kafka, DEADLETTER.physical_name(isolation.topic_prefix), at_least=1, within=20)
    parked = CATALOG.decode(Envelope.from_bytes(record.value))
    assert isinstance(parked, MessageDeadLettered)
    assert parked.consumer == "members" and parked.reason.startswith("contract:")
    assert parked.original_key == "o_bad"


async def test_a_crashed_worker_loses_nothing_and_doubles_nothing(platform: Platform) -> None:
    openids = [f"o_crash_{i:03d}" for i in range(60)]
    now = int(time.time())
    first, second = openids[:30], openids[30:]
    for openid in first:
        await send(platform.gateway.url, openid, pushes.follow(openid, now - 30))
    platform.worker.kill()  # SIGKILL: no graceful commit of offsets
    for openid in second:  # the gateway keeps accepting while no worker runs
        assert (await send(platform.gateway.url, openid, pushes.follow(openid, now - 30))).text == "success"
    platform.restart_worker()
    await eventually(
        platform.api.url,
        f"/accounts/{APPID}/member-counts",
        lambda body: body.get("members") == 60,
        within=90,
        headers=platform.operator_headers,
    )
    async with httpx.AsyncClient(base_url=platform.api.url, headers=platform.operator_headers) as client:
        page = (await client.get(f"/accounts/{APPID}/members", params={"limit": 100})).json()
    assert sorted(item["openid"] for item in page["items"]) == openids
    assert {item["follow_count"] for item in page["items"]} == {1}
