"""The mall benchmark's own parts: its traffic is valid and every event of it lands (no timing here)."""

from __future__ import annotations

from collections import Counter

from scrm_dev.bench_profiles import _storage_row, _through_runner, mall_traffic
from services.profiles.adapters.memory import InMemoryProfilesUnitOfWork
from shared.contracts import CATALOG, MallEventReceived
from shared.events import Envelope
from shared.maternal_infant import DEFAULT_TAXONOMY, load_taxonomy


async def test_the_traffic_is_valid_and_every_event_applies_once() -> None:
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    records = mall_traffic(taxonomy, events=2_000, members=400)
    messages = [CATALOG.decode(Envelope.from_bytes(record.value)) for record in records]
    assert all(isinstance(message, MallEventReceived) for message in messages)
    kinds = Counter(message.kind for message in messages if isinstance(message, MallEventReceived))
    assert kinds["view"] > kinds["add_to_cart"] > kinds["order"] > kinds["refund"] > 0

    def shape(seed: int) -> list[tuple[object, ...]]:
        decoded = (
            CATALOG.decode(Envelope.from_bytes(r.value))
            for r in mall_traffic(taxonomy, events=50, members=9, seed=seed)
        )
        return [(m.openid, m.kind, m.category) for m in decoded if isinstance(m, MallEventReceived)]

    assert shape(1) == shape(1) != shape(2)  # reproducible from its seed

    uow = InMemoryProfilesUnitOfWork()
    store = uow.store
    await _through_runner(records, 300, lambda: uow, taxonomy)
    assert len(uow.processed) == 2_000
    assert len(store.documents) == len({m.openid for m in messages if isinstance(m, MallEventReceived)})
    events_applied = sum(len(document["applied_events"]) for document in store.documents.values())
    assert events_applied == 2_000

    await _through_runner(records, 300, lambda: uow, taxonomy)  # redelivered: nothing changes
    assert sum(len(document["applied_events"]) for document in store.documents.values()) == 2_000
    _, size, detail = _storage_row(taxonomy, store)
    assert size.endswith(" GB") and "B per profile" in detail
