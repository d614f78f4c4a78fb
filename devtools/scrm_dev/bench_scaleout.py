"""Sends that scale out: 1, 2 and 4 dispatcher processes sending for one account, whose pace they share
through :class:`~shared.wechat_client.SharedRateLimiter` (MongoDB), to the simulator, which enforces
the account's limit per second and reports every second (``GET /sim/accounts/{appid}/calls``).

Each dispatcher is its own process (``python -m scrm_dev.bench_scaleout``): its store in memory with a
push of its own (the dispatcher's own work, as in the push rows), the worker's WeChat client (the lane,
the shared limiter, the access token from MongoDB). They start together when every one is ready, and
each reports its sends, wall time and CPU time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console

from scrm_dev.bench_pushes import _busiest_second, _process_cpu, _push_document, _recipients, _RecordingLane
from scrm_dev.stack import DEMO_AES_KEY, DEMO_APPID, DEMO_SECRET, DEMO_TOKEN, Stack
from services.segments.adapters.memory import InMemoryPushes
from services.segments.adapters.push_documents import push_from_document
from services.segments.adapters.wechat_sender import WeChatSender
from services.segments.bootstrap import SEND_APIS
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from shared.settings import ServiceSettings
from shared.storage import create_client
from shared.wechat import WeChatAccount
from shared.wechat_client import (
    MongoTokenStore,
    RateLimit,
    SharedRateLimiter,
    WeChatApiConfig,
    WeChatClients,
)

__all__ = ["ACCOUNT_LIMIT", "SCALE_SIM_ENV", "bench_scaleout", "machine_ceiling"]

Row = tuple[str, str, str]

_TEMPLATE_SEND = "message/template/send"
#: The account's limit as the simulator enforces it (template sends per clock second) ...
ACCOUNT_LIMIT = 3_000
#: ... and the pace the dispatchers share: above what one dispatcher reaches on this machine (about
#: 1,500/s), so more processes can add to it; below the account's limit by what a late slot (50 ms) and a
#: burst can add, and by what arrives late at a loaded simulator (started in one second, counted in the next).
_SHARED = RateLimit(calls=2_500, period=1.0, burst=25)
#: A pace well below what four dispatchers reach here: the limiter, not the machine, sets their rate.
_BINDING = RateLimit(calls=200, period=1.0, burst=5)
SCALE_SIM_ENV = {
    "JOB_PUSH_DELAY_SECONDS": "3600",
    "WECHAT_SIM_OPTIONS": json.dumps({DEMO_APPID: {"gateway_url": "http://127.0.0.1:9/wechat/{appid}"}}),
    "SECOND_LIMITS": json.dumps({_TEMPLATE_SEND: ACCOUNT_LIMIT}),
}


#: What a dispatcher process prints when it is ready to start, and before its result (among its logs).
_READY = "scaleout: ready"
_RESULT = "scaleout: result "


@dataclass(frozen=True)
class _Result:
    sent: int
    failed: int
    started: float
    finished: float
    cpu: float
    round_trips: int
    conflicts: int
    #: ``time.perf_counter()`` is per process: these are wall-clock times (``time.time()``).
    starts: list[float]


async def _dispatch(args: dict[str, Any]) -> dict[str, Any]:
    """One dispatcher process: its push ready, "ready" on stdout, then sent when "go" comes on stdin."""
    now = datetime.now(UTC)
    documents = _recipients(f"o_{args['name']}_", args["members"], now)
    sim = args["sim"]
    await _add_members(sim, [d["openid"] for d in documents])
    doc = _push_document(f"push_{args['name']}", DEMO_APPID, "seg_scale", now) | {"status": "sending", "cursor": None}
    store = InMemoryPushes()
    await store.insert(doc)
    await store.save_audience(doc["_id"], [d["openid"] for d in documents], 10_000)
    store.add_profiles(documents)
    shared = RateLimit.model_validate(args["limit"])
    api = WeChatApiConfig(base_url=sim, qr_image_base_url=sim, rate_limits=dict.fromkeys(SEND_APIS, shared))
    client = create_client(ServiceSettings(mongodb_url=args["mongodb_url"]), timeout_ms=60_000)
    database = client[args["database"]]
    limiter = SharedRateLimiter(database, api, apis=SEND_APIS)
    lane = _RecordingLane()  # when each template send started
    account = WeChatAccount(appid=DEMO_APPID, token=DEMO_TOKEN, encoding_aes_key=DEMO_AES_KEY, secret=DEMO_SECRET)
    try:
        async with WeChatClients.for_accounts(
            [account], MongoTokenStore(database), api, lane=lane, rate_limiter=limiter
        ) as clients:
            config = DispatchConfig(click_base_url="http://127.0.0.1:8014", click_key=b"bench-click-links")
            dispatcher = Dispatcher(store, WeChatSender(clients), config, read_push=push_from_document)
            await clients[DEMO_APPID].list_followers()  # the token, before the clock starts
            _say(_READY)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            cpu, started = time.process_time(), time.time()
            while await dispatcher.run_once():
                pass
            finished, cpu = time.time(), time.process_time() - cpu
    finally:
        await client.close()
    total = store.pushes[doc["_id"]]["stats"]["total"]
    return {
        "sent": int(total.get("sent", 0)),
        "failed": sum(total.get("failed", {}).values()),
        "started": started,
        "finished": finished,
        "cpu": cpu,
        "round_trips": limiter.round_trips,
        "conflicts": limiter.conflicts,
        "starts": lane.starts,
    }


@dataclass(frozen=True)
class _Round:
    results: list[_Result]
    #: The simulator's CPU seconds while the dispatchers sent.
    sim_cpu: float
    load: float


def _run_dispatchers(
    settings: ServiceSettings, stack: Stack, count: int, members: int, tag: str, limit: RateLimit
) -> _Round:
    sim = stack.url("wechat-sim")
    sim_pids = [stack.processes["wechat-sim"].pid] if stack.processes["wechat-sim"].pid else []
    processes = []
    for n in range(count):
        args = {
            "name": f"{tag}_{n}",
            "members": members,
            "sim": sim,
            "mongodb_url": settings.mongodb_url.get_secret_value(),
            "database": stack.database,
            "limit": limit.model_dump(),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "scrm_dev.bench_scaleout", json.dumps(args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for process in processes:  # every one ready (members added, token read) before any starts
            assert process.stdout is not None
            for line in process.stdout:  # past its log lines
                if line.strip() == _READY:
                    break
            else:
                raise RuntimeError(f"a dispatcher did not start ({process.wait()})")
        load, sim_cpu = os.getloadavg()[0], _process_cpu(sim_pids)
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = []
        for process in processes:
            out, _ = process.communicate(timeout=600)
            if process.returncode != 0:
                raise RuntimeError(f"a dispatcher failed ({process.returncode})")
            outputs.append(out)
        sim_cpu = _process_cpu(sim_pids) - sim_cpu
        results = []
        for out in outputs:
            [result] = [line[len(_RESULT) :] for line in out.splitlines() if line.startswith(_RESULT)]
            results.append(_Result(**json.loads(result)))
        return _Round(results, sim_cpu, load)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def bench_scaleout(
    console: Console,
    settings: ServiceSettings,
    stack: Stack,
    *,
    sends: int = 8_000,
    counts: Sequence[int] = (1, 2, 4),
    binding: RateLimit = _BINDING,
) -> list[Row]:
    """``sends`` template sends by 1, 2 and 4 dispatchers sharing the account's pace (above what one
    dispatcher reaches: the rate grows with processes until the pace or the machine stops it), then by 4
    under a ``binding`` pace well below what they reach (the limiter, not the machine, sets the rate);
    ``stack`` runs ``wechat-sim`` with :data:`SCALE_SIM_ENV`."""
    sim = stack.url("wechat-sim")
    rows: list[Row] = []
    within = True
    runs = [(count, _SHARED, sends) for count in counts] + [(4, binding, int(binding.rate * 8))]
    #: Per shared-pace run: dispatcher processes, sends/s, CPU ms a send of the dispatchers and the simulator.
    measured: list[tuple[int, float, float, float]] = []
    for count, limit, total in runs:
        with console.status(f"{total:,} sends by {count} dispatcher process(es) sharing {limit.rate:,.0f}/s..."):
            before = _calls(sim)
            run = _run_dispatchers(settings, stack, count, total // count, f"s{count}_{int(time.time())}", limit)
            started = min(r.started for r in run.results)
            after = _calls(sim, since=started)
        sent = sum(r.sent for r in run.results)
        failed = sum(r.failed for r in run.results)
        seconds = max(r.finished for r in run.results) - started
        cpu_per_send = 1000 * sum(r.cpu for r in run.results) / max(sent, 1)
        sim_per_send = 1000 * run.sim_cpu / max(sent, 1)
        refused = int(after["refused_45011"]) - int(before["refused_45011"])
        busiest = int(after["busiest_second"])
        # The limiter's own promise, on the requests as they left every dispatcher (any one second).
        started_in_a_second = _busiest_second([at for r in run.results for at in r.starts])
        allowed = limit.burst + limit.rate * 1.05 + 1  # a slot used up to 50 ms late; a window holds both ends
        within = within and started_in_a_second <= allowed and busiest <= ACCOUNT_LIMIT
        within = within and refused == 0 and failed == 0
        overlap = _all_sending_rate(run.results)
        if limit is _SHARED:
            measured.append((count, overlap or sent / seconds, cpu_per_send, sim_per_send))
        rows.append(
            (
                f"push sends, {count} dispatcher process{'es' if count > 1 else ''} sharing one account's pace "
                f"({limit.rate:,.0f}/s, burst {limit.burst}; simulator limit {ACCOUNT_LIMIT:,}/s), store in memory",
                f"{sent / seconds:,.0f} sends/s",
                f"sent {sent:,}, failed {failed}; "
                + (
                    f"{overlap:,.0f}/s while all {count} sent (first start to last finish: ragged ends); "
                    if overlap
                    else ""
                )
                + "most started in any one second, all dispatchers "
                f"{started_in_a_second:,} (pace allows {allowed:,.0f}); at the simulator: busiest clock second "
                f"{busiest:,} (limit {ACCOUNT_LIMIT:,}), refused (45011) {refused}; CPU per send: dispatchers "
                f"{cpu_per_send:.3f} ms, simulator {sim_per_send:.3f} ms (the simulator busy "
                f"{100 * run.sim_cpu / max(seconds, 1e-9):.0f}% of one core); "
                f"{sum(r.round_trips for r in run.results):,} leases from MongoDB; load {run.load:.1f} at the start",
            )
        )
    rows += _ceiling_rows(measured, _SHARED)
    rows.append(
        (
            f"push goal: dispatchers share one account's limit ({ACCOUNT_LIMIT:,}/s at the simulator)",
            "meets" if within else "misses",
            "no second over the pace they share (as sent) or the account's limit (as counted by the simulator), "
            "nothing refused or failed"
            if within
            else "a second over the limit, a refusal or a failure: see the rows above",
        )
    )
    return rows


def _all_sending_rate(results: Sequence[_Result]) -> float | None:
    """Sends per second while every dispatcher was sending (from the last to start to the first to
    finish); None with one dispatcher or when that window is under a second."""
    if len(results) < 2:
        return None
    start, end = max(r.started for r in results), min(r.finished for r in results)
    if end - start < 1.0:
        return None
    return sum(1 for r in results for at in r.starts if start <= at < end) / (end - start)


def machine_ceiling(dispatcher_ms: float, simulator_ms: float, cores: int = 2) -> tuple[float, float]:
    """Sends per second this machine allows at these CPU costs a send: all ``cores`` busy with the
    dispatchers and the simulator together, and the simulator alone (one process: one core at most)."""
    both = 1000 * cores / max(dispatcher_ms + simulator_ms, 1e-9)
    return both, 1000 / max(simulator_ms, 1e-9)


def _ceiling_rows(measured: Sequence[tuple[int, float, float, float]], pace: RateLimit) -> list[Row]:
    """What bounds the shared-pace runs: the pace, or the machine at the CPU a send cost (the cheapest
    run's, the one least slowed by other processes); and whether the rate grew with processes until then."""
    if not measured:
        return []
    dispatcher_ms = min(m[2] for m in measured)
    simulator_ms = min(m[3] for m in measured)
    both, simulator = machine_ceiling(dispatcher_ms, simulator_ms)
    ceiling = min(pace.rate, both, simulator)
    bound = (
        "the shared pace"
        if ceiling == pace.rate
        else "the simulator's one core"
        if ceiling == simulator
        else "two cores"
    )
    # Grows: each step adds 10% or more, or the rate before it was already near what bounds it.
    steps = list(itertools.pairwise(measured))
    grows = all(after[1] >= 1.1 * before[1] or before[1] >= 0.85 * ceiling for before, after in steps)
    rates = " → ".join(f"{m[0]}: {m[1]:,.0f}/s" for m in measured)
    return [
        (
            "push sends: the ceiling this machine imposes (2 cores, dispatchers and simulator on them)",
            f"{ceiling:,.0f} sends/s",
            f"bound by {bound}: at {dispatcher_ms:.3f} ms a send in the dispatchers and {simulator_ms:.3f} ms in "
            f"the simulator (the cheapest run's), two cores allow {both:,.0f}/s and the simulator's one process "
            f"{simulator:,.0f}/s; the shared pace {pace.rate:,.0f}/s; other agents' load takes from both",
        ),
        (
            "push goal: sends per second grow with dispatcher processes up to the account's pace or the machine",
            "meets" if grows else "misses",
            f"{rates} (ceiling {ceiling:,.0f}/s: {bound})",
        ),
    ]


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _add_members(sim: str, openids: list[str]) -> None:
    """The members on the simulator, 16 at a time; a loaded simulator may drop a connection (retried:
    a member added already is fine)."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=sim, timeout=60) as client:

        async def one(openid: str) -> None:
            for attempt in range(5):
                try:
                    async with gate:
                        answer = await client.post(
                            f"/sim/accounts/{DEMO_APPID}/members", json={"openid": openid, "following": True}
                        )
                except httpx.TransportError:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                assert answer.status_code in (201, 409), answer.text
                return
            raise RuntimeError(f"could not add {openid} to the simulator")

        await asyncio.gather(*(one(openid) for openid in openids))


def _calls(sim: str, since: float | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"api": _TEMPLATE_SEND}
    if since is not None:
        params["since"] = since
    answer = httpx.get(f"{sim}/sim/accounts/{DEMO_APPID}/calls", params=params, timeout=30)
    answer.raise_for_status()
    report: dict[str, Any] = answer.json()
    return report


if __name__ == "__main__":
    _say(_RESULT + json.dumps(asyncio.run(_dispatch(json.loads(sys.argv[1])))))
