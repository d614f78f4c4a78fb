"""Webhook ingest measured as a user would run it: ``scrm run gateway`` against a bare endpoint.

The gateway is the real process (``scrm run gateway``, as ``local_stack`` starts it) and the yardstick
a bare FastAPI endpoint under the same uvicorn setup; each is pinned to one core, while wrk, the
broker and SecantusDB (when this stage started them) and this process are pinned to the others. The
pushes are fresh signed safe-mode text messages from distinct members (random openids, every MsgId
new, a new nonce each), so neither the retry ledger nor the replay store ever short-cuts one. The two
yardsticks alternate, round after round, so a slow spell on the shared machine lands on both; the
ratio is reported per round (median and spread). Beside throughput, each process's CPU time per
request (from /proc/<pid>/stat) is reported: it moves far less with the machine's load than
requests per second do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from rich.console import Console

from scrm_dev import pushes
from scrm_dev.load import LoadResult, open_loop, run_wrk, write_requests, wrk_available
from scrm_dev.stack import DEMO_AES_KEY, DEMO_APPID, DEMO_TOKEN, benchmark_stack
from shared.localinfra import LocalInfrastructure, free_port, parse_host_port
from shared.settings import ServiceSettings
from shared.wechat import MessageCrypto, Mode, seal_push

Row = tuple[str, str, str]

#: The issue's measurement: wrk with one thread and 64 connections.
CONNECTIONS = 64
GOAL_RATIO = 0.60
GOAL_P99_MS = 20.0


class PushSource:
    """Fresh signed safe-mode text pushes: a new member (random openid) and a new MsgId each time."""

    def __init__(self) -> None:
        self._crypto = MessageCrypto(DEMO_APPID, DEMO_AES_KEY)
        self._msg_id = 10_000_000 + secrets.randbelow(10**9)

    def take(self, n: int) -> list[tuple[str, bytes]]:
        now = int(time.time())
        requests = []
        for _ in range(n):
            self._msg_id += 1
            openid = "o" + secrets.token_urlsafe(20)[:27]  # a real openid's length and alphabet
            message = pushes.text(openid, now, "我想领取孕期礼包", self._msg_id)
            signed = seal_push(
                message, token=DEMO_TOKEN, mode=Mode.SAFE, crypto=self._crypto, timestamp=now, openid=openid
            )
            requests.append((f"/wechat/{DEMO_APPID}?{urlencode(signed.params)}", signed.body))
        return requests


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` onto ``cpus`` (a process's threads keep their own affinity)."""
    try:
        tasks = [int(task) for task in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tasks = [pid]
    for task in tasks:
        try:
            os.sched_setaffinity(task, cpus)
        except OSError:
            continue  # a thread that just ended


@dataclass(frozen=True)
class Round:
    """One wrk run at one yardstick."""

    result: LoadResult
    cpu_ms_per_request: float
    load: float


@dataclass(frozen=True)
class Cores:
    server: set[int]
    others: set[int]

    @classmethod
    def split(cls) -> Cores:
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            return cls(set(available), set(available))
        return cls({available[0]}, set(available[1:]))

    @property
    def wrk_cpus(self) -> str:
        return ",".join(str(cpu) for cpu in sorted(self.others))


def _measure(url: str, pid: int, requests: Path, *, seconds: int, cores: Cores) -> Round:
    before = cpu_seconds(pid)
    result = run_wrk(url, requests, seconds=seconds, connections=CONNECTIONS, threads=1, cpus=cores.wrk_cpus)
    spent = cpu_seconds(pid) - before
    return Round(result, spent / max(1, result.requests) * 1000, os.getloadavg()[0])


def _spread(values: Iterable[float], fmt: str) -> str:
    ordered = sorted(values)
    return f"median {format(statistics.median(ordered), fmt)} ({format(ordered[0], fmt)}–{format(ordered[-1], fmt)})"


@contextmanager
def _uvicorn(factory: str, *, pinned: set[int]) -> Iterator[tuple[str, int]]:
    """A yardstick app in its own uvicorn process, configured like the services' (uvloop, httptools)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", factory, "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{factory} did not start")
            time.sleep(0.05)
        pin(process.pid, pinned)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(10)


def _infra_pids(settings: ServiceSettings, state_dir: Path, started: tuple[str, ...]) -> list[int]:
    """The broker and SecantusDB processes, when this stage started them (never pin someone else's)."""
    infra = LocalInfrastructure(
        state_dir / "infra",
        kafka=parse_host_port(settings.kafka_bootstrap_servers, 9092),
        mongodb=parse_host_port(settings.mongodb_url.get_secret_value(), 27017),
    )
    status = infra.status()
    return [server.pid for server in status.servers() if server.pid is not None and server.name in started]


def bench_ingest(
    console: Console, settings: ServiceSettings, state_dir: Path, *, seconds: int, rounds: int = 3
) -> list[Row]:
    """Rounds of bare endpoint then gateway at peak (wrk), then both at half the gateway's peak."""
    if not wrk_available():
        console.print("[yellow]wrk not installed (apt-get install wrk): ingest benchmark skipped[/yellow]")
        return [("webhook ingest vs bare endpoint", "not measured", "wrk not installed")]
    cores = Cores.split()
    source = PushSource()
    work = Path(tempfile.mkdtemp(prefix="scrm-ingest-"))
    bare_rounds: list[Round] = []
    gateway_rounds: list[Round] = []
    repeated = 0
    with (
        benchmark_stack(console, settings, state_dir, "ingest", only=["gateway"]) as stack,
        _uvicorn("scrm_dev.bare:create_app", pinned=cores.server) as (bare, bare_pid),
    ):
        gateway = stack.url("gateway")
        gateway_pid = stack.processes["gateway"].pid
        assert gateway_pid is not None
        pin(gateway_pid, cores.server)
        for pid in _infra_pids(settings, state_dir, stack.started_infra):
            pin(pid, cores.others)
        pin(os.getpid(), cores.others)
        # Warm both up and size the pools: a push wrk sends twice would be a retry, answered from the ledger.
        write_requests(work / "warmup.txt", source.take(4000))
        run_wrk(bare, work / "warmup.txt", seconds=2, connections=CONNECTIONS, threads=1, cpus=cores.wrk_cpus)
        probe = _measure(gateway, gateway_pid, work / "warmup.txt", seconds=2, cores=cores)
        pool = int(probe.result.requests_per_second * seconds * 2) + 5000
        for number in range(1, rounds + 1):
            write_requests(work / "round.txt", source.take(pool))
            with console.status(f"round {number}/{rounds}: bare endpoint..."):
                bare_rounds.append(_measure(bare, bare_pid, work / "round.txt", seconds=seconds, cores=cores))
            with console.status(f"round {number}/{rounds}: gateway..."):
                gateway_rounds.append(_measure(gateway, gateway_pid, work / "round.txt", seconds=seconds, cores=cores))
            repeated += max(0, gateway_rounds[-1].result.requests - pool)
        half_rate = statistics.median(r.result.requests_per_second for r in gateway_rounds) / 2
        count = int(half_rate * seconds)
        with console.status(f"both at half of the gateway's peak ({half_rate:,.0f} req/s)..."):
            gw_half = asyncio.run(open_loop(gateway, source.take(count), rate=half_rate, connections=CONNECTIONS))
            bare_half = asyncio.run(open_loop(bare, source.take(count), rate=half_rate, connections=CONNECTIONS))
    shutil.rmtree(work, ignore_errors=True)
    return _rows(bare_rounds, gateway_rounds, gw_half, bare_half, half_rate, repeated, cores)


def _rows(
    bare: list[Round],
    gateway: list[Round],
    gw_half: LoadResult,
    bare_half: LoadResult,
    half_rate: float,
    repeated: int,
    cores: Cores,
) -> list[Row]:
    ratios = [g.result.requests_per_second / b.result.requests_per_second for b, g in zip(bare, gateway, strict=True)]
    cpu_ratios = [b.cpu_ms_per_request / g.cpu_ms_per_request for b, g in zip(bare, gateway, strict=True)]
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= GOAL_RATIO and gw_half.p99_ms < GOAL_P99_MS else "misses"
    loads = [r.load for r in (*bare, *gateway)]
    where = f"{len(cores.server)} core for the server, {len(cores.others)} for wrk, broker, SecantusDB"
    rows: list[Row] = []
    for name, measured in (("bare FastAPI endpoint", bare), ("gateway (`scrm run gateway`)", gateway)):
        rows.append(
            (
                f"{name}, peak, {len(measured)} rounds (wrk 1 thread, {CONNECTIONS} connections; {where})",
                f"{_spread((r.result.requests_per_second for r in measured), ',.0f')} req/s",
                f"CPU {_spread((r.cpu_ms_per_request for r in measured), '.3f')} ms/request; "
                f"p99 {_spread((r.result.p99_ms for r in measured), '.1f')} ms; "
                f"errors {sum(r.result.errors for r in measured)}",
            )
        )
    rows += [
        (
            f"gateway at half its peak ({half_rate:,.0f} req/s, open loop)",
            f"{gw_half.requests_per_second:,.0f} req/s",
            f"p50 {gw_half.p50_ms:.2f} ms, p99 {gw_half.p99_ms:.2f} ms, errors {gw_half.errors}",
        ),
        (
            f"bare endpoint at the same rate ({half_rate:,.0f} req/s, open loop)",
            f"{bare_half.requests_per_second:,.0f} req/s",
            f"p50 {bare_half.p50_ms:.2f} ms, p99 {bare_half.p99_ms:.2f} ms",
        ),
        (
            "ingest goal: gateway ≥ 60% of bare (median of rounds), p99 < 20 ms at half peak",
            f"{verdict}: {_spread(ratios, '.0%')}",
            f"p99 {gw_half.p99_ms:.1f} ms; CPU per request bare/gateway {_spread(cpu_ratios, '.0%')}; "
            f"load (1 min) {min(loads):.1f}–{max(loads):.1f}"
            + (f"; {repeated} pushes sent twice (pool too small)" if repeated else ""),
        ),
    ]
    return rows
