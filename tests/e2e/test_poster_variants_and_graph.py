"""Poster A/B variants and the referral graph end to end: a campaign with two posters, members who
scan them on the simulated platform (real gateway, Kafka, campaigns worker), the figures per variant;
two members who bring each other in across campaigns, flagged as a ring, frozen and exported."""

from __future__ import annotations

import csv
import io

import pytest

from scrm_dev.demo_graph import run_graph
from tests.e2e.campaign_stack import APPID, stack_clients

pytestmark = pytest.mark.e2e


async def test_variants_are_measured_and_a_ring_across_campaigns_is_flagged_and_frozen(
    stack: dict[str, str], operator_headers: dict[str, str]
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
