"""Real process stacks for the e2e tests (:func:`run_processes`, :func:`scrm` for the CLI), the
operator credentials their calls to operator APIs carry (:func:`operator_token`), and the campaign
stack: gateway, campaigns worker and API, WeChat simulator."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from PIL import Image

from scrm.identity_cli import open_directory, provision_operator
from scrm_dev.launcher import ServiceProcess
from shared.contracts import TOPICS
from shared.localinfra import free_port
from shared.messaging import ensure_topics
from shared.settings import ServiceSettings, load_settings
from shared.wechat_client import MemoryTokenStore, WeChatApiConfig, WeChatClient
from tests.accounts import AES_KEY, account, accounts_env

APPID = "wxcampaign000001"
SECRET = "campaign-secret-0123"
ACCOUNT = account(APPID, token="campaign-token", encoding_aes_key=AES_KEY, secret=SECRET)
BASE = f"/accounts/{APPID}/campaigns"
MALL_SECRET = "mall-secret-e2e-0123"


#: The e2e tests' operator: an admin on every account, signing in with an API token only.
OPERATOR = "e2e-admin"


def operator_token(env: Mapping[str, str]) -> str:
    """An API token of :data:`OPERATOR`, made in ``env``'s database the way ``scrm operators create``
    and ``scrm tokens create`` make them."""
    token = create_operator(env, OPERATOR, password=secrets.token_urlsafe(24), grants=[("admin", "*")], label="e2e")
    assert token is not None
    return token


def create_operator(
    env: Mapping[str, str],
    name: str,
    *,
    password: str | None,
    grants: list[tuple[str, str]],
    label: str | None = None,
) -> str | None:
    """An operator with ``grants`` in ``env``'s database (and, given a ``label``, its API token)."""
    settings = load_settings(
        ServiceSettings, environment="test", mongodb_url=env["MONGODB_URL"], mongodb_database=env["MONGODB_DATABASE"]
    )

    async def provision() -> str | None:
        async with open_directory(settings) as directory:
            return await provision_operator(directory, name, password=password, grants=grants, label=label)

    return asyncio.run(provision())


def create_topics(env: Mapping[str, str]) -> None:
    """Every registered topic, once, before the processes start: each worker would otherwise create
    them at the same moment on a fresh broker (a worker of the first stack of a run was once left
    waiting on a partition with records in it)."""
    if "KAFKA_BOOTSTRAP_SERVERS" in env:
        asyncio.run(ensure_topics(env["KAFKA_BOOTSTRAP_SERVERS"], TOPICS, prefix=env.get("TOPIC_PREFIX", "")))


def run_processes(
    names: Sequence[str], tmp_path: Path, env_for: Callable[[dict[str, int]], dict[str, str]]
) -> Iterator[dict[str, str]]:
    """Start ``names`` on free ports with ``env_for(ports)``, yield their URLs, stop them cleanly."""
    ports = {name: free_port() for name in names}
    env = env_for(ports)
    create_topics(env)
    processes = [ServiceProcess(name, port, env, tmp_path / f"{name}.log") for name, port in ports.items()]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.wait_ready()
        yield {process.name: process.url for process in processes}
    finally:
        codes = {process.name: process.stop() for process in processes}
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def platform_env(infra_env: dict[str, str], ports: dict[str, int]) -> dict[str, str]:
    """The account, the simulator pushing to this gateway in safe mode, and services calling the simulator."""
    sim = f"http://127.0.0.1:{ports['wechat-sim']}"
    return infra_env | {
        "WECHAT_ACCOUNTS": accounts_env(ACCOUNT),
        "WECHAT_SIM_OPTIONS": json.dumps(
            {APPID: {"gateway_url": f"http://127.0.0.1:{ports['gateway']}/wechat/{{appid}}", "mode": "safe"}}
        ),
        "WECHAT_API__BASE_URL": sim,
        "WECHAT_API__QR_IMAGE_BASE_URL": sim,
    }


def profiles_env(ports: dict[str, int]) -> dict[str, str]:
    """Where the H5 pages are served (the public process, profiles-public) and the secrets of their links
    and of the mall webhook."""
    return {
        "H5_BASE_URL": f"http://127.0.0.1:{ports['profiles-public']}",
        "H5_LINK_SECRET": "h5-links-e2e-01234",
        "MALL_WEBHOOK_SECRET": MALL_SECRET,
    }


def scrm(*args: str, env: dict[str, str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with ``env`` over this process's environment.

    A run past ``timeout`` fails the test with where every thread of the CLI was waiting (faulthandler
    on SIGABRT): a CI run once saw ``scrm campaigns pay-shares`` hang, and the kill left no trace."""
    command = [sys.executable, "-m", "scrm", *args]
    with subprocess.Popen(
        command,
        env={**os.environ, **env, "COLUMNS": "120", "PYTHONFAULTHANDLER": "1"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            try:
                stdout, stderr = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            raise AssertionError(
                f"{' '.join(args)} still ran after {timeout:.0f} s; its threads:\n{stderr[-8000:]}\n{stdout[-2000:]}"
            ) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_stack(infra_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    def env_for(ports: dict[str, int]) -> dict[str, str]:
        return platform_env(infra_env, ports) | {
            "POSTER_CACHE_DIR": str(tmp_path / "posters"),
            "POSTER_WORKERS": "1",
            "SCREENSHOT_WORKERS": "1",
            # The worker's timer (credit confirmations, campaign-ended notices): quick in tests.
            "CREDIT_CONFIRM_SECONDS": "1",
        }

    yield from run_processes(("gateway", "campaigns-worker", "campaigns-api", "wechat-sim"), tmp_path, env_for)


class StackClients(NamedTuple):
    api: httpx.AsyncClient  # the campaigns API
    sim: httpx.AsyncClient
    gateway: httpx.AsyncClient
    #: The account's API client against the simulator (media downloads, as the worker does them).
    platform: WeChatClient


@asynccontextmanager
async def stack_clients(stack: dict[str, str], operator_headers: dict[str, str]) -> AsyncIterator[StackClients]:
    """The clients a campaign e2e test talks to the running stack with (the campaigns API's carries
    the operator's credentials)."""
    sim_url = stack["wechat-sim"]
    async with (
        httpx.AsyncClient(base_url=stack["campaigns-api"], headers=operator_headers, timeout=30) as api,
        httpx.AsyncClient(base_url=sim_url, timeout=30) as sim,
        httpx.AsyncClient(base_url=stack["gateway"], timeout=30) as gateway,
        WeChatClient(
            APPID, SECRET, token_store=MemoryTokenStore(), config=WeChatApiConfig(base_url=sim_url)
        ) as platform,
    ):
        yield StackClients(api, sim, gateway, platform)


def background() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (750, 1334), (255, 240, 245)).save(buffer, format="PNG")
    return buffer.getvalue()


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.25)

    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


class SimulatedMembers:
    """Members acting on the simulated platform (each action pushes to the gateway) and their inboxes."""

    def __init__(self, sim: httpx.AsyncClient) -> None:
        self._sim = sim

    async def act(self, openid: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._sim.post(f"/sim/accounts/{APPID}/members/{openid}/{action}", json=body)
        assert response.status_code == 200, response.text
        outcome: dict[str, Any] = response.json()
        assert outcome["acknowledged"], outcome
        return outcome

    async def inbox(self, openid: str) -> list[dict[str, Any]]:
        answer = (await self._sim.get(f"/sim/accounts/{APPID}/members/{openid}/inbox")).json()
        messages: list[dict[str, Any]] = answer["messages"]
        return messages
