"""The referral graph: an edge per credit (across campaigns), kept up to date by the pushes that follow;
rings, unfollow bursts and silent invitees flagged; a frozen inviter's rewards held until released."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.campaigns.domain.graph import Edge, find_flags, find_rings, summarise_inviters
from services.campaigns.service_layer import graph
from shared.contracts import CATALOG, MenuClicked
from tests.unit.campaigns.graph_harness import APPID, T0, at, graph_stack


def edge(inviter: str, invitee: str, campaign: str = "c1", minutes: float = 0, **extra: object) -> Edge:
    return Edge(APPID, campaign, inviter, invitee, at(minutes), **extra)  # type: ignore[arg-type]


def test_rings_are_members_inviting_each_other_across_campaigns() -> None:
    edges = [
        edge("A", "B", "c1"),
        edge("B", "C", "c2"),
        edge("C", "A", "c3"),  # A → B → C → A
        edge("D", "E", "c1"),
        edge("E", "D", "c2"),  # D ⇄ E
        edge("F", "G"),
        edge("G", "H"),  # a chain, no ring
    ]
    assert find_rings(edges) == [["A", "B", "C"], ["D", "E"]]
    rings = [flag for flag in find_flags(edges, at(60)) if flag.kind == "ring"]
    assert [(f.members, f.campaigns, f.edges) for f in rings] == [
        (("A", "B", "C"), ("c1", "c2", "c3"), 3),
        (("D", "E"), ("c1", "c2"), 2),
    ]
    assert rings[0].id == find_flags(list(reversed(edges)), at(90))[0].id  # stable for the same members


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    chain = [edge(f"m{n}", f"m{n + 1}") for n in range(5000)] + [edge("m5000", "m0")]
    assert len(find_rings(chain)[0]) == 5001


def test_credited_invitees_unfollowing_together_are_a_burst_and_silent_invitees_are_flagged() -> None:
    later = T0 + timedelta(days=5)
    burst = [
        edge("I", f"x{n}", minutes=n, unfollowed_at=later + timedelta(hours=n)) for n in range(3)
    ]  # within 6 h of each other
    spread = [edge("J", f"y{n}", minutes=n, unfollowed_at=later + timedelta(hours=10 * n)) for n in range(3)]
    revoked = [edge("K", f"z{n}", minutes=n, status="revoked", unfollowed_at=later) for n in range(3)]
    silent = [edge("S", f"s{n}", minutes=n) for n in range(5)]
    chatty = [edge("T", f"t{n}", minutes=n, interacted_at=at(n + 1)) for n in range(4)] + [edge("T", "t9")]
    flags = find_flags(burst + spread + revoked + silent + chatty, T0 + timedelta(days=4))
    assert [(f.kind, f.inviters, f.edges) for f in flags] == [
        ("unfollow_burst", ("I",), 3),
        ("silent_invitees", ("S",), 5),
    ]
    assert find_flags(silent, T0 + timedelta(days=1)) == []  # not silent yet: they had a day
    summary = {s.inviter: s for s in summarise_inviters(burst + chatty)}
    assert (summary["I"].invitees, summary["I"].retained, summary["I"].retention) == (3, 0, 0.0)
    assert (summary["T"].interacted, summary["T"].retention) == (4, 1.0)


async def test_credits_become_edges_across_campaigns_and_later_pushes_update_them() -> None:
    async with graph_stack() as stack:
        await stack.campaign("c1", keyword="一")
        await stack.campaign("c2", keyword="二")
        await stack.join("o_A", "一", 1)
        await stack.invite("c1", "o_A", "o_B", 2)  # B joins c1 through A's code
        await stack.join("o_B", "二", 3)
        await stack.invite("c2", "o_B", "o_A", 4)  # ... and A (joined by keyword, never seen following) to c2
        await stack.invite("c2", "o_B", "o_C", 5)
        envelope = await stack.follow("o_D", await stack.scene_of("c2", "o_B"), 6)
        await stack.worker.handle(envelope, CATALOG.decode(envelope))  # a redelivery changes nothing
        edges = await stack.graph.edges(APPID)
        assert [(e.campaign_id, e.inviter, e.invitee, e.status) for e in edges] == [
            ("c1", "o_A", "o_B", "credited"),
            ("c2", "o_B", "o_A", "credited"),
            ("c2", "o_B", "o_C", "credited"),
            ("c2", "o_B", "o_D", "credited"),
        ]
        view = await graph.graph_view(stack.graph, APPID, at(7))
        assert [(f.kind, f.members, f.campaigns) for f in view.flags] == [("ring", ("o_A", "o_B"), ("c1", "c2"))]
        await stack.push(MenuClicked(openid="o_C", clicked_at=at(7), key="m1"), "o_C")
        await stack.unfollow("o_D", 8)  # within the window: the credit is taken back
        by_invitee = {e.invitee: e for e in await stack.graph.edges(APPID)}
        assert by_invitee["o_C"].interacted_at == at(7) and by_invitee["o_B"].interacted_at is not None  # B sent "二"
        assert by_invitee["o_D"].status == "revoked" and by_invitee["o_D"].unfollowed_at == at(8)
        stack.records.edges.clear()
        assert await graph.backfill(stack.campaigns, stack.graph, APPID) == 4
        assert await graph.backfill(stack.campaigns, stack.graph, APPID) == 0


async def test_a_frozen_inviter_is_credited_but_rewarded_only_when_released() -> None:
    async with graph_stack() as stack:
        campaign = await stack.campaign("c1", keyword="一", tiers=(2, 3))
        await stack.join("o_A", "一", 1)
        await graph.freeze(stack.graph, APPID, "o_A", "ring with o_B", "reviewer", at(1.5))
        for n, friend in enumerate(("o_F1", "o_F2", "o_F3")):
            await stack.invite("c1", "o_A", friend, 2 + n)
        member = await stack.uow.store.participant("c1", "o_A")
        assert member is not None and member.credited == 3 and member.tiers_granted == []
        assert not [r for r in stack.records.rewards.values() if r["inviter"] == "o_A"]
        released, granted = await graph.release(stack.graph, stack.campaigns, stack.uow, APPID, "o_A", "lead", at(9))
        assert released.status == "released" and released.released_by == "lead"
        assert granted == [("c1", 2), ("c1", 3)]
        member = await stack.uow.store.participant("c1", "o_A")
        assert member is not None and member.tiers_granted == [2, 3]
        held = [n for n in stack.records.notices.values() if n["openid"] == "o_A" and n["kind"].startswith("tier")]
        assert {n["status"] for n in held} == {"held"} and len(held) == 2
        assert campaign.id == "c1"
        with pytest.raises(graph.NotFrozen):
            await graph.release(stack.graph, stack.campaigns, stack.uow, APPID, "o_A", "lead", at(10))
        with pytest.raises(graph.AlreadyFrozen):
            await graph.freeze(stack.graph, APPID, "o_B", "r", "reviewer", at(11))
            await graph.freeze(stack.graph, APPID, "o_B", "r", "reviewer", at(12))
