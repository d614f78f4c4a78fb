"""``scrm demo``: the platform end to end on local infrastructure, with a readable summary.

It starts (or reuses) Tansu and SecantusDB, starts every service as its own process on free ports,
plays a scenario through the real webhook, waits for the results to show up in the read API,
prints them, and stops everything it started. Each run gets fresh topics and a fresh database.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scrm import pushes
from scrm.launcher import ProcessFailed
from scrm.stack import DEMO_APPID, DEMO_TOKEN, local_stack
from scrm.topics import read_records
from shared.contracts import DEADLETTER, WECHAT_PUSHES
from shared.localinfra import InfraError
from shared.settings import ServiceSettings, SettingsError, load_settings

_RESULT_TIMEOUT_S = 90.0
_IN_FLIGHT = 16


@dataclass
class Tally:
    pushes_sent: int = 0
    pushes_accepted: int = 0
    pushes_rejected: int = 0
    duplicate_deliveries: int = 0
    poison_messages: int = 0
    ack_ms: list[float] = field(default_factory=list)


def run_demo(console: Console, state_dir: Path, *, members: int, json_output: bool) -> bool:
    try:
        settings = load_settings(ServiceSettings)
    except SettingsError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return False
    summary: dict[str, object] = {}
    ok = False
    try:
        with local_stack(console, settings, state_dir, "demo") as stack:
            summary = asyncio.run(
                _scenario(
                    console,
                    gateway=stack.url("gateway"),
                    members_api=stack.url("members-api"),
                    kafka=settings.kafka_bootstrap_servers,
                    prefix=stack.topic_prefix,
                    members=members,
                )
            )
            ok = bool(summary.pop("ok"))
    except (InfraError, ProcessFailed) as exc:
        console.print(f"[red]demo failed:[/red] {escape(str(exc))}")
    if summary:
        _print_summary(console, summary, ok)
    if json_output:
        print(json.dumps({"ok": ok, **{k: v for k, v in summary.items() if isinstance(v, int)}}))  # noqa: T201
    return ok


async def _scenario(
    console: Console, *, gateway: str, members_api: str, kafka: str, prefix: str, members: int
) -> dict[str, object]:
    tally = Tally()
    now = int(time.time())
    openids = [f"o_demo_{i:05d}" for i in range(members)]
    follows = [
        pushes.follow(openid, now - 30, scene="poster-launch" if i % 2 == 0 else None)
        for i, openid in enumerate(openids)
    ]
    leavers = [openid for i, openid in enumerate(openids) if i % 5 == 4]
    unfollows = [pushes.unfollow(openid, now - 10) for openid in leavers]
    retried = list(zip(openids, follows, strict=True))[: min(5, members)]

    async with httpx.AsyncClient(base_url=gateway, timeout=10.0) as client:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            batches = [
                ("follows", list(zip(openids, follows, strict=True))),
                ("platform retries (same push again)", retried),
                ("unfollows", list(zip(leavers, unfollows, strict=True))),
            ]
            for label, batch in batches:
                task = progress.add_task(label, total=len(batch))
                await _send_all(client, batch, now, tally, partial(progress.advance, task))
            tally.duplicate_deliveries = len(retried)
        # A member's text message: no dedicated event yet, kept raw (the members service ignores it).
        await _send(client, openids[0], pushes.text(openids[0], now - 5, "你好", 10_000_001), now, tally)
        # A forged push: wrong signature, refused before anything is published.
        forged = pushes.sign("not-the-token", pushes.follow("o_intruder", now), timestamp=now, openid="o_intruder")
        response = await client.post(f"/wechat/{DEMO_APPID}", params=forged.params, content=forged.body)
        tally.pushes_sent += 1
        tally.pushes_rejected += response.status_code == 403

    # A poison record straight onto the topic: the worker must park it, not choke on it.
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(WECHAT_PUSHES.physical_name(prefix), b"{not an envelope", key=b"poison")
        tally.poison_messages = 1
    finally:
        await producer.stop()

    expected_following = members - len(leavers)
    with console.status("waiting for the worker to catch up..."):
        counts = await _wait_for_counts(members_api, members, expected_following)
        parked = await read_records(kafka, DEADLETTER.physical_name(prefix), at_least=1, within=_RESULT_TIMEOUT_S)
        deadlettered = len(parked)
    ok = (
        counts.get("members") == members
        and counts.get("following") == expected_following
        and deadlettered == tally.poison_messages
        and tally.pushes_rejected == 1
        and tally.pushes_accepted == tally.pushes_sent - 1
    )
    latencies = sorted(tally.ack_ms)
    return {
        "ok": ok,
        "pushes_sent": tally.pushes_sent,
        "pushes_accepted": tally.pushes_accepted,
        "pushes_rejected": tally.pushes_rejected,
        "duplicate_deliveries": tally.duplicate_deliveries,
        "members": counts.get("members", 0),
        "following": counts.get("following", 0),
        "unfollowed": counts.get("unfollowed", 0),
        "deadlettered": deadlettered,
        "ack_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "ack_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
    }


async def _send_all(
    client: httpx.AsyncClient,
    batch: list[tuple[str, bytes]],
    now: int,
    tally: Tally,
    advance: Callable[[], None],
) -> None:
    gate = asyncio.Semaphore(_IN_FLIGHT)

    async def one(openid: str, body: bytes) -> None:
        async with gate:
            await _send(client, openid, body, now, tally)
        advance()

    await asyncio.gather(*(one(openid, body) for openid, body in batch))


async def _send(client: httpx.AsyncClient, openid: str, body: bytes, now: int, tally: Tally) -> None:
    signed = pushes.sign(DEMO_TOKEN, body, timestamp=now, openid=openid)
    started = time.perf_counter()
    response = await client.post(f"/wechat/{DEMO_APPID}", params=signed.params, content=signed.body)
    tally.ack_ms.append((time.perf_counter() - started) * 1000)
    tally.pushes_sent += 1
    tally.pushes_accepted += response.status_code == 200 and response.text == "success"


async def _wait_for_counts(members_api: str, members: int, following: int) -> dict[str, int]:
    deadline = time.monotonic() + _RESULT_TIMEOUT_S
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=members_api, timeout=5.0) as client:
        while time.monotonic() < deadline:
            counts = (await client.get(f"/accounts/{DEMO_APPID}/member-counts")).json()
            if counts.get("members") == members and counts.get("following") == following:
                break
            await asyncio.sleep(0.25)
    return counts


def _print_summary(console: Console, summary: dict[str, object], ok: bool) -> None:
    table = Table(title="demo summary" + ("" if ok else " — [red]MISMATCH[/red]"))
    table.add_column("what")
    table.add_column("count", justify="right")
    labels = {
        "pushes_sent": "webhook pushes sent",
        "pushes_accepted": "acknowledged 'success' (published to Kafka first)",
        "pushes_rejected": "refused (forged signature)",
        "duplicate_deliveries": "platform retries of the same push",
        "members": "members recorded (retries counted once)",
        "following": "following now",
        "unfollowed": "unfollowed",
        "deadlettered": "poison records parked on the dead-letter topic",
        "ack_ms_p50": "webhook ack latency p50, 16 in flight (ms)",
        "ack_ms_p95": "webhook ack latency p95, 16 in flight (ms)",
    }
    for key, label in labels.items():
        table.add_row(label, str(summary.get(key)))
    console.print(table)
    console.print("[green]demo passed[/green]" if ok else "[red]demo found a mismatch[/red]")
