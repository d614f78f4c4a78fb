"""The coverage CSV: tag names come from a taxonomy file operators may edit; a hostile one is shown as
text, never run, and the figures (negative changes too) stay numbers."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.domain.profile import Profile
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http import create_app
from services.profiles.settings import ProfilesSettings
from shared.identity import Role
from shared.maternal_infant import DEFAULT_TAXONOMY, load_taxonomy
from tests.accounts import account
from tests.identities import Callers

APPID = "wx1"
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://evil.example","玩具")'


def test_a_hostile_tag_name_comes_out_as_text(tmp_path: Path) -> None:
    document = json.loads(DEFAULT_TAXONOMY.read_text(encoding="utf-8"))
    for tag in document["tags"]:
        if tag["code"] == "interest.toys":
            tag["name"] = HOSTILE
    edited = tmp_path / "taxonomy.json"
    edited.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    taxonomy = load_taxonomy(edited)

    store = InMemoryProfileStore()
    clock = [NOW - timedelta(days=20)]
    store.clock = lambda: clock[0]
    members = [Profile(APPID, openid) for openid in ("o1", "o2")]
    for profile in members:  # both tagged before the range, so the previous period counts 2
        changes = profile.followed(clock[0], "test")
        changes += profile.add_tag(taxonomy, "interest.toys", TagSource.OPS, clock[0], actor="t")
        asyncio.run(store.save(profile, changes))
    clock[0] = NOW - timedelta(days=2)
    asyncio.run(store.save(members[1], members[1].unfollowed(clock[0])))

    callers = Callers.on(APPID)
    settings = ProfilesSettings(environment="development", wechat_accounts=[account(APPID)], taxonomy_path=edited)
    app = create_app(settings, identity=callers.config, store=store, publish=False, clock=lambda: NOW)
    with TestClient(app, headers=callers.headers(Role.ANALYST)) as http:
        reply = http.get(f"/accounts/{APPID}/profiles/coverage", params={"from": "2026-03-04", "format": "csv"})
    assert reply.status_code == 200 and reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="coverage-wx1-2026-03-04-2026-03-10.csv"'
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"), newline="")))
    toys = [row for row in rows if row["code"] == "interest.toys"]
    assert toys and {row["name"] for row in toys} == {"'" + HOSTILE}
    tag = next(row for row in toys if row["figure"] == "tag")
    assert (tag["count"], tag["previous"], tag["delta"]) == ("1", "2", "-1")  # a negative change: a number
