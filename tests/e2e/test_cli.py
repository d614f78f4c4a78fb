"""The CLI as a user runs it: `scrm demo --json` and `scrm run` errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from tests.conftest import Infra, Isolation
from tests.e2e.campaign_stack import scrm

pytestmark = pytest.mark.e2e

CORE_COUNTS = {
    "ok", "webhook_pushes_sent", "webhook_pushes_accepted", "webhook_pushes_rejected", "duplicate_deliveries",
    "qr_follows", "members",
    "following", "unfollowed", "passive_replies", "customer_service_messages", "deadlettered",
}  # fmt: skip


def test_demo_prints_counts_as_its_last_line(infra: Infra, tmp_path: Path) -> None:
    result = scrm(
        "demo", "--json", "--members", "12",
        env={"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb_url},
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    campaign = {key: counts.pop(key) for key in list(counts) if key not in CORE_COUNTS}
    assert counts == {
        "ok": True,
        "webhook_pushes_sent": 12 + 2 + 1 + 5 + 1,  # follows, unfollows, a text (via the simulator), retries, forged
        "webhook_pushes_accepted": 12 + 2 + 1 + 5,
        "webhook_pushes_rejected": 1,
        "duplicate_deliveries": 5,
        "qr_follows": 6,
        "members": 12 + 6 + 18 + 2 + 1,  # the campaign: 6 seeds, 18 friends, 2 quick leavers, 1 blacklisted
        "following": 10 + 6 + 18 + 1,
        "unfollowed": 2 + 2,
        "passive_replies": 1,
        "customer_service_messages": 1,
        "deadlettered": 5,  # the poison record, parked by each of the five workers consuming the pushes
    }
    assert campaign["followers"] == counts["following"]
    assert campaign["invites_credited"] == 18 and campaign["invites_revoked"] == 2
    assert campaign["rewards_granted"] == 6  # one per seed, at 3 invites
    # Six seeds send screenshots: four genuine, one someone else's, one private. Each is decided (the
    # demo's "ok" checks each member's outcome: no cheat approved, no genuine one rejected).
    decided = campaign["screenshots_approved"] + campaign["screenshots_rejected"] + campaign["screenshots_review"]
    assert decided == 6 and campaign["screenshots_approved"] <= 4 and campaign["screenshots_rejected"] >= 1
    assert campaign["share_rewards_granted"] == campaign["screenshots_approved"]
    # Five of the ten members still following answer the H5 page (one stage each in turn); the mall
    # reports orders for four, two of whom answered: seven tagged. S-size diapers (about two months) put the two
    # who did not answer at 0-6 months (inferred); what the others said wins for them.
    assert campaign["members_tagged"] == 7
    assert campaign["tags_by_stage"] == {
        "stage.pregnancy.early": 1,
        "stage.pregnancy.mid": 1,
        "stage.pregnancy.late": 1,
        "stage.baby.0_6m": 3,
        "stage.baby.6_12m": 1,
    }
    # The one member in 孕晚期 who likes 奶粉 (she said so on the H5 page) gets the targeted push.
    assert campaign["segments"] == {"孕晚期奶粉": 1, "孕期": 3, "0-12月宝宝": 4, "可营销": 5}
    assert (campaign["pushes_sent"], campaign["pushes_failed"]) == (1, 0)
    assert campaign["campaign_participants"] >= 6 + 18 and campaign["posters_sent"] >= 6 + 18
    assert campaign["k_factor_permille"] == round(1000 * 18 / campaign["campaign_participants"])
    # An A/B poster campaign (4 seeds, 1 + 2 + 3 + 1 friends credited) and a ring across two campaigns.
    variants = campaign["poster_variants"]
    assert set(variants) == {"a", "b"} and sum(v["credited"] for v in variants.values()) == 7
    assert campaign["rings_flagged"] == 1
    # The push was composed for a brand project (target: twice the segment); its one delivery and the
    # recipient's click count for the project, and every dashboard agrees with the services' own counts
    # (the demo's "ok" checks each figure; here the headline ones).
    assert campaign["project_target"] == 2
    assert campaign["project_pushes_delivered"] == campaign["pushes_sent"] == 1
    assert campaign["project_clicks"] == campaign["dashboard_push_clicks"] == 1
    assert campaign["dashboard_follows"] == counts["members"]
    assert campaign["dashboard_unfollows"] == counts["unfollowed"]
    assert campaign["dashboard_pushes_delivered"] == campaign["dashboard_project_delivered"] == 1
    # Analytics counts every credit (the quick leavers' too) and each revocation.
    assert (campaign["dashboard_credited"], campaign["dashboard_revoked"]) == (18 + 2, 2)
    assert campaign["dashboard_rewards"] == campaign["rewards_granted"] + campaign["share_rewards_granted"]
    assert campaign["dashboard_screenshots_decided"] == decided
    assert campaign["coverage_tagged"] == campaign["members_tagged"]  # all seven still follow
    assert "Dashboards" in result.stdout
    assert "demo summary" in result.stdout
    assert "(already running)" in result.stdout  # reused the session's servers, left them running


def test_run_refuses_unknown_services_and_bad_settings(tmp_path: Path) -> None:
    unknown = scrm("run", "nope", env={}, cwd=tmp_path, timeout=60)
    assert unknown.returncode == 2 and "unknown service 'nope'" in unknown.stderr
    bad = scrm(
        "run", "gateway",
        env={"ENVIRONMENT": "production", "WECHAT_ACCOUNTS": json.dumps(
            [{"appid": "wx1", "token": "changethis", "encoding_aes_key": "k", "secret": "real-secret-value"}]
        )},
        cwd=tmp_path,
        timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "wechat_accounts[wx1].token holds a placeholder" in bad.stderr
    assert "real-secret-value" not in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


def test_announce_participation_runs_against_the_stack_and_refuses_bad_settings(
    infra: Infra, isolation: Isolation, tmp_path: Path
) -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb_url,
        "MONGODB_DATABASE": isolation.database,
        "TOPIC_PREFIX": isolation.topic_prefix,
    }
    result = scrm("campaigns", "announce-participation", env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "announced the standing of 0 participants" in result.stdout
    bad = scrm("campaigns", "announce-participation", env=env | {"ENVIRONMENT": "nowhere"}, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "environment" in bad.stderr


def test_rebuild_counters_recount_campaigns_and_members_from_their_records(
    infra: Infra, isolation: Isolation, tmp_path: Path
) -> None:
    """Records from before the counters (written straight to MongoDB here) are counted by the rebuilds."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb_url,
        "MONGODB_DATABASE": isolation.database,
        "TOPIC_PREFIX": isolation.topic_prefix,
    }
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        database: Database[dict[str, Any]] = client[isolation.database]
        try:
            database["campaigns"].insert_one({"_id": "c1", "appid": "wx1"})
            database["campaign_participants"].insert_many(
                [
                    {"_id": f"c1:o{n}", "campaign_id": "c1", "appid": "wx1", "openid": f"o{n}",
                     "code": f"k{n}", "joined_via": "keyword", "poster_sent_at": None}
                    for n in range(3)
                ]
            )  # fmt: skip
            database["members"].insert_many(
                [{"appid": "wx1", "openid": f"o{n}", "following": n != 0} for n in range(4)]
            )
            result = scrm("campaigns", "rebuild-counters", env=env, cwd=tmp_path, timeout=120)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            assert "rebuilt the counters of 1 campaigns and 1 accounts" in result.stdout
            (counted,) = database["campaign_counters"].find({"scope": "campaign:c1"})
            assert counted["c"] == {"participants:keyword": 3}

            result = scrm("members", "rebuild-counters", "--appid", "wx1", env=env, cwd=tmp_path, timeout=120)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            assert "rebuilt the member counters of 1 accounts" in result.stdout
            (members,) = database["member_counters"].find({"scope": "account:wx1"})
            assert members["c"] == {"members": 4, "following": 3}
        finally:
            client.drop_database(isolation.database)
