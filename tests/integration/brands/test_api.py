"""The brands API over MongoDB (the SecantusDB server): a brand's life from creation through a project, its
counted deliveries, a deal, a payment and a hand-over, read back through progress, the value report and
the business view, as the in-memory tests read it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.brands.bootstrap import Brands, bootstrap
from services.brands.domain.progress import DeliveryFact
from services.brands.entrypoints.http import create_app
from services.brands.settings import BrandsSettings
from tests.brand_callers import seed_operators
from tests.identities import cheap_directory, identity_config
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def client(service_settings: LoadSettings) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    directory = cheap_directory()
    ids, tokens = seed_operators(directory)
    app = create_app(service_settings(BrandsSettings), clock=lambda: NOW, identity=identity_config(directory))
    with TestClient(app) as test_client:
        yield test_client, ids, {name: f"Bearer {token}" for name, token in tokens.items()}


def test_a_brand_s_life_on_mongodb(client: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    http, ids, tokens = client

    def call(method: str, path: str, who: str, **kwargs: Any) -> Any:
        response = http.request(method, path, headers={"Authorization": tokens[who]}, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    call("POST", "/teams", "root", json={"name": "East", "head_id": "hana", "member_ids": ["mia", "max"]})
    brand = call("POST", "/brands", "mia", json={"name": "贝贝", "industry": "formula"})
    project = call(
        "POST",
        f"/brands/{brand['id']}/projects",
        "mia",
        json={
            "appid": "wx1",
            "name": "Spring",
            "target_deliveries": 10,
            "target_clicks": 2,
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-10",
            "price_fen": 100_000,
            "status": "active",
        },
    )
    edited = call("PATCH", f"/projects/{project['id']}", "mia", json={"name": "Spring sale", "version": 1})
    assert edited["version"] == 2 and edited["starts_on"] == "2026-12-01"

    service: Brands = http.app.state.service  # type: ignore[attr-defined]
    at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    facts = [
        ("d1", DeliveryFact("delivered", project["id"], "push.1", "seg1", at)),
        (
            "d2",
            DeliveryFact("delivered", project["id"], "push.1", "seg1", at, push_name="春季.促销", segment_name="孕妈"),
        ),
        ("k1", DeliveryFact("clicked", project["id"], "push.1", "seg1", at, first=True)),
    ]
    # The app's loop runs in the TestClient's thread: count through a loop of this thread's own
    # (the client is per loop, so a fresh bootstrap rather than the app's).
    assert asyncio.run(_count(service.settings, facts)) == 3

    progress = call("GET", f"/projects/{project['id']}/progress", "hana")
    assert (progress["delivered"], progress["clicks"], progress["completion"]) == (2, 1, 20.0)
    assert progress["by_push"] == [
        {"push_id": "push.1", "push_name": "春季.促销", "delivered": 2, "clicks": 1, "clickers": 1}
    ]
    assert progress["by_segment"] == [{"segment_id": "seg1", "segment_name": "孕妈", "delivered": 2, "clicks": 1}]
    report = http.get(
        f"/projects/{project['id']}/value-report", params={"format": "csv"}, headers={"Authorization": tokens["mia"]}
    )
    assert report.text.startswith("\ufeffbrand,project") and "贝贝,Spring sale" in report.text
    assert "春季.促销,push.1,2,1,1" in report.text and "孕妈,seg1,2,1" in report.text

    deal = call("POST", "/deals", "mia", json={"brand_id": brand["id"], "value_fen": 500, "stage": "signed"})
    moved = call("POST", f"/deals/{deal['id']}/stage", "mia", json={"stage": "delivering"})
    assert [h["stage"] for h in moved["history"]] == ["signed", "delivering"]
    payment = call(
        "POST", "/payments", "mia", json={"brand_id": brand["id"], "amount_fen": 300, "due_on": "2026-12-20"}
    )
    call("POST", f"/payments/{payment['id']}/received", "mia", json={"received_on": "2026-12-04"})

    handed = call("POST", f"/brands/{brand['id']}/handover", "hana", json={"to": "max", "reason": "leave"})
    assert handed["projects"] == [project["id"]] and handed["deals"] == [deal["id"]]

    business = call("GET", "/business", "hana", params={"period": "month", "at": "2026-12-04"})
    managers = {m["manager_id"]: m for m in business["managers"]}
    assert (managers[ids["max"]]["target"], managers[ids["max"]]["delivered"]) == (10, 2)
    assert managers[ids["max"]]["received_fen"] == 300
    assert business["funnel"][3] == {"stage": "delivering", "count": 1, "value_fen": 500}
    assert [p["name"] for p in business["renewals"]["projects"]] == ["Spring sale"]
    listed = call("GET", "/brands", "max")["items"]
    assert [(b["name"], b["tier"], b["spend_fen"]) for b in listed] == [("贝贝", "C", 300)]
    assert call("GET", "/brands", "mia")["items"] == []


async def _count(settings: BrandsSettings, facts: list[tuple[str, DeliveryFact]]) -> int:
    async with bootstrap(settings) as brands:
        return await brands.record_deliveries(facts)
