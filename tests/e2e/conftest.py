from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from scrm_dev.launcher import ServiceProcess
from shared.localinfra import free_port
from tests.accounts import account, accounts_env
from tests.conftest import Infra, Isolation
from tests.e2e.campaign_stack import operator_token, run_stack

pytestmark = pytest.mark.e2e

APPID = "wxe2e0000000001"
TOKEN = "e2e-webhook-token"


@dataclass
class Platform:
    gateway: ServiceProcess
    worker: ServiceProcess
    api: ServiceProcess
    env: dict[str, str]
    logs: Path
    #: What calls to the members API (an operator API) send.
    operator_headers: dict[str, str]

    def restart_worker(self) -> ServiceProcess:
        self.worker = ServiceProcess("members-worker", free_port(), self.env, self.logs / "members-worker-2.log")
        self.worker.start()
        self.worker.wait_ready()
        return self.worker


@pytest.fixture
def mongo_database(infra: Infra, isolation: Isolation) -> Iterator[Database[dict[str, Any]]]:
    """This test's database, to arrange what the processes find and check what they wrote."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        yield client[isolation.database]


@pytest.fixture
def platform(infra_env: dict[str, str], tmp_path: Path, operator_headers: dict[str, str]) -> Iterator[Platform]:
    env = infra_env | {
        "WECHAT_ACCOUNTS": accounts_env(
            account(APPID, token=TOKEN, encoding_aes_key="e" * 43, secret="e2e-app-secret-0123")
        )
    }
    logs = tmp_path / "logs"
    processes = [
        ServiceProcess(name, free_port(), env, logs / f"{name}.log")
        for name in ("gateway", "members-worker", "members-api")
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.wait_ready()
        gateway, worker, api = processes
        running = Platform(gateway, worker, api, env, logs, operator_headers)
        yield running
        processes[1] = running.worker
    finally:
        codes = {process.name: process.stop() for process in processes}
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


@pytest.fixture
def operator_headers(infra_env: dict[str, str]) -> dict[str, str]:
    """What calls to operator APIs send: an admin's API token in this test's database."""
    return {"Authorization": f"Bearer {operator_token(infra_env)}"}


@pytest.fixture
def stack(infra_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """Gateway, campaigns worker and API, and the WeChat simulator, on one account (campaign tests)."""
    yield from run_stack(infra_env, tmp_path)
