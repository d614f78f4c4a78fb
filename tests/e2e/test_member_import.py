"""``scrm members import`` against the simulated platform: every follower once, and again harmlessly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.collection import Collection
from pymongo.database import Database

from scrm_dev.launcher import ServiceProcess
from services.profiles.adapters.repository import to_document
from services.profiles.domain.profile import Profile
from services.profiles.domain.tags import TagSource
from shared.localinfra import free_port
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, StageDeclaration, load_taxonomy
from tests.accounts import accounts_env
from tests.e2e.campaign_stack import ACCOUNT, APPID, scrm

pytestmark = pytest.mark.e2e

TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)


@pytest.fixture
def sim(infra_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = infra_env | {"WECHAT_ACCOUNTS": accounts_env(ACCOUNT)}
    process = ServiceProcess("wechat-sim", free_port(), env, tmp_path / "wechat-sim.log")
    process.start()
    try:
        process.wait_ready()
        yield process.url, env
    finally:
        assert process.stop() == 0


def test_existing_followers_become_profiles_once(
    sim: tuple[str, dict[str, str]], mongo_database: Database[dict[str, Any]], tmp_path: Path
) -> None:
    url, env = sim
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(230):
            added = client.post(f"/sim/accounts/{APPID}/members", json={"openid": f"o_old_{n:04d}"})
            assert added.status_code == 201, added.text
        client.post(f"/sim/accounts/{APPID}/members", json={"openid": "o_gone", "following": False})
    env = env | {
        "WECHAT_API__BASE_URL": url,
        "MALL_WEBHOOK_SECRET": "import-mall-webhook-0",
        "H5_LINK_SECRET": "import-h5-links-0123",
    }
    first = scrm("members", "import", "--appid", APPID, env=env, cwd=tmp_path, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "230 of 230 followers read, 230 new profiles" in first.stdout
    again = scrm("members", "import", "--appid", APPID, env=env, cwd=tmp_path, timeout=120)
    assert again.returncode == 0 and "0 new profiles" in again.stdout
    unknown = scrm("members", "import", "--appid", "wx-nope", env=env, cwd=tmp_path, timeout=120)
    assert unknown.returncode == 2 and "no account 'wx-nope'" in unknown.stdout

    profiles: Collection[dict[str, Any]] = mongo_database["profiles"]
    assert profiles.count_documents({"appid": APPID}) == 230
    assert profiles.count_documents({"openid": "o_gone"}) == 0  # not following: not imported
    # The platform says since when each one follows.
    assert profiles.count_documents({"appid": APPID, "follow.following": True}) == 230
    assert profiles.count_documents({"appid": APPID, "follow.first_followed_at": None}) == 0

    # The import keeps the coverage counters (once, the re-import changed nothing); the rebuild recounts them.
    coverage: Collection[dict[str, Any]] = mongo_database["profile_coverage"]
    # An account's totals are spread over a few shard documents (and what a rebuild wrote): their sum.
    totals_of_account = {"appid": APPID, "day": {"$exists": False}}

    def totals() -> dict[str, int]:
        summed: Counter[str] = Counter()
        for document in coverage.find(totals_of_account):
            summed.update(document["c"])
        return {key: n for key, n in summed.items() if n}

    total = totals()
    assert total["f:members"] == total["a:members"] == 230
    coverage.delete_many(totals_of_account)
    rebuilt = scrm("members", "rebuild-coverage", "--appid", APPID, env=env, cwd=tmp_path, timeout=120)
    assert rebuilt.returncode == 0 and "rebuilt from 230 profiles" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    assert totals() == total


def test_budgeted_profile_tags_become_wechat_tags_and_follow_changes(
    sim: tuple[str, dict[str, str]], mongo_database: Database[dict[str, Any]], tmp_path: Path
) -> None:
    url, env = sim
    env = env | {
        "WECHAT_API__BASE_URL": url,
        "MALL_WEBHOOK_SECRET": "sync-mall-webhook-01",
        "H5_LINK_SECRET": "sync-h5-links-01234",
    }
    with httpx.Client(base_url=url, timeout=30) as client:
        for openid in ("o_late", "o_baby", "o_plain"):
            assert client.post(f"/sim/accounts/{APPID}/members", json={"openid": openid}).status_code == 201
    now = datetime.now(UTC)
    late = Profile(APPID, "o_late")
    late.declare_stage(StageDeclaration(Basis.DUE_DATE, now.date(), (now + timedelta(weeks=4)).date()), now)
    late.add_tag(TAXONOMY, "interest.feeding.formula", TagSource.DECLARED, now)
    baby = Profile(APPID, "o_baby")
    baby.declare_stage(StageDeclaration(Basis.BIRTHDAY, now.date(), (now - timedelta(days=40)).date()), now)
    profiles: Collection[dict[str, Any]] = mongo_database["profiles"]
    profiles.insert_many([to_document(late), to_document(baby), to_document(Profile(APPID, "o_plain"))])
    synced = scrm("members", "sync-tags", "--appid", APPID, env=env, cwd=tmp_path, timeout=120)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    synced_tags: Collection[dict[str, Any]] = mongo_database["wechat_tags"]
    tag_ids = {doc["code"]: doc["tag_id"] for doc in synced_tags.find()}

    def tags_of(openid: str) -> set[str]:
        with httpx.Client(base_url=url, timeout=30) as client:
            ids = set(client.get(f"/sim/accounts/{APPID}/members/{openid}").json()["tag_ids"])
        return {code for code, tag_id in tag_ids.items() if tag_id in ids}

    assert tags_of("o_late") == {
        "stage.pregnancy",
        "stage.pregnancy.late",
        "interest.feeding",
        "interest.feeding.formula",
    }
    assert tags_of("o_baby") == {"stage.baby", "stage.baby.0_6m"}
    assert tags_of("o_plain") == set()

    # The formula interest is removed from the profile: the next sync takes the WeChat tags off.
    late.remove_tag("interest.feeding.formula", TagSource.DECLARED, now, actor="ops")
    profiles.replace_one({"_id": f"{APPID}:o_late"}, to_document(late))
    again = scrm("members", "sync-tags", "--appid", APPID, env=env, cwd=tmp_path, timeout=120)
    assert again.returncode == 0 and "0 WeChat tags created, 0 taggings, 2 removals" in again.stdout
    assert tags_of("o_late") == {"stage.pregnancy", "stage.pregnancy.late"}
