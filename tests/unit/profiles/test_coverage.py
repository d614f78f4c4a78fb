"""Coverage counters kept by the profile writes themselves: after random sequences of writes (follows,
unfollows, tags added and removed, stages declared, consents, mall events, aborted transactions and
redeliveries) over random days, the counters equal a full recount of the profiles, each day's
figures in the series equal a recount made at the end of that day, and the stats equal a walk."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from services.profiles.adapters.memory import InMemoryProfileReader, InMemoryProfileStore, InMemoryProfilesUnitOfWork
from services.profiles.adapters.repository import from_document
from services.profiles.domain.coverage import (
    ALL,
    FOLLOWING,
    CoverageLedger,
    StageKind,
    beijing_day,
    daily_part,
    difference,
    facets,
    recount,
    series,
    stages_of,
)
from services.profiles.domain.profile import Change, ConsentKind, Profile
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer.coverage import coverage_report, profile_counts, rebuild_coverage
from services.profiles.service_layer.unit_of_work import ProfileStep, apply_once
from shared.maternal_infant import (
    DEFAULT_TAXONOMY,
    Basis,
    Confidence,
    Stage,
    StageDeclaration,
    load_taxonomy,
    stage_of,
)

TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)
APPS = ("wx1", "wx2")
START = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Beijing: writes straddle the day change
CODES = ("interest.feeding.formula", "interest.toys", "interest.gear.stroller", "purchase.diapers", "interest.care")


class Boom(RuntimeError):
    """A transaction that fails after writing: nothing of it may count."""


def _random_change(rng: random.Random, at: datetime) -> Callable[[Profile], list[Change] | None]:
    kind = rng.choice(["follow", "unfollow", "tag", "untag", "stage", "consent", "touch"])
    code = rng.choice(CODES)
    source = rng.choice([TagSource.OPS, TagSource.DECLARED, TagSource.MALL])
    when = at - timedelta(minutes=rng.randrange(0, 3000))  # out of order, as pushes arrive

    def change(profile: Profile) -> list[Change] | None:
        if kind == "follow":
            return profile.followed(when, "test")
        if kind == "unfollow":
            return profile.unfollowed(when)
        if kind == "tag":
            return profile.add_tag(TAXONOMY, code, source, when, actor="test")
        if kind == "untag":
            held = sorted(profile.tags)
            return profile.remove_tag(*rng.choice(held), when, "test") if held else None
        if kind == "stage":
            basis = rng.choice(list(Basis))
            on = None if basis is Basis.PREPARING else when.date() + timedelta(days=rng.randrange(-1500, 320))
            confidence = rng.choice(list(Confidence))
            declaration = StageDeclaration(basis, when.date() - timedelta(days=rng.randrange(30)), on, confidence)
            return profile.declare_stage(declaration, when)
        if kind == "consent":
            return profile.set_consent(ConsentKind.MARKETING, rng.random() < 0.6, when, "test")
        profile.touch(when)
        return []

    return change


def _profiles(store: InMemoryProfileStore) -> list[Profile]:
    return [from_document(doc) for doc in store.documents.values()]


def _of(store: InMemoryProfileStore, appid: str) -> list[Profile]:
    return [p for p in _profiles(store) if p.appid == appid]


def _totals(store: InMemoryProfileStore, appid: str) -> dict[str, int]:
    counts = store.coverage.get(f"{appid}|total", {}).get("c", {})
    return {key: n for key, n in counts.items() if n}


@pytest.mark.parametrize("seed", range(12))
def test_counters_equal_a_recount_after_random_writes(seed: int) -> None:
    rng = random.Random(seed)
    store = InMemoryProfileStore()
    clock = [START]
    store.clock = lambda: clock[0]
    uow = InMemoryProfilesUnitOfWork(store)
    members = [(rng.choice(APPS), f"o{n}") for n in range(25)]
    at_end_of: dict[str, dict[date, dict[str, int]]] = {appid: {} for appid in APPS}
    sent: list[ProfileStep] = []

    async def play() -> None:
        for batch_number in range(60):
            clock[0] += timedelta(minutes=rng.choice([1, 7, 45, 300]))
            steps = [
                ProfileStep(f"e{batch_number}-{n}", rng.choice(members), _random_change(rng, clock[0]))
                for n in range(rng.randrange(1, 12))
            ]
            if sent and rng.random() < 0.2:  # a redelivery inside a batch: counted once
                steps.append(rng.choice(sent))
            if rng.random() < 0.15:
                failing = ProfileStep(f"boom{batch_number}", rng.choice(members), _fail)
                with pytest.raises(Boom):
                    await apply_once(uow, "test", [*steps, failing])
            await apply_once(uow, "test", steps)
            sent.extend(steps)
            for appid in APPS:  # what each day ends with, as a walk would find it
                at_end_of[appid][beijing_day(clock[0])] = daily_part(recount(_of(store, appid)))

    asyncio.run(play())
    reader = InMemoryProfileReader(store)
    for appid in APPS:
        assert _totals(store, appid) == recount(_of(store, appid))
        days = asyncio.run(reader.coverage_days(appid, date(2000, 1, 1)))
        summed: Counter[str] = Counter()
        for increments in days.values():
            summed.update(increments)
        assert {k: n for k, n in summed.items() if n} == daily_part(_totals(store, appid))
        first, last = min(at_end_of[appid]), max(at_end_of[appid])
        for day, counts in series(_totals(store, appid), days, first, last):
            if day in at_end_of[appid]:
                assert counts == {k: n for k, n in at_end_of[appid][day].items() if n}, day
        for later in (0, 40, 200, 900):
            today = beijing_day(clock[0]) + timedelta(days=later)
            walked: Counter[Stage] = Counter()
            for profile in _of(store, appid):
                stage = profile.stage(today)
                if stage is not None:
                    walked[stage.stage] += 1
            stats = asyncio.run(reader.stats(appid, today))
            assert stats.by_stage == dict(walked)
            assert stats.profiles == len(_of(store, appid))
            assert stats.following == sum(p.follow.following for p in _of(store, appid))


def _fail(profile: Profile) -> list[Change]:
    profile.followed(START, "boom")
    raise Boom


def test_facets_count_each_code_with_its_ancestors_and_followers_twice() -> None:
    profile = Profile("wx1", "o1")
    profile.add_tag(TAXONOMY, "interest.feeding.formula", TagSource.OPS, START)
    profile.add_tag(TAXONOMY, "interest.feeding.formula", TagSource.DECLARED, START)
    profile.declare_stage(StageDeclaration(Basis.DUE_DATE, START.date(), date(2026, 6, 1)), START)
    alone = facets(profile)
    assert "a:tag:interest/feeding/formula" in alone and "a:tag:interest/feeding" in alone and "a:tag:interest" in alone
    assert "a:kt:pregnant:interest/feeding" in alone and "a:due:2026-06-01" in alone
    assert not any(key.startswith("f:") for key in alone)
    profile.followed(START, "test")
    both = facets(profile)
    assert len(both) == 2 * len(alone) and "f:kind:pregnant" in both
    assert difference(alone, both) == dict.fromkeys(both - alone, 1)
    assert facets(None) == frozenset()


def test_a_profile_saved_without_being_read_counts_from_what_is_stored() -> None:
    store = InMemoryProfileStore()
    uow = InMemoryProfilesUnitOfWork(store)
    profile = Profile("wx1", "o1")
    profile.followed(START, "test")

    async def twice() -> None:
        for _ in range(2):  # the same profile written again, never read in the transaction
            async with uow:
                await uow.profiles.save_many([(profile, [])])
                await uow.commit()

    asyncio.run(twice())
    assert _totals(store, "wx1") == {"a:members": 1, "f:members": 1, "a:kind:unknown": 1, "f:kind:unknown": 1}


def test_an_aborted_transaction_counts_nothing_and_the_ledger_restarts() -> None:
    ledger = CoverageLedger()
    profile = Profile("wx1", "o1")
    ledger.seen(("wx1", "o1"), None)
    ledger.wrote(profile)
    assert ledger.increments() == {"wx1": {"a:members": 1, "a:kind:unknown": 1}}
    ledger.clear()
    assert ledger.increments() == {} and not ledger.knows(("wx1", "o1"))


def test_stages_from_the_histograms_move_on_with_the_day() -> None:
    counts = {"f:kind:planning": 2, "f:due:2026-06-01": 3, "f:born:2025-12-01": 1}
    assert stages_of(counts, FOLLOWING, date(2026, 3, 1)) == {
        Stage.PREPARING: 2,
        Stage.MID_PREGNANCY: 3,
        Stage.BABY_0_6M: 1,
    }
    assert stages_of(counts, FOLLOWING, date(2026, 7, 1)) == {
        Stage.PREPARING: 2,
        Stage.BABY_0_6M: 3,
        Stage.BABY_6_12M: 1,
    }
    assert stages_of(counts, ALL, date(2026, 7, 1)) == {}


def test_the_report_compares_with_the_previous_period_and_the_rebuild_repairs() -> None:
    store = InMemoryProfileStore()
    clock = [datetime(2026, 3, 1, 4, 0, tzinfo=UTC)]
    store.clock = lambda: clock[0]
    uow = InMemoryProfilesUnitOfWork(store)

    def write(openid: str, change: Callable[[Profile], list[Change]]) -> None:
        event_id = f"e{len(uow.processed)}"
        asyncio.run(apply_once(uow, "t", [ProfileStep(event_id, ("wx1", openid), change)]))

    follow: Callable[[Profile], list[Change]] = lambda p: p.followed(clock[0], "test")  # noqa: E731
    toys: Callable[[Profile], list[Change]] = lambda p: p.add_tag(  # noqa: E731
        TAXONOMY, "interest.toys", TagSource.OPS, clock[0], actor="t"
    )
    write("o1", follow)
    write("o1", toys)
    clock[0] += timedelta(days=3)  # 3-04
    write("o2", follow)
    write("o2", toys)
    write("o3", follow)
    clock[0] += timedelta(days=2)  # 3-06
    write("o3", lambda p: p.declare_stage(StageDeclaration(Basis.PREPARING, clock[0].date()), clock[0]))
    reader = InMemoryProfileReader(store)
    report = asyncio.run(
        coverage_report(reader, "wx1", date(2026, 3, 4), date(2026, 3, 6), date(2026, 3, 6), TAXONOMY.tags)
    )
    assert (report.previous_first, report.previous_last) == (date(2026, 3, 1), date(2026, 3, 3))
    toys_row = next(row for row in report.tags if row.key == "interest.toys")
    assert (toys_row.count, toys_row.previous, toys_row.delta, toys_row.share) == (2, 1, 1, round(2 / 3, 4))
    assert (report.following.count, report.following.previous) == (3, 1)
    assert [(d.day.day, d.following, d.tags.get("interest.toys", 0)) for d in report.series] == [
        (4, 3, 2),
        (5, 3, 2),
        (6, 3, 2),
    ]
    planning = next(row for row in report.kinds if row.key == StageKind.PLANNING.value)
    assert (planning.count, planning.previous) == (1, 0)
    cross = {row.key: row.count for row in report.cross}
    assert cross["unknown|interest.toys"] == 2 and cross["planning|interest.toys"] == 0
    assert report.stages == {Stage.PREPARING: 1}
    assert any(row.key == "purchase.diapers" and row.count == 0 for row in report.tags)  # listed even unheld

    # Counters lost (data from before them): the rebuild recounts the totals from the profiles.
    store.coverage["wx1|total"]["c"] = {}
    assert profile_counts({}, date(2026, 3, 6)).profiles == 0
    assert asyncio.run(rebuild_coverage(reader, reader, "wx1")) == 3
    assert _totals(store, "wx1") == recount(_of(store, "wx1"))
    assert asyncio.run(reader.stats("wx1", date(2026, 3, 6))).following == 3


@pytest.mark.parametrize("today", [date(2026, 1, 31), date(2026, 2, 28), date(2028, 2, 29), date(2026, 12, 4)])
def test_every_day_of_the_histograms_lands_in_the_stage_of_its_declaration(today: date) -> None:
    counts: dict[str, int] = {}
    expected: Counter[Stage] = Counter()
    for offset in range(-1500, 400):
        on = today + timedelta(days=offset)
        for basis, name in ((Basis.DUE_DATE, "due"), (Basis.BIRTHDAY, "born")):
            weight = 1 + offset % 3
            counts[f"f:{name}:{on.isoformat()}"] = weight
            expected[stage_of(StageDeclaration(basis, today, on), today).stage] += weight
    assert stages_of(counts, FOLLOWING, today) == dict(expected)
