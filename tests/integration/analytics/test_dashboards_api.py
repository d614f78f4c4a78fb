"""The write side and the read side agree: events folded by the worker's use case into SecantusDB are
what the dashboards API answers, through its real bootstrap (reader, settled-days cache, identity)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.analytics.adapters.rollup_store import MongoRollupsUnitOfWork
from services.analytics.entrypoints.http import create_app
from services.analytics.service_layer.rollups import fold_batch
from services.analytics.settings import AnalyticsSettings
from shared.contracts import (
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    MemberFollowed,
    MemberUnfollowed,
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
)
from shared.events import Envelope, Message
from shared.identity import Role
from shared.storage import create_client
from tests.accounts import account
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wxdash"
#: 10:00 in Beijing on 2026-12-01; the API's today is 2026-12-20 (so that day is settled, and kept).
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 20, 4, 0, tzinfo=UTC)


def _events() -> list[tuple[Envelope, Message]]:
    push = {"push_id": "p1", "segment_id": "s1", "variant": "A", "project_id": "pr1"}
    sent = {**push, "channel": "template"}
    messages: list[Message] = [
        CampaignPosterSent(openid="o0", campaign_id="c1", sent_at=T0),
        CampaignPosterScanned(openid="o1", campaign_id="c1", inviter_openid="o0", new_follower=True, scanned_at=T0),
        MemberFollowed(openid="o1", followed_at=T0, scene="r.c1.o0"),
        CampaignInviteCredited(openid="o0", campaign_id="c1", invitee_openid="o1", credited_at=T0),
        MemberFollowed(openid="o2", followed_at=T0, scene=None),
        MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(days=3)),
        PushDelivered(openid="o1", **sent, delivered_at=T0),
        PushDelivered(openid="o2", **sent, delivered_at=T0),
        PushDeliveryFailed(openid="o3", **sent, errcode=43004, failed_at=T0),
        PushClicked(openid="o2", **push, first=True, click_id="k1", clicked_at=T0),
        PushClicked(openid="o2", **push, first=False, click_id="k2", clicked_at=T0),
    ]
    return [
        (Envelope.wrap(message, appid=APPID, key="k", event_id=f"e{n}"), message) for n, message in enumerate(messages)
    ]


async def _fold(settings: AnalyticsSettings) -> None:
    client = create_client(settings)  # as the worker's: times read back aware
    try:
        events = _events()
        for start in range(0, len(events), 4):
            await fold_batch(MongoRollupsUnitOfWork(client, settings.mongodb_database), events[start : start + 4])
    finally:
        await client.close()


def test_folded_events_are_what_the_dashboards_answer(service_settings: LoadSettings) -> None:
    settings = service_settings(AnalyticsSettings, wechat_accounts=[account(APPID)])
    callers = Callers.on(APPID)
    asyncio.run(_fold(settings))
    app = create_app(settings, identity=callers.config, clock=lambda: NOW)
    params = {"from": "2026-12-01", "to": "2026-12-20"}
    with TestClient(app, headers=callers.headers(Role.ANALYST)) as client:

        def get(path: str) -> dict[str, Any]:
            response = client.get(f"/accounts/{APPID}/dashboards/{path}", params=params)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        for _ in range(2):  # the second time from the days kept in memory
            overview = get("overview")
            assert overview["follows_by_source"] == {"direct": 1, "poster": 1}
            assert overview["unfollows_by_source"] == {"poster": 1}
            totals = overview["totals"]
            assert (totals["follows"], totals["unfollows"], totals["pushes_delivered"]) == (2, 1, 2)
            assert (totals["project_delivered"], totals["push_clicks"], totals["push_clickers"]) == (2, 2, 1)
        funnel = get("campaigns/c1")["funnel"]
        counts = {step["step"]: step["count"] for step in funnel}
        assert counts["poster_sent"] == counts["poster_scans"] == counts["poster_follows"] == counts["credited"] == 1
        assert counts["retained_7d"] == 0  # credited on 12-01, gone on 12-04
        assert get("pushes/p1")["failures_by_errcode"] == {"43004": 1}
        [row] = get("pushes")["pushes"]
        assert (row["push_id"], row["delivered"], row["clickers"], row["click_rate"]) == ("p1", 2, 1, 0.5)
        project = get("projects/pr1")
        assert project["by_push"] == [{"push_id": "p1", "delivered": 2, "clicks": 2}]
        assert project["by_segment"] == [{"segment_id": "s1", "delivered": 2}]
