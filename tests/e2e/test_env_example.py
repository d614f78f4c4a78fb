"""A fresh clone's `.env.example`, copied to `.env`, starts the processes as it is: only where Kafka and
MongoDB are comes from the environment (this test's servers instead of the default ports)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from scrm_dev.launcher import ServiceProcess
from shared.localinfra import free_port
from shared.wechat import signature

ROOT = Path(__file__).parents[2]
EXAMPLE_APPID = "wx0000000000000000"
#: One process per kind of settings the example must satisfy: the simulator (accounts in safe mode and
#: its options), the gateway (the account's token and key), campaigns (the WeChat API), profiles' public
#: process (the signing keys). (The console is ready only once the APIs it calls answer.)
PROCESSES = ("wechat-sim", "gateway", "campaigns-api", "profiles-public")
INFRA = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "MONGODB_DATABASE", "TOPIC_PREFIX", "KAFKA_SESSION_TIMEOUT_SECONDS")


def test_env_example_starts_the_processes_as_it_is(infra_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {name: infra_env[name] for name in INFRA}  # ENVIRONMENT and the rest: the file's
    processes = [ServiceProcess(name, free_port(), env, tmp_path / f"{name}.log", cwd=tmp_path) for name in PROCESSES]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.wait_ready()
        urls = {process.name: process.url for process in processes}
        with httpx.Client(timeout=10) as client:
            # The gateway serves the example's account with the example's token ...
            timestamp, nonce = str(int(time.time())), "n0nce"
            params = {
                "signature": signature("changethis", timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
                "echostr": "hello",
            }
            verified = client.get(f"{urls['gateway']}/wechat/{EXAMPLE_APPID}", params=params)
            assert verified.status_code == 200 and verified.text == "hello"
            # ... campaigns answers for it only (an operator is needed; another account is unknown) ...
            assert client.get(f"{urls['campaigns-api']}/accounts/{EXAMPLE_APPID}/campaigns").status_code == 401
            assert client.get(f"{urls['campaigns-api']}/accounts/wx1/campaigns").status_code == 404
            # ... and every API's docs page loads its scripts from the process itself.
            docs = client.get(f"{urls['gateway']}/docs")
            assert docs.status_code == 200 and "/docs-assets/" in docs.text
    finally:
        codes = {process.name: process.stop() for process in processes}
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"
