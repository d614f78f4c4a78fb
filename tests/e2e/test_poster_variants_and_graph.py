"""Poster A/B variants and the referral graph end to end: a campaign with two posters, members who
scan them on the simulated platform (real gateway, Kafka, campaigns worker), the figures per variant;
two members who bring each other in across campaigns, flagged as a ring, frozen and exported."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scrm_dev.demo_graph import run_graph
from tests.e2e.campaign_stack import APPID, scrm, stack_clients
from tests.e2e.test_referral_campaign import campaign_cli_env

pytestmark = pytest.mark.e2e


async def test_variants_are_measured_and_a_ring_across_campaigns_is_flagged_and_frozen(
    stack: dict[str, str], operator_headers: dict[str, str], infra_env: dict[str, str], tmp_path: Path
) -> None:
    async with stack_clients(stack, operator_headers) as (api, sim, _gateway, platform):
        run = await run_graph(sim, api, platform, APPID, seeds=4)
        assert run.ok, run
        figures = run.poster_variants
        assert run.friends == 1 + 2 + 3 + 1
        # Every friend followed a seed's poster and was credited, for the variant the seed was given.
        assert sum(f["scans"] for f in figures.values()) == run.friends
        assert all(f["scans"] == f["follows"] == f["credited"] for f in figures.values())
        assert sum(f["members"] for f in figures.values()) == run.seeds + run.friends
        assert run.ring_members == sorted(["o_ab_0000", "o_ab_friend_0000_0"])

        graph = f"/accounts/{APPID}/referral-graph"
        frozen = (await api.get(f"{graph}/freezes", params={"status": "frozen"})).json()["items"]
        assert sorted(f["openid"] for f in frozen) == run.ring_members
        inviters = {i["openid"]: i for i in (await api.get(f"{graph}/inviters")).json()["items"]}
        # Each brought the other in: the seed its friend (A/B campaign), the friend the seed (the other one).
        for member in run.ring_members:
            assert inviters[member]["invitees"] == 1 and inviters[member]["frozen"] is True
        exported = await api.get(f"{graph}/export")
        rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
        pairs = {(r["inviter"], r["invitee"]) for r in rows}
        assert ("o_ab_0000", "o_ab_friend_0000_0") in pairs and ("o_ab_friend_0000_0", "o_ab_0000") in pairs
        assert len(rows) == run.friends + 1
        released = await api.post(f"{graph}/inviters/o_ab_0000/release")
        assert released.status_code == 200 and released.json()["status"] == "released"

        # The ring's flag is kept: dismissed, it stays dismissed when the flags are computed again.
        [ring] = (await api.get(f"{graph}/flags", params={"kind": "ring"})).json()["items"]
        assert ring["status"] == "open" and ring["id"] == f"ring:{run.ring_members[0]}"
        dismissed = await api.post(f"{graph}/flags/{ring['id']}/review", json={"status": "dismissed", "note": "e2e"})
        assert dismissed.status_code == 200, dismissed.text
        assert (await api.get(f"{graph}/flags", params={"status": "open", "kind": "ring"})).json()["items"] == []
        [again] = (await api.get(f"{graph}/flags", params={"kind": "ring"})).json()["items"]
        assert (again["id"], again["status"], again["note"]) == (ring["id"], "dismissed", "e2e")

        # The friends stayed past the revocation window (the sweep the worker runs, as of 49 hours on):
        # each variant's credits are confirmed, counted for the variant they came through.
        assert all(f["confirmed"] == 0 for f in figures.values())  # pending until then
        as_of = (datetime.now(UTC) + timedelta(hours=49)).isoformat()
        env = campaign_cli_env(infra_env, stack, tmp_path)
        swept = await asyncio.to_thread(scrm, "campaigns", "confirm-credits", "--as-of", as_of, env=env, cwd=tmp_path)
        assert swept.returncode == 0, swept.stdout + swept.stderr
        report = (await api.get(f"/accounts/{APPID}/campaigns/{run.campaign_id}/variants")).json()
        assert report["shift_on"] == "confirmed"
        confirmed = {v["key"]: v["confirmed"] for v in report["variants"]}
        assert confirmed == {key: f["credited"] for key, f in figures.items()}
