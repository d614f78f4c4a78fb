"""One contract for the brands unit of work, run against MongoDB (the SecantusDB server) and in memory:
records round-trip, names are unique, activity only moves forward, counters add up (whatever the
characters in a segment or push id), the latest names of pushes and segments are kept, claims and
effects commit together or not at all; and the use cases that write several records at once (a
hand-over) do so in one transaction on MongoDB too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from services.brands.adapters.memory import InMemoryBrandsUnitOfWork
from services.brands.bootstrap import bootstrap
from services.brands.domain.model import (
    Brand,
    Deal,
    DealStage,
    NameTaken,
    Payment,
    Project,
    ProjectStatus,
    StageChange,
    Team,
    VersionConflict,
    as_stored,
)
from services.brands.domain.progress import NameSeen, ProjectNames
from services.brands.domain.rules import Viewer
from services.brands.service_layer.ports import BrandsUnitOfWork
from services.brands.settings import BrandsSettings
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 2, 0, 0, 123000, tzinfo=UTC)
Factory = Callable[[], BrandsUnitOfWork]


@pytest.fixture(params=["mongodb", "memory"])
async def uow(request: pytest.FixtureRequest, service_settings: LoadSettings) -> AsyncIterator[Factory]:
    if request.param == "memory":
        memory = InMemoryBrandsUnitOfWork()
        yield lambda: memory
        return
    async with bootstrap(service_settings(BrandsSettings)) as brands:
        yield brands.uow


def _project(project_id: str, brand_id: str, appid: str = "wx1", **changes: object) -> Project:
    fields: dict[str, object] = {
        "id": project_id,
        "brand_id": brand_id,
        "appid": appid,
        "name": f"Project {project_id}",
        "target_deliveries": 100,
        "target_clicks": 10,
        "starts_on": date(2026, 12, 1),
        "ends_on": date(2026, 12, 31),
        "price_fen": 123_456,
        "manager_id": "m1",
        "status": ProjectStatus.ACTIVE,
        "created_at": T0,
    } | changes
    return Project(**fields)  # type: ignore[arg-type]


async def test_records_round_trip_and_are_found_by_their_keys(uow: Factory) -> None:
    team = Team("t1", "East", "head", ["m1", "m2"])
    brands = [Brand("b1", "贝贝", "formula", "m1", T0, T0), Brand("b2", "Kidsy", None, "m2", T0, T0)]
    projects = [
        _project("p1", "b1"),
        _project("p2", "b2", starts_on=date(2026, 11, 1)),
        _project("p3", "b1", appid="wx2", status=ProjectStatus.DRAFT, target_clicks=None),
    ]
    deal = Deal("d1", "b1", "m1", DealStage.SIGNED, 500, date(2027, 1, 5), T0, [StageChange(DealStage.LEAD, T0, "m1")])
    deal.move(DealStage.DELIVERING, T0 + timedelta(hours=1), "m2")
    payments = [
        Payment("pay2", "b1", "p1", 200, date(2026, 12, 20), None, T0),
        Payment("pay1", "b2", None, 100, date(2026, 12, 10), date(2026, 12, 11), T0),
    ]
    async with uow() as u:
        await u.teams.add(team)
        for b in brands:
            await u.brands.add(b)
        for p in projects:
            await u.projects.add(p)
        await u.deals.add(deal)
        for pay in payments:
            await u.payments.add(pay)
        await u.commit()
    async with uow() as u:
        assert await u.teams.get("t1") == team and await u.teams.all() == [team]
        assert await u.brands.get("b1") == brands[0]
        assert await u.brands.owned_by(None) == [brands[1], brands[0]]  # by name
        assert await u.brands.owned_by(["m1"]) == [brands[0]]
        assert set(await u.brands.get_many(["b1", "nope"])) == {"b1"}
        assert await u.projects.get("p3") == projects[2]
        assert [p.id for p in await u.projects.of_brands(["b1"])] == ["p3", "p1"]  # newest start, then id
        assert [p.id for p in await u.projects.of_brands(None)] == ["p3", "p1", "p2"]
        assert [p.id for p in await u.projects.on_account("wx1", ProjectStatus.ACTIVE)] == ["p1", "p2"]
        assert [p.id for p in await u.projects.on_account("wx2", None)] == ["p3"]
        assert await u.deals.get("d1") == deal
        assert await u.deals.of_brands(["b2"]) == []
        assert [p.id for p in await u.payments.of_brands(None)] == ["pay1", "pay2"]  # by due day
        assert await u.payments.get("pay2") == payments[0]


async def test_brand_and_team_names_are_unique(uow: Factory) -> None:
    async with uow() as u:
        await u.brands.add(Brand("b1", "Beibei", None, "m1", T0, T0))
        await u.teams.add(Team("t1", "East", "h"))
        await u.commit()
    with pytest.raises(NameTaken):
        async with uow() as u:
            await u.brands.add(Brand("b2", "Beibei", None, "m2", T0, T0))
    with pytest.raises(NameTaken):
        async with uow() as u:
            await u.teams.add(Team("t2", "East", "h"))
    async with uow() as u:
        assert [b.id for b in await u.brands.owned_by(None)] == ["b1"]


async def test_activity_only_moves_forward(uow: Factory) -> None:
    async with uow() as u:
        await u.brands.add(Brand("b1", "Beibei", None, "m1", T0, T0))
        await u.commit()
    later = T0 + timedelta(days=3, microseconds=456789)
    async with uow() as u:
        await u.brands.touch({"b1": later, "unknown": later})
        await u.commit()
    async with uow() as u:
        await u.brands.touch({"b1": T0})
        await u.commit()
    async with uow() as u:
        found = await u.brands.get("b1")
    assert found is not None and found.last_activity_at == as_stored(later)


async def test_counters_add_up_per_project_and_day(uow: Factory) -> None:
    day1, day2 = date(2026, 12, 1), date(2026, 12, 2)
    odd = "delivered:push:a.b$c%2E"  # path characters inside an id
    async with uow() as u:
        await u.counters.add({("p1", day1): {"delivered": 2, odd: 1}, ("p2", day1): {"delivered": 5}})
        await u.counters.add({("p1", day1): {"delivered": 1, "clicks": 1}, ("p1", day2): {"delivered": 4}})
        await u.commit()
    async with uow() as u:
        days = await u.counters.days(["p1"], None, None)
        assert [(d.day, d.counts) for d in days] == [
            (day1, {"delivered": 3, odd: 1, "clicks": 1}),
            (day2, {"delivered": 4}),
        ]
        assert [d.day for d in await u.counters.days(["p1", "p2"], day2, day2)] == [day2]
        assert await u.counters.delivered(["p1", "p2"], day1, day1) == {"p1": 3, "p2": 5}
        assert await u.counters.delivered(["p1"], day1, day2) == {"p1": 7}


async def test_names_of_pushes_and_segments_are_kept_per_project_entry_by_entry(uow: Factory) -> None:
    odd = "a.b$c%2E"  # path characters inside an id
    later = T0 + timedelta(hours=1)
    async with uow() as u:
        assert await u.counters.names(["p1"]) == {}
        await u.counters.remember_names(
            {
                "p1": ProjectNames(
                    {"push1": NameSeen("春季", T0), odd: NameSeen("Odd", T0)}, {"s1": NameSeen("孕妈", T0)}
                )
            }
        )
        await u.commit()
    async with uow() as u:  # one entry replaced, the others stay
        await u.counters.remember_names({"p1": ProjectNames({"push1": NameSeen("春季二", later)})})
        await u.counters.remember_names({"p2": ProjectNames(segments={"s1": NameSeen("Other", T0)})})
        await u.commit()
    async with uow() as u:
        names = await u.counters.names(["p1", "p2", "p3"])
    assert names == {
        "p1": ProjectNames(
            {"push1": NameSeen("春季二", later), odd: NameSeen("Odd", T0)}, {"s1": NameSeen("孕妈", T0)}
        ),
        "p2": ProjectNames(segments={"s1": NameSeen("Other", T0)}),
    }


async def test_claims_and_effects_commit_together_or_not_at_all(uow: Factory) -> None:
    async with uow() as u:
        assert await u.claim_many("c", ["e1", "e2"]) == {"e1", "e2"}
        await u.counters.add({("p1", date(2026, 12, 1)): {"delivered": 2}})
        # left without commit: neither the claims nor the counters stay
    async with uow() as u:
        assert await u.claim_many("c", ["e1", "e2", "e3"]) == {"e1", "e2", "e3"}
        assert await u.counters.days(["p1"], None, None) == []
        await u.commit()
    async with uow() as u:
        assert await u.claim_many("c", ["e1", "e4"]) == {"e4"}
        assert await u.claim_many("other", ["e1"]) == {"e1"}


async def test_a_hand_over_moves_the_brand_with_its_open_projects_and_deals(service_settings: LoadSettings) -> None:
    async with bootstrap(service_settings(BrandsSettings)) as brands:
        async with brands.uow() as u:
            await u.brands.add(Brand("b1", "Beibei", None, "m1", T0, T0))
            await u.projects.add(_project("p1", "b1"))
            await u.projects.add(_project("p2", "b1", status=ProjectStatus.ENDED))
            await u.deals.add(Deal("d1", "b1", "m1", DealStage.LEAD, 0, None, T0))
            await u.deals.add(Deal("d2", "b1", "m1", DealStage.LOST, 0, None, T0))
            await u.commit()
        moved = await brands.use_cases.hand_over(Viewer("root", admin=True), "b1", "m2", T0 + timedelta(days=1))
        assert (moved.from_owner, moved.projects, moved.deals) == ("m1", ["p1"], ["d1"])
        async with brands.uow() as u:
            brand = await u.brands.get("b1")
            assert brand is not None and brand.owner_id == "m2" and brand.version == 2
            assert {p.id: p.manager_id for p in await u.projects.of_brands(["b1"])} == {"p1": "m2", "p2": "m1"}
            assert {d.id: d.owner_id for d in await u.deals.of_brands(["b1"])} == {"d1": "m2", "d2": "m1"}


async def test_two_edits_of_one_version_one_wins_the_other_is_told_it_is_stale(
    service_settings: LoadSettings,
) -> None:
    async with bootstrap(service_settings(BrandsSettings)) as brands:
        async with brands.uow() as u:
            await u.brands.add(Brand("b1", "Beibei", None, "m1", T0, T0))
            await u.commit()
        root = Viewer("root", admin=True)

        async def edit(name: str) -> object:
            try:
                return await brands.use_cases.edit_brand(root, "b1", 1, T0, name=name, industry=None)
            except VersionConflict as exc:
                return exc

        results = await asyncio.gather(edit("A"), edit("B"))
        assert sorted(type(r).__name__ for r in results) == ["VersionConflict", "tuple"]
        async with brands.uow() as u:
            brand = await u.brands.get("b1")
        assert brand is not None and brand.version == 2 and brand.name in {"A", "B"}
