"""The members worker's writes keep the account counters in MongoDB equal to a count of the members,
and ``rebuild_counters`` recomputes them (members from before the counters, or damaged counts)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.members.adapters.repository import COUNTERS, MEMBERS
from services.members.bootstrap import bootstrap, rebuild_counters
from services.members.settings import MembersSettings
from shared.contracts import MemberFollowed, MemberUnfollowed
from shared.events import Envelope
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def recount(database: Any, appid: str) -> dict[str, int]:
    total = await database[MEMBERS].count_documents({"appid": appid})
    following = await database[MEMBERS].count_documents({"appid": appid, "following": True})
    return {"members": total, "following": following, "unfollowed": total - following}


async def test_counters_follow_the_writes_and_a_rebuild_recomputes_them(
    service_settings: LoadSettings, database: Any
) -> None:
    settings = service_settings(MembersSettings)
    rng = random.Random(3)
    async with bootstrap(settings) as members:
        assert members.views is not None
        sent: list[tuple[Envelope, MemberFollowed | MemberUnfollowed]] = []
        for n in range(40):
            appid, openid = rng.choice(["wx1", "wx2"]), f"o{rng.randrange(8)}"
            at = T0 + timedelta(minutes=rng.randrange(1000))
            event: MemberFollowed | MemberUnfollowed = (
                MemberFollowed(openid=openid, followed_at=at, scene=None)
                if rng.random() < 0.6
                else MemberUnfollowed(openid=openid, unfollowed_at=at)
            )
            sent.append((Envelope.wrap(event, appid=appid, key=openid, event_id=f"e{n}"), event))
            await members.handle(*sent[-1])
            if n % 5 == 0:
                await members.handle(*rng.choice(sent))  # redelivered
        for appid in ("wx1", "wx2"):
            assert await members.views.counts(appid) == await recount(database, appid)

        await database[COUNTERS].delete_many({})  # as before the counters existed
        assert await members.views.counts("wx1") == {"members": 0, "following": 0, "unfollowed": 0}
        assert sorted(await rebuild_counters(settings)) == ["wx1", "wx2"]
        for appid in ("wx1", "wx2"):
            assert await members.views.counts(appid) == await recount(database, appid)
        assert await rebuild_counters(settings, appid="wx1") == ["wx1"]  # again: the same counts
        assert await members.views.counts("wx1") == await recount(database, "wx1")
