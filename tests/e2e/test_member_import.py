"""``scrm members import`` against the simulated platform: every follower once, and again harmlessly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from scrm.launcher import ServiceProcess
from shared.localinfra import free_port
from tests.conftest import Infra, Isolation
from tests.e2e.campaign_stack import ACCOUNT, APPID

pytestmark = pytest.mark.e2e


@pytest.fixture
def sim(infra_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = infra_env | {"WECHAT_ACCOUNTS": json.dumps([ACCOUNT])}
    process = ServiceProcess("wechat-sim", free_port(), env, tmp_path / "wechat-sim.log")
    process.start()
    try:
        process.wait_ready()
        yield process.url, env
    finally:
        assert process.stop() == 0


def scrm(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrm", *args],
        env={**os.environ, **env, "COLUMNS": "120"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_existing_followers_become_profiles_once(
    sim: tuple[str, dict[str, str]], infra: Infra, isolation: Isolation, tmp_path: Path
) -> None:
    url, env = sim
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(230):
            added = client.post(f"/sim/accounts/{APPID}/members", json={"openid": f"o_old_{n:04d}"})
            assert added.status_code == 201, added.text
        client.post(f"/sim/accounts/{APPID}/members", json={"openid": "o_gone", "following": False})
    env = env | {
        "WECHAT_API__BASE_URL": url,
        "MALL_WEBHOOK_SECRET": "import-mall",
        "H5_LINK_SECRET": "import-h5",
    }
    first = scrm("members", "import", "--appid", APPID, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "230 of 230 followers read, 230 new profiles" in first.stdout
    again = scrm("members", "import", "--appid", APPID, env=env, cwd=tmp_path)
    assert again.returncode == 0 and "0 new profiles" in again.stdout
    unknown = scrm("members", "import", "--appid", "wx-nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "no account 'wx-nope'" in unknown.stdout

    mongo: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as mongo:
        profiles: Collection[dict[str, Any]] = mongo[isolation.database]["profiles"]
        assert profiles.count_documents({"appid": APPID}) == 230
        assert profiles.count_documents({"openid": "o_gone"}) == 0  # not following: not imported
