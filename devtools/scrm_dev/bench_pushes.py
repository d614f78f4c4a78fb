"""The push rows of ``scrm bench``: freezing a million-member audience, and sends per second from one
dispatcher to the WeChat simulator.

Both run the service's own code against the local stand-ins, in this process: :func:`freeze` (the
segment's members from the live index, their openids, the audience documents written to SecantusDB)
and :class:`Dispatcher` (decide, record, send through the real WeChat client and its rate limiter,
settle) with the simulator as a separate process, started by :func:`~scrm_dev.stack.local_stack` with
:data:`SIM_ENV`. MongoDB calls and the send phase are timed on the side, so a slow row says where its
time went.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport
from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase
from rich.console import Console

from scrm_dev.bench_segments import _build_index, synthetic_profiles
from scrm_dev.stack import DEMO_AES_KEY, DEMO_APPID, DEMO_SECRET, DEMO_TOKEN, Stack
from services.profiles.adapters.repository import PROFILES, to_document
from services.profiles.domain.profile import ConsentKind, Follow, Profile
from services.segments.adapters.facts import MongoFacts
from services.segments.adapters.memory import InMemoryPushes
from services.segments.adapters.push_documents import push_from_document
from services.segments.adapters.store import AUDIENCES, INDEXES, MongoPushes, MongoSegments
from services.segments.adapters.wechat_sender import WeChatSender
from services.segments.bootstrap import send_config
from services.segments.domain.membership import MembershipIndex
from services.segments.domain.rules import parse_rule
from services.segments.service_layer.audience import freeze
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.live_index import LiveIndex
from services.segments.settings import SegmentsSettings
from shared.settings import ServiceSettings
from shared.storage import create_client, ensure_indexes
from shared.wechat import WeChatAccount
from shared.wechat_client import (
    ACCESS_TOKEN_INDEXES,
    HttpLane,
    LaneAnswer,
    MongoTokenStore,
    RateLimit,
    WeChatApiConfig,
    WeChatClients,
)

__all__ = ["GOAL_CPU_MS_PER_SEND", "GOAL_FREEZE_SECONDS", "GOAL_SENDS_PER_SECOND", "SIM_ENV", "bench_pushes"]

Row = tuple[str, str, str]

#: From the issue: a million-member audience is frozen in under a minute ...
GOAL_FREEZE_SECONDS = 60.0
#: ... and one dispatcher sends at least 2,000 messages a second within the platform's limits.
GOAL_SENDS_PER_SECOND = 2_000.0
#: Issue 20: the dispatcher's own CPU per send (deciding, recording, the client, the HTTP exchange).
GOAL_CPU_MS_PER_SEND = 0.25
_TEMPLATE_SEND = "message/template/send"
_SENDING = "sending"
#: The simulator for this bench: job-finish pushes held back past the run (no gateway runs here; they
#: would only take the simulator's CPU), and sent nowhere that listens if they ever went.
SIM_ENV = {
    "JOB_PUSH_DELAY_SECONDS": "3600",
    "WECHAT_SIM_OPTIONS": json.dumps({DEMO_APPID: {"gateway_url": "http://127.0.0.1:9/wechat/{appid}"}}),
}
_TEMPLATE = {"template_id": "tpl_bench", "data": {"thing1": "孕晚期奶粉指南"}, "url": "https://brand.example/guide"}


def _push_document(push_id: str, appid: str, segment_id: str, now: datetime) -> dict[str, Any]:
    """A push as the API stores it, already claimed for freezing (what :func:`freeze` is handed)."""
    return {
        "_id": push_id,
        "appid": appid,
        "name": push_id,
        "segment_id": segment_id,
        "variants": [
            {"name": "A", "weight": 1, "template": _TEMPLATE},
            {"name": "B", "weight": 1, "template": _TEMPLATE},
        ],
        "send_at": now - timedelta(seconds=1),
        "quiet_hours": None,
        "cap": {"per_day": 1, "per_week": 3},
        "broadcast": False,
        "status": "materializing",
        "created_at": now,
        "resume_at": None,
        "lease_until": None,
        "stats": {"total": {"targeted": 0, "sent": 0}},
    }


def _live(index: MembershipIndex, database: AsyncDatabase[Any]) -> LiveIndex:
    live = LiveIndex(MongoFacts(database))
    live.index = index  # built outside the timed part, as the API process has it before any push is due
    return live


# -- audience materialization ------------------------------------------------------------------------


async def _freeze_rows(settings: ServiceSettings, database: str, index: MembershipIndex, members: int) -> list[Row]:
    appid, now = "wx_bench_segments", datetime.now(UTC)  # the appid of synthetic_profiles
    rule_data = {"consent": "marketing"}
    rule = parse_rule(rule_data)
    rounds = []
    for _ in range(3):  # what freeze does before writing, alone (pure CPU)
        started = time.perf_counter()
        selected = index.select(rule, now) & index.account(appid)
        picked = time.perf_counter()
        openids = [openid for _, openid in index.keys(selected)]
        rounds.append(((picked - started) * 1000, (time.perf_counter() - picked) * 1000))
    select_ms = statistics.median(r[0] for r in rounds)
    keys_ms = statistics.median(r[1] for r in rounds)
    del openids
    client = create_client(settings, timeout_ms=120_000)
    try:
        db = client[database]
        await ensure_indexes(db, INDEXES)
        pushes, segments = MongoPushes(db), MongoSegments(db)
        segment = await segments.create(appid, "bench: marketing consent", "", rule_data)
        doc = _push_document("push_bench_freeze", appid, segment.id, now)
        await pushes.insert(doc)
        write: list[float] = []
        save_audience = pushes.save_audience

        async def timed_save(push_id: str, openids: Any, chunk: int) -> int:
            started = time.perf_counter()
            try:
                return await save_audience(push_id, openids, chunk)
            finally:
                write.append(time.perf_counter() - started)

        pushes.save_audience = timed_save  # type: ignore[method-assign]
        started = time.perf_counter()
        size = await freeze(doc, pushes, segments, _live(index, db), now, 10_000)
        total = time.perf_counter() - started
        frozen = await pushes.get(doc["_id"])
        stored = await db[AUDIENCES].count_documents({"push_id": doc["_id"]})
        # Out of the way of the send runs' dispatchers, which would claim it (and SecantusDB's memory).
        await pushes.pushes.delete_one({"_id": doc["_id"]})
        await db[AUDIENCES].delete_many({"push_id": doc["_id"]})
    finally:
        await client.close()
    assert size is not None and frozen is not None and frozen["status"] == "sending", frozen
    assert frozen["audience_size"] == size and stored == frozen["audience_chunks"], (frozen, stored)
    verdict = "meets" if total < GOAL_FREEZE_SECONDS else "misses"
    return [
        (
            f"push audience frozen at {members:,} members (rule {json.dumps(rule_data)}, SecantusDB)",
            f"{size:,} members in {total:.1f} s",
            f"select & account {select_ms:.1f} ms, openids {keys_ms:.0f} ms; "
            f"write {write[0]:.1f} s ({stored} documents of 10,000 openids)",
        ),
        (
            f"push goal: audience of {members:,} members frozen < {GOAL_FREEZE_SECONDS:.0f} s",
            verdict,
            f"{total:.1f} s for {size:,} openids ({size / total:,.0f} openids/s, the index build not counted)",
        ),
    ]


# -- sends per second -----------------------------------------------------------------------------


class _RecordingLane(HttpLane):
    """The worker's lane for JSON calls (every send goes by it), noting when each template send went out
    and how long its answer took."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []
        self.latencies: list[float] = []

    async def exchange(self, method: str, url: str, params: Mapping[str, str], body: bytes | None) -> LaneAnswer:
        started = time.time()  # wall time: dispatchers in several processes are compared
        answer = await super().exchange(method, url, params, body)
        if url.endswith(_TEMPLATE_SEND):
            self.starts.append(started)
            self.latencies.append(time.time() - started)
        return answer


