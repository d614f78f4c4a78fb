"""The whole platform on local infrastructure, for as long as a ``with`` block lasts (demo, bench).

Starts (or reuses) Tansu and SecantusDB, starts every registered process on free ports with fresh
topic and database names, and on exit stops the processes, drops the run's database and stops the
servers it started, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from rich.console import Console

from scrm.processes import PROCESSES
from scrm_dev.launcher import ServiceProcess
from shared.contracts import TOPICS
from shared.localinfra import LocalInfrastructure, free_port, parse_host_port
from shared.messaging import ensure_topics
from shared.settings import ServiceSettings

DEMO_APPID = "wxdemo0000000001"
DEMO_TOKEN = "demo-webhook-token"  # noqa: S105  (development-only demo account)
DEMO_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DEMO_SECRET = "demo-app-secret"  # noqa: S105
DEMO_ACCOUNT_NAME = "贝贝母婴 (demo)"
#: The demo account pushes in safe mode: encrypted both ways, as production accounts should.
DEMO_MODE = "safe"


@dataclass(frozen=True)
class Stack:
    settings: ServiceSettings
    run_id: str
    topic_prefix: str
    database: str
    processes: dict[str, ServiceProcess]
    #: Where each process writes its log.
    logs: Path
    #: Infrastructure servers this run started (and stops at its end).
    started_infra: tuple[str, ...] = ()
    #: Why a process is not on its usual port (``default_ports`` only).
    moved_ports: tuple[str, ...] = ()

    def url(self, process: str) -> str:
        return self.processes[process].url


@contextmanager
def local_stack(
    console: Console,
    settings: ServiceSettings,
    state_dir: Path,
    label: str,
    *,
    only: Iterable[str] | None = None,
    env: Mapping[str, str] | None = None,
    default_ports: bool = False,
    durable_broker: bool = True,
    sync_commits: bool | None = None,
) -> Iterator[Stack]:
    """``env`` is added to every started process's environment last (a benchmark's own knobs).
    ``default_ports`` puts each process on its port of the process table where that port is free (a
    stable URL for ``scrm up``), on a free one otherwise; without it every port is a free one.
    ``durable_broker=False`` starts the broker in memory (a benchmark whose figures should not include
    the local object store); either way a broker that already answers is used as it is.
    ``sync_commits=False`` lets SecantusDB acknowledge a commit before its fsync (mongod's default
    write concern does not wait for the journal either)."""
    run_id = uuid.uuid4().hex[:8]
    infra = LocalInfrastructure(
        state_dir / "infra",
        kafka=parse_host_port(settings.kafka_bootstrap_servers, 9092),
        mongodb=parse_host_port(settings.mongodb_url.get_secret_value(), 27017),
        durable_broker=durable_broker,
        sync_commits=sync_commits,
    )
    started_infra: tuple[str, ...] = ()
    processes: dict[str, ServiceProcess] = {}
    database = f"scrm_{label}_{run_id}"
    try:
        with console.status("starting local infrastructure (Tansu, SecantusDB)..."):
            status = infra.up()
        started_infra = status.started
        console.print(
            f"[green]✓[/green] infrastructure: Kafka {status.kafka.url}, MongoDB {status.mongodb.url}"
            + (f" (started {', '.join(started_infra)})" if started_infra else " (already running)")
        )
        common = {
            "ENVIRONMENT": "development",
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "MONGODB_URL": settings.mongodb_url.get_secret_value(),
            "MONGODB_DATABASE": database,
            "TOPIC_PREFIX": f"{label}-{run_id}.",
            "LOG_FORMAT": "json",
            # Short consumer-group sessions: the local broker holds a join for about half of it.
            "KAFKA_SESSION_TIMEOUT_SECONDS": "3",
            "WECHAT_ACCOUNTS": json.dumps(
                [
                    {
                        "appid": DEMO_APPID,
                        "token": DEMO_TOKEN,
                        "encoding_aes_key": DEMO_AES_KEY,
                        "secret": DEMO_SECRET,
                    }
                ]
            ),
        }
        logs = state_dir / label / run_id
        names = list(PROCESSES) if only is None else list(only)
        if default_ports:
            ports, moved = choose_ports({name: PROCESSES[name].default_port for name in names})
            moved_ports = tuple(moved)
            for line in moved:
                console.print(f"[yellow]![/yellow] {line}")
        else:
            ports = {name: free_port() for name in names}
            moved_ports = ()
        knobs = dict(env or {})
        processes = {
            name: ServiceProcess(
                name, ports[name], common | _extra_env(name, ports, logs) | knobs, logs / f"{name}.log"
            )
            for name in names
        }
        with console.status("starting services..."):
            # Once, before the workers start: not by every worker at the same moment on a fresh broker.
            asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, TOPICS, prefix=common["TOPIC_PREFIX"]))
            for process in processes.values():
                process.start()
            for process in processes.values():
                process.wait_ready()
        for process in processes.values():
            console.print(f"[green]✓[/green] {process.name} ready on {process.url} (pid {process.pid})")
        yield Stack(settings, run_id, common["TOPIC_PREFIX"], database, processes, logs, started_infra, moved_ports)
    finally:
        with console.status("stopping what was started..."):
            for process in reversed(processes.values()):
                process.stop()
            asyncio.run(_drop_database(settings, database))
            # The local broker keeps its data now: a run's topics go with it, as its database does.
            asyncio.run(_drop_topics(settings.kafka_bootstrap_servers, f"{label}-{run_id}."))
            if started_infra:
                infra.down(only=started_infra)
        console.print("[green]✓[/green] stopped services" + (" and infrastructure" if started_infra else ""))


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``port`` now (connections of an earlier run still closing on it,
    in TIME_WAIT, do not count: uvicorn binds with SO_REUSEADDR, as here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_ports(wanted: Mapping[str, int]) -> tuple[dict[str, int], list[str]]:
    """Each name's wanted port where nobody listens on it, else a free port; and one line per name that
    had to move (to tell the user why the URL is not the usual one)."""
    ports: dict[str, int] = {}
    moved: list[str] = []
    for name, port in wanted.items():
        if port_is_free(port) and port not in ports.values():
            ports[name] = port
            continue
        ports[name] = free_port()
        moved.append(f"port {port} is taken: {name} listens on {ports[name]} instead")
    return ports, moved


#: The console's settings naming each operator API it calls, by process.
_CONSOLE_APIS = {
    "IDENTITY_API_URL": "identity-api",
    "CAMPAIGNS_API_URL": "campaigns-api",
    "MEMBERS_API_URL": "members-api",
    "PROFILES_API_URL": "profiles-api",
    "SEGMENTS_API_URL": "segments-api",
    "ANALYTICS_API_URL": "analytics",
    "BRANDS_API_URL": "brands",
}


def console_env(
    ports: Mapping[str, int], accounts: Mapping[str, str] | None = None, host: str = "127.0.0.1"
) -> dict[str, str]:
    """The console's environment: the operator APIs of this run (those started), the accounts its
    switcher offers (appid → name) and, in development, the simulator whose inboxes it links to."""
    env = {setting: f"http://{host}:{ports[process]}" for setting, process in _CONSOLE_APIS.items() if process in ports}
    if accounts:
        env["OFFICIAL_ACCOUNTS"] = json.dumps(
            [{"appid": appid, "name": name} for appid, name in accounts.items()], ensure_ascii=False
        )
    if "wechat-sim" in ports:
        env["WECHAT_SIM_URL"] = f"http://{host}:{ports['wechat-sim']}"
    return env


def _extra_env(name: str, ports: dict[str, int], state: Path) -> dict[str, str]:
    """What one process needs to know of the others: the simulator pushes to this run's gateway, and
    the services that call the platform's API call the simulator."""
    if name == "console":
        return console_env(ports, {DEMO_APPID: DEMO_ACCOUNT_NAME})
    if name == "wechat-sim" and "gateway" in ports:
        gateway = f"http://127.0.0.1:{ports['gateway']}/wechat/{{appid}}"
        return {"WECHAT_SIM_OPTIONS": json.dumps({DEMO_APPID: {"gateway_url": gateway, "mode": DEMO_MODE}})}
    if name.startswith("profiles-"):
        # Links members open lead to the public process, never to the operator API.
        h5 = ports.get("profiles-public")
        extra = {"H5_BASE_URL": f"http://127.0.0.1:{h5}"} if h5 is not None else {}
        if "wechat-sim" in ports:
            extra["WECHAT_API__BASE_URL"] = f"http://127.0.0.1:{ports['wechat-sim']}"
        return extra
    if name.startswith("segments-"):
        public = ports.get("segments-public")
        extra = {"PUBLIC_BASE_URL": f"http://127.0.0.1:{public}"} if public is not None else {}
        if "wechat-sim" in ports:
            extra["WECHAT_API__BASE_URL"] = f"http://127.0.0.1:{ports['wechat-sim']}"
        return extra
    if name.startswith("campaigns-") and "wechat-sim" in ports:
        sim = f"http://127.0.0.1:{ports['wechat-sim']}"
        return {
            "WECHAT_API__BASE_URL": sim,
            "WECHAT_API__QR_IMAGE_BASE_URL": sim,
            "POSTER_CACHE_DIR": str(state / "posters"),
        }
    return {}


async def _drop_topics(bootstrap_servers: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    try:
        await admin.start()
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except (KafkaError, OSError):
        pass  # best effort: the broker may already be gone
    finally:
        await admin.close()


async def _drop_database(settings: ServiceSettings, name: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongodb_url.get_secret_value(), serverSelectionTimeoutMS=3000
    )
    try:
        await client.drop_database(name)
    except PyMongoError:
        pass  # best effort: the server may already be gone
    finally:
        await client.close()


def benchmark_stack(
    console: Console,
    settings: ServiceSettings,
    state_dir: Path,
    label: str,
    *,
    only: Iterable[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> AbstractContextManager[Stack]:
    """``local_stack`` for a benchmark: the broker in memory and SecantusDB without an fsync per commit.
    The durable local broker keeps its log in a Python object store and fsyncs every write; Apache
    Kafka (page cache, replication) and mongod (journal group commit) cost nothing like that per record,
    so with them the figures would measure the stand-ins' durability rather than this code."""
    return local_stack(
        console, settings, state_dir, label, durable_broker=False, sync_commits=False, only=only, env=env
    )
