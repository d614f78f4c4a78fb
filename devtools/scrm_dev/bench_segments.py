"""The segment rows of ``scrm bench``: preview latency from the live index at a million members, side by
side with the same rules as MongoDB queries.

Profiles are synthetic but built by the profiles domain and stored in its document shape
(:func:`synthetic_profiles`): stages spread over every basis and date, interest tags with weights,
follows over three years, recent activity, consents. The index is filled from those documents
exactly as the service fills it at start (:func:`facts_from_profile`). MongoDB gets the same
documents and the profiles service's indexes; each rule is timed as a count, which is what a preview's
size needs.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import resource
import statistics
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console

from services.profiles.adapters.repository import INDEXES, PROFILES, to_document
from services.profiles.domain.profile import ConsentKind, Follow, Profile
from services.profiles.domain.tags import Tag, TagSource
from services.segments.adapters.profile_documents import facts_from_profile, rule_filter
from services.segments.domain.membership import MembershipIndex
from services.segments.domain.rules import Rule, parse_rule
from shared.maternal_infant import Basis, StageDeclaration
from shared.settings import ServiceSettings
from shared.storage import create_client, ensure_indexes

__all__ = ["BENCH_RULES", "GOAL_PREVIEW_MS", "bench_segments", "synthetic_profiles"]

Row = tuple[str, str, str]

#: From the issue: a preview over 1,000,000 members answers in under 50 ms.
GOAL_PREVIEW_MS = 50.0
_INTERESTS = (
    "interest.feeding.formula",
    "interest.diapers",
    "interest.care",
    "interest.toys",
    "interest.health",
    "interest.maternity",
    "interest.gear",
    "interest.clothing",
)
#: What project managers target: from one condition to a nested mix, all answerable from profiles.
BENCH_RULES: dict[str, dict[str, Any]] = {
    "孕晚期 who like 奶粉": {"all": [{"stage_in": ["stage.pregnancy.late"]}, {"has_tag": "interest.feeding.formula"}]},
    "babies 0-12 months, diapers weight ≥ 1, marketing consent": {
        "all": [
            {"baby_age_months": {"max": 11}},
            {"tag_weight": {"code": "interest.diapers", "min": 1}},
            {"consent": "marketing"},
        ]
    },
    "active this week, followed this year, not toys": {
        "all": [
            {"active_within_days": 7},
            {"followed_since": "2026-01-01"},
            {"not": {"has_tag": "interest.toys"}},
        ]
    },
    "pregnant weeks 20-32 or toddlers, any of three interests": {
        "all": [
            {"any": [{"pregnancy_week": {"min": 20, "max": 32}}, {"stage_in": ["stage.child.1_3y"]}]},
            {"any": [{"has_tag": "interest.care"}, {"has_tag": "interest.health"}, {"has_tag": "interest.gear"}]},
        ]
    },
}


def synthetic_profiles(
    n: int, now: datetime, *, appid: str = "wx_bench_segments", seed: int = 11
) -> Iterator[dict[str, Any]]:
    """``n`` profile documents as the profiles service stores them, reproducible from ``seed``."""
    rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not secrets)
    today = now.date()
    for i in range(n):
        profile = Profile(appid, f"o_seg_{i:07d}")
        roll = rng.random()
        if roll < 0.08:
            profile.declarations.append(StageDeclaration(Basis.PREPARING, today))
        elif roll < 0.40:
            due = today + timedelta(days=rng.randrange(1, 300))
            profile.declarations.append(StageDeclaration(Basis.DUE_DATE, today, due))
        elif roll < 0.90:
            born = today - timedelta(days=rng.randrange(0, 6 * 365))
            profile.declarations.append(StageDeclaration(Basis.BIRTHDAY, today, born))
        for code in rng.sample(_INTERESTS, rng.randrange(0, 5)):
            seen = now - timedelta(days=rng.randrange(0, 90))
            profile.tags[(code, TagSource.MALL)] = Tag(code, TagSource.MALL, round(rng.uniform(0.2, 6), 2), seen, seen)
        followed = now - timedelta(days=rng.randrange(0, 3 * 365), seconds=rng.randrange(86400))
        profile.follow = Follow(followed, followed, None)
        profile.last_active_at = max(followed, now - timedelta(days=rng.expovariate(1 / 20)))
        if rng.random() < 0.7:
            profile.set_consent(ConsentKind.MARKETING, True, followed, "h5_form")
        yield to_document(profile)


def _build_index(
    documents: Iterable[dict[str, Any]], today: date, chunk: int = 10_000
) -> tuple[MembershipIndex, float]:
    """The index filled from ``documents``; seconds spent in the index alone (not making documents)."""
    index = MembershipIndex()
    spent = 0.0
    iterator = iter(documents)
    while batch := list(itertools.islice(iterator, chunk)):
        started = time.perf_counter()
        for document in batch:
            index.upsert(facts_from_profile(document, today))
        spent += time.perf_counter() - started
    return index, spent


def _time_previews(
    index: MembershipIndex, rules: dict[str, Rule], now: datetime, rounds: int
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in rules}
    for _ in range(rounds):
        for name, rule in rules.items():
            started = time.perf_counter()
            index.preview(rule, now)
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


async def _time_counts(
    settings: ServiceSettings, database: str, documents: list[dict[str, Any]], rules: dict[str, Rule], now: datetime
) -> tuple[dict[str, tuple[float, int]], float]:
    client = create_client(settings, timeout_ms=60_000)
    try:
        db = client[database]
        await ensure_indexes(db, INDEXES)
        started = time.perf_counter()
        for offset in range(0, len(documents), 5_000):
            await db[PROFILES].insert_many(documents[offset : offset + 5_000], ordered=False)
        loaded = time.perf_counter() - started
        counts: dict[str, tuple[float, int]] = {}
        for name, rule in rules.items():
            started = time.perf_counter()
            size = await db[PROFILES].count_documents(rule_filter(rule, now))
            counts[name] = ((time.perf_counter() - started) * 1000, size)
        return counts, loaded
    finally:
        await client.drop_database(database)
        await client.close()


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_segments(
    console: Console, settings: ServiceSettings, *, members: int = 1_000_000, in_mongodb: int = 100_000
) -> list[Row]:
    """Preview latency at ``members`` from the index; the same rules counted by MongoDB over ``in_mongodb``
    of the same profiles (SecantusDB is too slow to load a million in a benchmark run)."""
    now = datetime.now(UTC)
    rules = {name: parse_rule(data) for name, data in BENCH_RULES.items()}
    with console.status(f"{members:,} synthetic profiles into the live index..."):
        documents = list(synthetic_profiles(in_mongodb, now))
        before = _max_rss_mb()
        # Streamed: the index keeps no documents, so what the process grows by is the index itself.
        index, built = _build_index(synthetic_profiles(members, now), now.date())
        grown = _max_rss_mb() - before
    timings = _time_previews(index, rules, now, rounds=20)
    rows: list[Row] = []
    worst_p95 = 0.0
    small, _ = _build_index(documents, now.date())
    small_timings = _time_previews(small, rules, now, rounds=20)
    with console.status(f"the same rules as MongoDB counts over {in_mongodb:,} profiles..."):
        counts, loaded = asyncio.run(
            _time_counts(settings, f"scrm_bench_segments_{int(time.time())}", documents, rules, now)
        )
    for name, rule in rules.items():
        values = sorted(timings[name])
        p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
        worst_p95 = max(worst_p95, p95)
        size = len(index.select(rule, now))
        small_size = len(small.select(rule, now))
        mongo_ms, mongo_size = counts[name]
        assert mongo_size == small_size, f"{name}: MongoDB counts {mongo_size}, the index {small_size}"
        rows.append(
            (
                f"segment preview “{name}”, live index, {members:,} members",
                f"{size:,} members",
                f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (size and a sample of 20)",
            )
        )
        rows.append(
            (
                f"same rule at {in_mongodb:,}: live index vs MongoDB count (SecantusDB, indexed)",
                f"{small_size:,} members",
                f"index p50 {statistics.median(small_timings[name]):.2f} ms; MongoDB {mongo_ms:,.0f} ms",
            )
        )
    rows.append(
        (
            f"live index build from profile documents ({members:,})",
            f"{members / built:,.0f} members/s",
            f"{built:.1f} s; peak resident memory grew by {grown:,.0f} MB (the index, and 10,000 documents at a time)",
        )
    )
    verdict = "meets" if worst_p95 < GOAL_PREVIEW_MS else "misses"
    rows.append(
        (
            f"segment goal: preview over {members:,} members < {GOAL_PREVIEW_MS:.0f} ms",
            verdict,
            f"worst p95 {worst_p95:.1f} ms over {len(rules)} rules; MongoDB load {in_mongodb / loaded:,.0f} docs/s",
        )
    )
    return rows