def _busiest_second(starts: list[float]) -> int:
    """The most requests started within any one second."""
    starts = sorted(starts)
    best, first = 0, 0
    for last, at in enumerate(starts):
        while at - starts[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


@dataclass
class _Phases:
    """Wall time of the dispatcher's awaits, by MongoDB call and for the concurrent send phase."""

    spent: dict[str, float] = field(default_factory=dict)
    #: This process's CPU seconds in the same calls.
    cpu: dict[str, float] = field(default_factory=dict)

    def wrap(self, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return await call(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

        return timed


class _Commands(monitoring.CommandListener):
    """The MongoDB commands a client sent while ``active``, by command and collection: the round trips
    a slice costs. Registered for the whole process (pymongo's global listeners), counting only while on."""

    def __init__(self) -> None:
        self.active = False
        self.counts: dict[str, int] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active:
            target = event.command.get(event.command_name)
            name = event.command_name if not isinstance(target, str) else f"{event.command_name} {target}"
            self.counts[name] = self.counts.get(name, 0) + 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def per_slice(self, slices: int, top: int = 6) -> str:
        """Round trips per slice, in all and the most frequent."""
        total = sum(self.counts.values())
        ranked = sorted(self.counts.items(), key=lambda item: -item[1])[:top]
        parts = ", ".join(f"{name} {count / slices:.1f}" for name, count in ranked)
        return f"{total / slices:.1f} MongoDB round trips a slice of 500 ({parts})"


_COMMANDS: list[_Commands] = []


def _commands() -> _Commands:
    """The process's command counter, registered on first use (before the client it counts is built)."""
    if not _COMMANDS:
        _COMMANDS.append(_Commands())
        monitoring.register(_COMMANDS[0])
    return _COMMANDS[0]


_STORE_CALLS = (
    "claim_due", "get", "update", "audience_chunk", "recorded", "profiles_of", "recent_sends", "record",
)  # fmt: skip
#: What the dispatcher waits for MongoDB for: its store's calls, and "outcomes", the transaction that
#: writes a slice's outcomes with their events (``Dispatcher._write``).
_MONGO_PHASES = (*_STORE_CALLS, "outcomes")


@dataclass(frozen=True)
class _Run:
    sent: int
    failed: int
    skipped: int
    status: str
    seconds: float
    limit: RateLimit
    busiest: int
    latencies: list[float]
    phases: dict[str, float]
    cpu: dict[str, float]
    #: CPU seconds per process over the run: this dispatcher, the simulator, SecantusDB.
    processes: dict[str, float] = field(default_factory=dict)
    #: MongoDB round trips a slice (store in SecantusDB only).
    round_trips: str = ""


def _recipients(prefix: str, n: int, now: datetime) -> list[dict[str, Any]]:
    """Profiles every rule of the dispatcher lets through: following, marketing consent, active in 48 h."""
    documents = []
    for i in range(n):
        profile = Profile(DEMO_APPID, f"{prefix}{i:06d}")
        followed = now - timedelta(days=30 + i % 700)
        profile.follow = Follow(followed, followed, None)
        profile.last_active_at = now - timedelta(minutes=10 + i % 2000)
        profile.set_consent(ConsentKind.MARKETING, True, followed, "h5_form")
        documents.append(to_document(profile))
    return documents


async def _add_to_sim(sim: str, openids: list[str]) -> None:
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=sim, timeout=30) as client:

        async def one(openid: str) -> None:
            async with gate:
                answer = await client.post(
                    f"/sim/accounts/{DEMO_APPID}/members", json={"openid": openid, "following": True}
                )
            assert answer.status_code == 201, answer.text

        await asyncio.gather(*(one(openid) for openid in openids))


async def _own_work_run(
    sim: str, *, members: int, limit: RateLimit, sim_pid: int | None, mongo: Any, name: str = "own"
) -> _Run:
    """``members`` template sends by one dispatcher to the simulator, its store in memory."""
    now = datetime.now(UTC)
    documents = _recipients(f"o_{name}_", members, now)
    await _add_to_sim(sim, [d["openid"] for d in documents])
    doc = _push_document(f"push_bench_{name}", DEMO_APPID, "seg_own", now) | {"status": "sending", "cursor": None}
    store = InMemoryPushes()
    await store.insert(doc)
    await store.save_audience(doc["_id"], [d["openid"] for d in documents], 10_000)
    store.add_profiles(documents)
    api = WeChatApiConfig(base_url=sim, qr_image_base_url=sim, rate_limits={_TEMPLATE_SEND: limit})
    transport = _RecordingLane()
    account = WeChatAccount(appid=DEMO_APPID, token=DEMO_TOKEN, encoding_aes_key=DEMO_AES_KEY, secret=DEMO_SECRET)
    async with WeChatClients.for_accounts(
        [account], MongoTokenStore(mongo), api, transport=AiohttpTransport(), lane=transport
    ) as clients:
        config = DispatchConfig(click_base_url="http://127.0.0.1:8014", click_key=b"bench-click-links")
        dispatcher = Dispatcher(store, WeChatSender(clients), config, read_push=push_from_document)
        await clients[DEMO_APPID].list_followers()  # the token, before the clock starts
        before = _process_cpu([sim_pid] if sim_pid else [])
        own = time.process_time()
        started = time.perf_counter()
        while await dispatcher.run_once():
            pass
        seconds = time.perf_counter() - started
        used = {
            "dispatcher": time.process_time() - own,
            "simulator": _process_cpu([sim_pid] if sim_pid else []) - before,
        }
    total = store.pushes[doc["_id"]]["stats"]["total"]
    return _Run(
        sent=int(total.get("sent", 0)),
        failed=sum(total.get("failed", {}).values()),
        skipped=sum(total.get("skipped", {}).values()),
        status=str(store.pushes[doc["_id"]]["status"]),
        seconds=seconds,
        limit=api.rate_limit(_TEMPLATE_SEND),
        busiest=_busiest_second(transport.starts),
        latencies=sorted(transport.latencies),
        phases={},
        cpu={},
        processes=used,
    )


def _process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far, from /proc; 0 where unreadable."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _pids_running(name: str) -> list[int]:
    """Processes whose command line mentions ``name`` (the MongoDB stand-in, started by this run or not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if name.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def _send_run(
    settings: ServiceSettings,
    database: str,
    sim: str,
    *,
    name: str,
    members: int,
    limit: RateLimit,
    sim_pid: int | None = None,
) -> _Run:
    """``members`` new profiles on the simulator and in MongoDB, frozen into a push's audience, then sent
    by one dispatcher (``limit`` for template sends) until the push is done."""
    now = datetime.now(UTC)
    documents = _recipients(f"o_{name}_", members, now)
    commands = _commands()
    client = create_client(settings, timeout_ms=60_000)
    try:
        db = client[database]
        await ensure_indexes(db, (*INDEXES, *ACCESS_TOKEN_INDEXES))
        await asyncio.gather(
            db[PROFILES].insert_many(documents, ordered=False), _add_to_sim(sim, [d["openid"] for d in documents])
        )
        index, _ = _build_index(documents, now.date())
        pushes, segments = MongoPushes(db), MongoSegments(db)
        rule = {"account": DEMO_APPID}
        segment = await segments.create(DEMO_APPID, f"bench {name}", "", rule)
        doc = _push_document(f"push_bench_{name}", DEMO_APPID, segment.id, now)
        await pushes.insert(doc)
        assert await freeze(doc, pushes, segments, _live(index, db), now, 10_000) == members

        api = WeChatApiConfig(base_url=sim, qr_image_base_url=sim, rate_limits={_TEMPLATE_SEND: limit})
        transport = _RecordingLane()
        phases = _Phases()
        for call in _STORE_CALLS:
            setattr(pushes, call, phases.wrap(call, getattr(pushes, call)))
        account = WeChatAccount(appid=DEMO_APPID, token=DEMO_TOKEN, encoding_aes_key=DEMO_AES_KEY, secret=DEMO_SECRET)
        async with WeChatClients.for_accounts(
            [account], MongoTokenStore(db), api, transport=AiohttpTransport(), lane=transport
        ) as clients:
            config = DispatchConfig(click_base_url="http://127.0.0.1:8014", click_key=b"bench-click-links")
            dispatcher = Dispatcher(pushes, WeChatSender(clients), config, read_push=push_from_document)
            setattr(dispatcher, "_deliver_all", phases.wrap(_SENDING, dispatcher._deliver_all))  # noqa: B010
            setattr(dispatcher, "_write", phases.wrap("outcomes", dispatcher._write))  # noqa: B010
            others = {"simulator": [sim_pid] if sim_pid else [], "SecantusDB": _pids_running("secantusd")}
            before = {label: _process_cpu(pids) for label, pids in others.items()}
            own = time.process_time()
            commands.counts, commands.active = {}, True
            started = time.perf_counter()
            try:
                while await dispatcher.run_once():
                    pass
            finally:
                commands.active = False
            seconds = time.perf_counter() - started
            used = {"dispatcher": time.process_time() - own}
            used |= {label: _process_cpu(pids) - before[label] for label, pids in others.items()}
        done = await pushes.pushes.find_one({"_id": doc["_id"]})
    finally:
        await client.close()
    assert done is not None
    total = done["stats"]["total"]
    return _Run(
        sent=int(total.get("sent", 0)),
        failed=sum(total.get("failed", {}).values()),
        skipped=sum(total.get("skipped", {}).values()),
        status=str(done["status"]),
        seconds=seconds,
        limit=api.rate_limit(_TEMPLATE_SEND),
        busiest=_busiest_second(transport.starts),
        latencies=sorted(transport.latencies),
        phases=phases.spent,
        cpu=phases.cpu,
        processes=used,
        round_trips=commands.per_slice(max(1, -(-members // config.slice_size))),
    )


def _limit_text(limit: RateLimit) -> str:
    return f"{limit.rate:,.0f}/s (burst {limit.burst})"


def _breakdown(run: _Run) -> str:
    if not run.phases:  # the store in memory: only where the CPU went
        return "CPU per send: " + ", ".join(
            f"{label} {1000 * cpu / max(run.sent, 1):.2f} ms" for label, cpu in run.processes.items()
        )
    mongo = sum(v for k, v in run.phases.items() if k in _MONGO_PHASES)
    sending = run.phases.get(_SENDING, 0.0)
    calls = sorted(((v, k) for k, v in run.phases.items() if k in _MONGO_PHASES), reverse=True)
    top = ", ".join(f"{k} {v:.1f}" for v, k in calls if v >= 0.05 * mongo)
    # The dispatcher reads the next slice and settles the previous one while a slice is being sent, so
    # MongoDB time overlaps the sends: the parts add up to more than the whole.
    return (
        f"of {run.seconds:.1f} s: sends in flight {sending:.1f} s (this process's CPU in them "
        f"{run.cpu.get(_SENDING, 0.0):.1f} s, {1000 * run.cpu.get(_SENDING, 0.0) / max(run.sent, 1):.2f} ms a send); "
        f"MongoDB calls {mongo:.1f} s in all, overlapping the sends ({top}); {run.round_trips}; CPU per send: "
        + ", ".join(f"{label} {1000 * cpu / max(run.sent, 1):.2f} ms" for label, cpu in run.processes.items())
    )


def bench_pushes(
    console: Console,
    settings: ServiceSettings,
    stack: Stack,
    *,
    members: int = 1_000_000,
    sends: int = 5_000,
    own_sends: int = 10_000,
    paced_sends: int = 300,
    paced_rate: int = 100,
) -> list[Row]:
    """The freeze of an audience at ``members``; template sends from one dispatcher to the simulator at
    the worker's shipped pace (``SEND_RATE_PER_SECOND``): ``sends`` with its store in SecantusDB and
    ``own_sends`` with its store in memory (its own work); ``paced_sends`` under a ``paced_rate``/s limit
    (that the limiter holds it). ``stack`` runs ``wechat-sim`` with :data:`SIM_ENV`."""
    now = datetime.now(UTC)
    with console.status(f"{members:,} synthetic profiles into a live index (not timed)..."):
        index, _ = _build_index(synthetic_profiles(members, now), now.date())
    with console.status("freezing a push's audience..."):
        rows = asyncio.run(_freeze_rows(settings, stack.database, index, members))
    del index
    sim = stack.url("wechat-sim")
    sim_pid = stack.processes["wechat-sim"].pid
    slow = RateLimit(calls=paced_rate, period=1.0, burst=max(1, paced_rate // 20))
    with console.status(f"{paced_sends} sends at {paced_rate}/s..."):
        paced = asyncio.run(
            _send_run(settings, stack.database, sim, name="paced", members=paced_sends, limit=slow, sim_pid=sim_pid)
        )
    limit = send_config(SegmentsSettings(environment="development")).rate_limit(_TEMPLATE_SEND)
    with console.status(f"{sends:,} sends from one dispatcher to the simulator..."):
        fast = asyncio.run(
            _send_run(settings, stack.database, sim, name="fast", members=sends, limit=limit, sim_pid=sim_pid)
        )

    async def own_work() -> _Run:
        client = create_client(settings, timeout_ms=60_000)
        try:
            mongo = client[stack.database]  # the access token only
            return await _own_work_run(sim, members=own_sends, limit=limit, sim_pid=sim_pid, mongo=mongo)
        finally:
            await client.close()

    with console.status(f"{own_sends:,} sends from one dispatcher, its store in memory..."):
        own = asyncio.run(own_work())
    runs = (
        (paced, f"{paced_sends:,} members, store in SecantusDB"),
        (fast, f"{sends:,} members, store in SecantusDB"),
        (own, f"{own_sends:,} members, store in memory (the dispatcher's own work)"),
    )
    for run, what in runs:
        p50 = statistics.median(run.latencies) * 1000
        p99 = run.latencies[int(0.99 * (len(run.latencies) - 1))] * 1000
        rows.append(
            (
                f"push sends, one dispatcher → simulator, template only, {what}, client limit {_limit_text(run.limit)}",
                f"{run.sent / run.seconds:,.0f} sends/s",
                f"sent {run.sent:,}, failed {run.failed}, skipped {run.skipped}, push {run.status}; "
                f"busiest second {run.busiest:,} sends (limit allows {run.limit.burst + run.limit.rate:,.0f}); "
                f"HTTP p50 {p50:.1f} ms, p99 {p99:.1f} ms; {_breakdown(run)}",
            )
        )
    honoured = all(run.busiest <= run.limit.burst + run.limit.rate for run, _ in runs)
    own_rate, stored_rate = own.sent / own.seconds, fast.sent / fast.seconds
    complete = own.sent == own_sends and fast.sent == sends and not own.failed and not fast.failed
    if own_rate >= GOAL_SENDS_PER_SECOND and complete and honoured:
        verdict = "meets on the dispatcher's own work" if stored_rate < GOAL_SENDS_PER_SECOND else "meets"
    else:
        verdict = "misses"
    own_cpu = 1000 * own.processes.get("dispatcher", 0.0) / max(own.sent, 1)
    rows.append(
        (
            f"push goal: the dispatcher's own CPU ≤ {GOAL_CPU_MS_PER_SEND} ms a send (issue 20)",
            "meets" if own_cpu <= GOAL_CPU_MS_PER_SEND and complete else "misses",
            f"{own_cpu:.3f} ms a send (this process's CPU time over {own.sent:,} sends, store in memory; the "
            f"load beside it is in the stage table)",
        )
    )
    rows.append(
        (
            f"push goal: ≥{GOAL_SENDS_PER_SECOND:,.0f} sends/s from one dispatcher, limits honoured",
            verdict,
            f"{own_rate:,.0f} sends/s with the store in memory, {stored_rate:,.0f} with it in SecantusDB, "
            f"at a {_limit_text(fast.limit)} limit; "
            f"{'no second over its limit' if honoured else 'a second over its limit'}",
        )
    )
    return rows
