"""CPU per webhook push, per process, on the whole local stack (``scrm bench --only cost``).

Every process of the platform runs (``local_stack``); a paced stream of signed safe-mode pushes goes to
the gateway (two follows of new members for each text message), and each process's CPU time is read
from /proc/<pid>/stat before and after, minus what it spends idle (measured just before over the same
length of time: workers poll Kafka, health checks run). Divided by the pushes, that is what one push
costs each process, wherever the work happens (the gateway, each worker, the simulator answering the
platform calls a worker makes, the broker and SecantusDB when this stage started them).

CPU time moves far less with the machine's load than wall time, which is why capacity planning
(docs/capacity.md) starts from these figures.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from rich.console import Console

from scrm_dev import pushes
from scrm_dev.bench_ingest import cpu_seconds
from scrm_dev.stack import DEMO_AES_KEY, DEMO_APPID, DEMO_TOKEN, benchmark_stack
from shared.localinfra import LocalInfrastructure, parse_host_port
from shared.settings import ServiceSettings
from shared.wechat import MessageCrypto, Mode, seal_push

Row = tuple[str, str, str]

_TIMEOUT_S = 300.0


def signed_pushes(n: int) -> tuple[list[tuple[str, bytes]], int]:
    """``n`` signed safe-mode pushes: two follows by new members, then a text by one of them; and how
    many of them are follows."""
    crypto = MessageCrypto(DEMO_APPID, DEMO_AES_KEY)
    now = int(time.time())
    run = secrets.token_hex(3)
    out: list[tuple[str, bytes]] = []
    follows = 0
    for i in range(n):
        if i % 3 == 2:
            openid = f"o_cost_{run}_{i - 1:06d}"
            message = pushes.text(openid, now, "请问有孕期礼包吗", 900_000_000 + i)
        else:
            openid = f"o_cost_{run}_{i:06d}"
            message = pushes.follow(openid, now)
            follows += 1
        signed = seal_push(message, token=DEMO_TOKEN, mode=Mode.SAFE, crypto=crypto, timestamp=now, openid=openid)
        out.append((f"/wechat/{DEMO_APPID}?{urlencode(signed.params)}", signed.body))
    return out, follows


def _snapshot(pids: dict[str, int]) -> dict[str, float]:
    taken: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            taken[name] = cpu_seconds(pid)
        except OSError:
            continue  # a process that ended: it has no figure
    return taken


async def _send(gateway: str, requests: list[tuple[str, bytes]], rate: float) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        started = time.perf_counter()
        in_flight: set[asyncio.Task[httpx.Response]] = set()
        for i, (target, body) in enumerate(requests):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(client.post(target, content=body))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        for response in await asyncio.gather(*in_flight):
            response.raise_for_status()


async def _until_members(members_api: str, token: str, expected: int) -> None:
    deadline = time.monotonic() + _TIMEOUT_S
    async with httpx.AsyncClient(base_url=members_api, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            counts = (await client.get(f"/accounts/{DEMO_APPID}/member-counts")).raise_for_status().json()
            if counts["members"] >= expected:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{counts['members']} of {expected} follows recorded after {_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.2)


def bench_cost(
    console: Console, settings: ServiceSettings, state_dir: Path, *, n: int = 900, rate: float = 30.0
) -> list[Row]:
    from scrm_dev.demo import demo_operator_token

    with benchmark_stack(console, settings, state_dir, "cost") as stack:
        token = asyncio.run(demo_operator_token(stack))
        pids = {name: process.pid for name, process in stack.processes.items() if process.pid is not None}
        infra = LocalInfrastructure(
            state_dir / "infra",
            kafka=parse_host_port(settings.kafka_bootstrap_servers, 9092),
            mongodb=parse_host_port(settings.mongodb_url.get_secret_value(), 27017),
        )
        for server in infra.status().servers():
            if server.pid is not None and server.name in stack.started_infra:
                pids[f"{server.name} (stand-in)"] = server.pid
        # Warm up (first connections, caches, consumer groups settled), then wait for the backlog.
        warmup, warm_follows = signed_pushes(60)
        asyncio.run(_send(stack.url("gateway"), warmup, rate))
        asyncio.run(_until_members(stack.url("members-api"), token, warm_follows))
        time.sleep(3)
        requests, follows = signed_pushes(n)
        expected_seconds = n / rate + 5
        with console.status(f"idle for {expected_seconds:.0f} s (the baseline)..."):
            idle_before, idle_started = _snapshot(pids), time.perf_counter()
            time.sleep(expected_seconds)
            idle = _snapshot(pids)
            idle_elapsed = time.perf_counter() - idle_started
        with console.status(f"{n} pushes at {rate:.0f}/s through the whole stack..."):
            before, started = _snapshot(pids), time.perf_counter()
            asyncio.run(_send(stack.url("gateway"), requests, rate))
            asyncio.run(_until_members(stack.url("members-api"), token, warm_follows + follows))
            time.sleep(5)  # the slower workers (analytics, segments) finish their share
            after = _snapshot(pids)
            elapsed = time.perf_counter() - started
    return cost_rows(before, after, idle_before, idle, idle_elapsed=idle_elapsed, elapsed=elapsed, n=n, rate=rate)


def cost_rows(
    before: dict[str, float],
    after: dict[str, float],
    idle_before: dict[str, float],
    idle: dict[str, float],
    *,
    idle_elapsed: float,
    elapsed: float,
    n: int,
    rate: float,
) -> list[Row]:
    """One row per process (its CPU per push, idle subtracted), costliest first, and the sum."""
    costs: dict[str, tuple[float, float]] = {}
    for name in after.keys() & before.keys() & idle.keys() & idle_before.keys():
        idle_rate = (idle[name] - idle_before[name]) / idle_elapsed
        costs[name] = (max(0.0, (after[name] - before[name]) - idle_rate * elapsed) / n * 1000, idle_rate)
    total = sum(per_push for per_push, _ in costs.values())
    load = os.getloadavg()
    rows: list[Row] = [
        (f"CPU per push: {name}", f"{per_push:.2f} ms", f"idle {idle_rate * 1000:.0f} ms/s subtracted")
        for name, (per_push, idle_rate) in sorted(costs.items(), key=lambda item: -item[1][0])
    ]
    rows.append(
        (
            f"CPU per push, all processes ({n} pushes at {rate:.0f}/s: 2 follows per text)",
            f"{total:.2f} ms",
            (f"a core's worth at {1000 / total:,.0f} pushes/s; " if total else "")
            + f"load {load[0]:.1f}/{load[1]:.1f} (1/5 min)",
        )
    )
    return rows
