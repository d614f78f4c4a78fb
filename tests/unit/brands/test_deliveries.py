"""The worker's use case through the bootstrap, in memory: deliveries and clicks of project pushes become
daily counters once each (redelivered alone or inside a batch), move the brand's last activity, and
anything else on the topic is left alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.brands.adapters.memory import InMemoryBrandsUnitOfWork
from services.brands.bootstrap import bootstrap
from services.brands.domain.model import Brand, Project, ProjectStatus
from services.brands.service_layer.deliveries import facts_of
from services.brands.settings import BrandsSettings
from shared.contracts import PushClicked, PushDelivered, PushDeliveryFailed
from shared.events import Envelope, Message
from shared.settings import load_settings

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _wrap(message: Message, event_id: str) -> tuple[Envelope, Message]:
    return Envelope.wrap(message, appid="wx1", key="o1", event_id=event_id), message


def _seeded() -> InMemoryBrandsUnitOfWork:
    uow = InMemoryBrandsUnitOfWork()
    uow.committed.brands["b1"] = Brand("b1", "Beibei", None, "m1", T0, T0)
    uow.committed.projects["p1"] = Project(
        "p1", "b1", "wx1", "Spring", 100, None, date(2026, 12, 1), date(2026, 12, 31), 0, "m1", ProjectStatus.ACTIVE, T0
    )
    return uow


BATCH = [
    _wrap(
        PushDelivered(openid="o1", push_id="x", segment_id="s", project_id="p1", channel="template", delivered_at=T0),
        "d1",
    ),
    _wrap(
        PushDelivered(
            openid="o2", push_id="x", segment_id="s", project_id="p1", channel="template", delivered_at=LATER
        ),
        "d2",
    ),
    _wrap(
        PushClicked(
            openid="o1", push_id="x", segment_id="s", project_id="p1", first=True, click_id="k1", clicked_at=LATER
        ),
        "k1",
    ),
    # Not a project's: no project id, or a failure.
    _wrap(PushDelivered(openid="o3", push_id="y", segment_id="s", channel="template", delivered_at=T0), "d3"),
    _wrap(
        PushDeliveryFailed(
            openid="o4", push_id="x", segment_id="s", project_id="p1", channel="template", errcode=43004, failed_at=T0
        ),
        "f1",
    ),
    # A project this service does not know: counted (it may be created later), touching no brand.
    _wrap(
        PushDelivered(openid="o5", push_id="z", segment_id="s", project_id="p9", channel="template", delivered_at=T0),
        "d5",
    ),
]


async def test_project_pushes_are_counted_once_and_move_the_brand_s_activity() -> None:
    uow = _seeded()
    async with bootstrap(load_settings(BrandsSettings), uow=lambda: uow) as brands:
        facts = facts_of(BATCH)
        assert [event_id for event_id, _ in facts] == ["d1", "d2", "k1", "d5"]
        assert await brands.record_deliveries(facts) == 4
        # The whole batch again, and a batch holding one event twice: nothing more.
        assert await brands.record_deliveries(facts) == 0
        assert await brands.record_deliveries(facts_of([BATCH[0], BATCH[0]])) == 0
    counters = uow.committed.counters
    assert counters[("p1", date(2026, 12, 1))]["delivered"] == 1
    assert counters[("p1", date(2026, 12, 2))] == {
        "delivered": 1,
        "delivered:seg:s": 1,
        "delivered:push:x": 1,
        "clicks": 1,
        "clicks:seg:s": 1,
        "clicks:push:x": 1,
        "clickers": 1,
        "clickers:push:x": 1,
    }
    assert counters[("p9", date(2026, 12, 1))]["delivered"] == 1
    assert uow.committed.brands["b1"].last_activity_at == LATER
    assert len(uow.processed) == 4


async def test_a_batch_with_a_repeated_event_counts_it_once() -> None:
    uow = _seeded()
    async with bootstrap(load_settings(BrandsSettings), uow=lambda: uow) as brands:
        assert await brands.record_deliveries(facts_of([BATCH[0], BATCH[0], BATCH[1]])) == 2
    assert sum(c["delivered"] for c in uow.committed.counters.values()) == 2


def _named(event_id: str, at: datetime, push_name: str | None, segment_name: str | None) -> tuple[Envelope, Message]:
    event = PushDelivered(
        openid=event_id,
        push_id="x",
        segment_id="s",
        project_id="p1",
        push_name=push_name,
        segment_name=segment_name,
        channel="template",
        delivered_at=at,
    )
    return _wrap(event, event_id)


async def test_the_latest_names_seen_are_kept_with_the_counters_and_a_later_event_s_name_wins() -> None:
    uow = _seeded()
    async with bootstrap(load_settings(BrandsSettings), uow=lambda: uow) as brands:
        await brands.record_deliveries(facts_of([_named("n1", T0, "Old", "Mums")]))
        names = uow.committed.names["p1"]
        assert (names.pushes["x"].name, names.segments["s"].name) == ("Old", "Mums")
        # Renamed: a later event's name wins; one without names changes nothing.
        await brands.record_deliveries(facts_of([_named("n2", LATER, "New", None)]))
        # An older event arriving late (or redelivered) does not undo the rename.
        await brands.record_deliveries(facts_of([_named("n3", T0, "Older", "Mums 2")]))
        await brands.record_deliveries(facts_of([_named("n2", LATER, "New", None)]))
    names = uow.committed.names["p1"]
    assert (names.pushes["x"].name, names.pushes["x"].at) == ("New", LATER)
    assert (names.segments["s"].name, names.segments["s"].at) == ("Mums", T0)
    assert sum(c["delivered"] for c in uow.committed.counters.values()) == 3


async def test_events_without_names_keep_no_names() -> None:
    uow = _seeded()
    async with bootstrap(load_settings(BrandsSettings), uow=lambda: uow) as brands:
        assert await brands.record_deliveries(facts_of(BATCH)) == 4
    assert uow.committed.names == {}
