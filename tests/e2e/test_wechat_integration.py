"""The simulated platform drives the real gateway, in each push mode, through to the read API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from services.gateway.adapters.replies import RULES
from tests.accounts import AES_KEY, account
from tests.e2e.campaign_stack import run_processes

pytestmark = pytest.mark.e2e

ACCOUNTS = {"plaintext": "wxmodeplain00001", "compatible": "wxmodecompat0001", "safe": "wxmodesafe000001"}


@pytest.fixture
def stack(
    infra_env: dict[str, str], mongo_database: Database[dict[str, Any]], tmp_path: Path
) -> Iterator[dict[str, str]]:
    accounts = [
        account(appid, token=f"token-{mode}", encoding_aes_key=AES_KEY, secret=f"secret-{mode}-0123456789")
        for mode, appid in ACCOUNTS.items()
    ]

    def env_for(ports: dict[str, int]) -> dict[str, str]:
        gateway_url = f"http://127.0.0.1:{ports['gateway']}/wechat/{{appid}}"
        options = {appid: {"gateway_url": gateway_url, "mode": mode} for mode, appid in ACCOUNTS.items()}
        return infra_env | {"WECHAT_ACCOUNTS": json.dumps(accounts), "WECHAT_SIM_OPTIONS": json.dumps(options)}

    rule: dict[str, Any] = {  # a keyword reply rule for the safe-mode account
        "appid": ACCOUNTS["safe"],
        "trigger": "keyword",
        "match": "礼包",
        "reply_type": "text",
        "content": "已预留",
    }
    mongo_database[RULES].insert_one(rule)
    yield from run_processes(("gateway", "members-worker", "members-api", "wechat-sim"), tmp_path, env_for)


async def test_members_follow_in_every_mode_and_get_encrypted_replies(
    stack: dict[str, str], operator_headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=stack["wechat-sim"], timeout=30) as sim:

        async def act(appid: str, openid: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            response = await sim.post(f"/sim/accounts/{appid}/members/{openid}/{action}", json=body)
            assert response.status_code == 200, response.text
            outcome: dict[str, Any] = response.json()
            return outcome

        for mode, appid in ACCOUNTS.items():
            for n in range(3):
                body = {"scene": f"poster-{mode}"} if n == 0 else None
                outcome = await act(appid, f"o_{mode}_{n}", "follow", body)
                assert outcome["acknowledged"], outcome
                assert outcome["params"].get("encrypt_type") == (None if mode == "plaintext" else "aes")
            await act(appid, f"o_{mode}_2", "unfollow")

        replied = await act(ACCOUNTS["safe"], "o_safe_0", "text", {"content": "礼包"})
        assert replied["reply"]["payload"] == {"content": "已预留"}
        assert replied["reply"]["encrypted"] is True
        inbox = (await sim.get(f"/sim/accounts/{ACCOUNTS['safe']}/members/o_safe_0/inbox")).json()["messages"]
        assert [m["channel"] for m in inbox] == ["passive"]

    async with httpx.AsyncClient(base_url=stack["members-api"], headers=operator_headers, timeout=5) as api:
        deadline = time.monotonic() + 60
        counts: dict[str, dict[str, int]] = {}
        while time.monotonic() < deadline:
            counts = {m: (await api.get(f"/accounts/{a}/member-counts")).json() for m, a in ACCOUNTS.items()}
            if all(c == {"members": 3, "following": 2, "unfollowed": 1} for c in counts.values()):
                break
            await asyncio.sleep(0.3)
        assert all(c == {"members": 3, "following": 2, "unfollowed": 1} for c in counts.values()), counts
        first = (await api.get(f"/accounts/{ACCOUNTS['compatible']}/members/o_compatible_0")).json()
        assert first["first_scene"] == "poster-compatible"
