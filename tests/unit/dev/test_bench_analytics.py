"""The analytics benchmark's own parts: its traffic is valid and reproducible, and every event of it is
folded once through the runner (no timing here)."""

from __future__ import annotations

from collections import Counter

from scrm_dev.bench_analytics import analytics_traffic, through_runner
from services.analytics.adapters.memory_rollups import InMemoryRollupsUnitOfWork
from shared.contracts import CATALOG


async def test_the_traffic_is_valid_and_every_event_folds_once() -> None:
    traffic = analytics_traffic(events=3_000, members=500)
    topics = Counter(topic.name for topic, _ in traffic)
    assert topics["segments.deliveries"] > topics["wechat.pushes"] > 0 and topics["campaigns.activity"] > 0
    assert all(CATALOG.decode(envelope) for _, envelope in traffic)

    def shape(seed: int) -> list[object]:
        return [
            (topic.name, envelope.payload) for topic, envelope in analytics_traffic(events=50, members=9, seed=seed)
        ]

    assert shape(1) == shape(1) != shape(2)  # reproducible from its seed

    uow = InMemoryRollupsUnitOfWork()
    await through_runner(traffic, 400, lambda: uow)
    assert len(uow.processed) == 3_000
    account = Counter[str]()
    for document in uow.documents.values():
        if document["scope"] == "account":
            account.update(document["c"])
    assert account["follows"] + account["unfollows"] == topics["wechat.pushes"]
    before = uow.counters()
    await through_runner(traffic, 400, lambda: uow)  # redelivered: nothing changes
    assert uow.counters() == before
