"""The profiles rows of ``scrm bench``: mall events per second per worker, and what profiles weigh.

Three rows for the mall path, so a number can be traced to its cause:

1. the worker's own work: Kafka record bytes through the batch runner (envelope and catalog
   decoding), the service layer and the domain, profiles encoded to and decoded from their MongoDB
   documents, with a store that keeps the documents in a dict (the round trips discarded);
2. the same batches through MongoDB (SecantusDB locally): claims, one read of the batch's
   members, one bulk write and one history insert per batch, in a transaction;
3. the whole path: events produced to Kafka and one ``profiles-worker`` process consuming them in
   batches until every event is claimed in MongoDB.

Storage per million profiles is measured on profiles built by the domain from the same traffic:
BSON bytes per document and index keys, scaled up. The worker holds no profiles between batches,
so its memory does not grow with the member count; its resident size after the run is reported.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import httpx
from rich.console import Console

from services.profiles.adapters.memory import InMemoryProfileStore, InMemoryProfilesUnitOfWork
from services.profiles.adapters.repository import MongoProfilesUnitOfWork, from_document, to_document
from services.profiles.domain.profile import InterestPick
from services.profiles.service_layer.mall import CONSUMER, apply_mall_events
from services.profiles.settings import ProfilesSettings
from shared.contracts import CATALOG, MALL_EVENTS, MallEventReceived
from shared.events import Envelope, Message
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, Taxonomy, load_taxonomy
from shared.messaging import Delivery, KafkaEventPublisher, PermanentHandlerError, dispatch, dispatch_batch
from shared.settings import ServiceSettings
from shared.storage import PROCESSED_EVENTS, create_client

__all__ = ["GOAL_EVENTS_PER_SECOND", "bench_profiles"]

Row = tuple[str, str, str]

#: From the issue: mall events per second per worker, with MongoDB writes batched.
GOAL_EVENTS_PER_SECOND = 5_000
APPID = "wx_bench_mall"
#: Shop traffic: mostly views, some carts, fewer orders, a few refunds.
_KINDS = ("view", "add_to_cart", "order", "refund")
_KIND_WEIGHTS = (0.60, 0.25, 0.12, 0.03)
_HALF_LIFE = timedelta(days=30)
#: Events written to SecantusDB per row: enough for steady batches, few enough for its speed.
_WITH_WRITES = 10_000


def mall_traffic(taxonomy: Taxonomy, *, events: int, members: int, seed: int = 5) -> list[Delivery]:
    """``events`` shop events over ``members`` members and the last 30 days, as Kafka records."""
    rng = random.Random(seed)  # noqa: S311  (reproducible traffic, not secrets)
    categories = sorted(taxonomy.categories)
    start = datetime.now(UTC) - timedelta(days=30)
    records = []
    for n in range(events):
        openid = f"o_shopper_{rng.randrange(members):07d}"
        kind = rng.choices(_KINDS, _KIND_WEIGHTS)[0]
        message = MallEventReceived(
            mall_event_id=f"m{seed}-{n}",
            openid=openid,
            kind=kind,
            category=rng.choice(categories),
            occurred_at=start + timedelta(seconds=30 * 86400 * n / events),
            amount_fen=rng.randrange(1_000, 60_000) if kind in ("order", "refund") else 0,
        )
        envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id=f"bench-{seed}-{n}")
        records.append(Delivery(MALL_EVENTS.name, 0, n, openid.encode(), envelope.to_bytes()))
    return records


class _DeadLetters:
    """Where a benchmark's failed events would go; any at all make the benchmark fail, with the reason."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def publish(self, topic: object, envelope: Envelope) -> None:
        self.reasons.append(str(envelope.payload.get("reason")))

    def check(self) -> None:
        if self.reasons:
            raise RuntimeError(f"{len(self.reasons)} benchmark events failed, first: {self.reasons[0]}")


async def _through_runner(records: list[Delivery], batch_size: int, new_uow: Any, taxonomy: Taxonomy) -> float:
    """Seconds to take ``records`` through the batch runner and the service layer."""

    async def batch_handler(batch: Sequence[tuple[Envelope, Message]]) -> None:
        mall = [(envelope, message) for envelope, message in batch if isinstance(message, MallEventReceived)]
        await apply_mall_events(mall, new_uow(), taxonomy, _HALF_LIFE)

    async def single(envelope: Envelope, message: Message) -> None:
        raise PermanentHandlerError("its batch failed (see the log)")

    deadletters = _DeadLetters()
    started = time.perf_counter()
    for offset in range(0, len(records), batch_size):
        await dispatch_batch(
            records[offset : offset + batch_size],
            consumer="profiles",
            batch_handler=batch_handler,
            handler=single,
            catalog=CATALOG,
            deadletters=deadletters,
        )
    deadletters.check()
    return time.perf_counter() - started


async def _one_at_a_time(records: list[Delivery], new_uow: Any, taxonomy: Taxonomy) -> float:
    async def handler(envelope: Envelope, message: Message) -> None:
        assert isinstance(message, MallEventReceived)
        await apply_mall_events([(envelope, message)], new_uow(), taxonomy, _HALF_LIFE)

    deadletters = _DeadLetters()
    started = time.perf_counter()
    for record in records:
        await dispatch(record, consumer="profiles", handler=handler, catalog=CATALOG, deadletters=deadletters)
    deadletters.check()
    return time.perf_counter() - started


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} events/s"


async def _in_process_rows(settings: ServiceSettings, database: str, events: int, batch_size: int) -> list[Row]:
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    records = mall_traffic(taxonomy, events=events, members=events // 5)
    uow = InMemoryProfilesUnitOfWork()
    store = uow.store
    discarded = await _through_runner(records, batch_size, lambda: uow, taxonomy)
    rows: list[Row] = [
        (
            f"mall events, one worker's own work, batches of {batch_size} (MongoDB round trips discarded)",
            _rate(events, discarded),
            f"{1000 * discarded / events * batch_size:.1f} ms per batch; {len(store.documents):,} profiles",
        )
    ]
    client = create_client(settings)
    try:
        # The same traffic as the Kafka row below, so the two compare like with like.
        real_n = min(events, _WITH_WRITES)
        real = await _through_runner(
            mall_traffic(taxonomy, events=real_n, members=real_n // 5, seed=7),
            batch_size,
            lambda: MongoProfilesUnitOfWork(client, database),
            taxonomy,
        )
        claimed = await client[database][PROCESSED_EVENTS].count_documents({"_id": {"$regex": f"^{CONSUMER}:"}})
        assert claimed == real_n, f"{claimed} of {real_n} events claimed"
        single_n = min(events, 1_000)
        other = mall_traffic(taxonomy, events=single_n, members=single_n // 5, seed=6)
        single = await _one_at_a_time(other, lambda: MongoProfilesUnitOfWork(client, database), taxonomy)
    finally:
        await client.drop_database(database)
        await client.close()
    rows += [
        (
            f"mall events, batches of {batch_size}, writes to SecantusDB ({real_n:,} events)",
            _rate(real_n, real),
            f"{1000 * real / real_n * batch_size:.0f} ms per batch (claims, read, bulk write, history)",
        ),
        (
            f"same, one event per transaction ({single_n:,} events)",
            _rate(single_n, single),
            f"{1000 * single / single_n:.1f} ms per event",
        ),
    ]
    rows.append(_storage_row(taxonomy, store))
    return rows


def _storage_row(taxonomy: Taxonomy, store: InMemoryProfileStore) -> Row:
    """Bytes per profile from the benchmark's own profiles, with an interest pick added to half of them."""
    now = datetime.now(UTC)
    sizes: list[int] = []
    keys = 0
    for n, document in enumerate(store.documents.values()):
        profile = from_document(document)
        if n % 2 == 0:
            pick = InterestPick(Basis.BIRTHDAY, (now - timedelta(days=120)).date(), ("interest.diapers",), True, True)
            profile.apply_interest_pick(pick, taxonomy, now, "h5_form")
        encoded = to_document(profile)
        sizes.append(len(bson.encode(encoded)))
        # _id, the (appid, openid) index and the unionid index: what the keys hold, before compression.
        keys += len(encoded["_id"]) + len(encoded["appid"]) + len(encoded["openid"]) + 2 * 16
    average = sum(sizes) / len(sizes)
    per_million = (sum(sizes) + keys) / len(sizes) * 1_000_000 / 1e9
    return (
        "profile storage per 1,000,000 members (BSON documents + index keys, before compression)",
        f"{per_million:.2f} GB",
        f"{average:,.0f} B per profile on average, largest {max(sizes):,} B ({len(sizes):,} profiles)",
    )


async def _through_worker(settings: ServiceSettings, prefix: str, database: str, records: list[Delivery]) -> float:
    """Seconds from the first record produced until the running worker has claimed them all."""
    started = time.perf_counter()
    async with KafkaEventPublisher(settings.kafka_bootstrap_servers, topic_prefix=prefix, client_id="bench") as kafka:
        await asyncio.gather(*(kafka.publish(MALL_EVENTS, Envelope.from_bytes(record.value)) for record in records))
    async with asyncio.timeout(600):
        await _wait_claimed(settings, database, len(records))
    return time.perf_counter() - started


async def _wait_claimed(settings: ServiceSettings, database: str, n: int) -> None:
    client = create_client(settings)
    try:
        # The worker is the only writer of this run's database; a count by metadata keeps the polling
        # from loading the server it measures.
        while await client[database][PROCESSED_EVENTS].estimated_document_count() < n:  # noqa: ASYNC110  (another process)
            await asyncio.sleep(0.5)
    finally:
        await client.close()


def _handler_totals(metrics: str, consumer: str) -> tuple[float, float]:
    """(calls, seconds) of a consumer's handler, from the worker's Prometheus text."""
    totals = {"count": 0.0, "sum": 0.0}
    for line in metrics.splitlines():
        for kind in totals:
            if line.startswith(f'scrm_handler_seconds_{kind}{{consumer="{consumer}"}}'):
                totals[kind] = float(line.rsplit(" ", 1)[1])
    return totals["count"] or float("nan"), totals["sum"]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bench_profiles(console: Console, settings: ServiceSettings, state_dir: Any, *, events: int = 20_000) -> list[Row]:
    """All the profiles rows; starts local infrastructure and one profiles worker for the last one."""
    from scrm_dev.stack import benchmark_stack

    batch_size = ProfilesSettings.model_fields["mall_batch_size"].default
    with benchmark_stack(console, settings, state_dir, "bench-mall", only=["profiles-worker"]) as stack:
        with console.status("mall events in process..."):
            rows = asyncio.run(_in_process_rows(settings, f"{stack.database}_inproc", events, batch_size))
        worker_n = min(events, _WITH_WRITES)
        records = mall_traffic(load_taxonomy(DEFAULT_TAXONOMY), events=worker_n, members=worker_n // 5, seed=7)
        with console.status(f"{worker_n:,} mall events through Kafka and one profiles worker..."):
            seconds = asyncio.run(_through_worker(settings, stack.topic_prefix, stack.database, records))
        worker = stack.processes["profiles-worker"]
        rss = float("nan") if worker.pid is None else _rss_mb(worker.pid)
        batches, busy = _handler_totals(httpx.get(f"{worker.url}/metrics", timeout=10).text, "profiles")
    rows.append(
        (
            f"mall events, Kafka → one profiles worker → SecantusDB ({worker_n:,} events)",
            _rate(worker_n, seconds),
            f"all applied after {seconds:.1f} s; {batches:.0f} batches of {worker_n / batches:.0f} on average, "
            f"{1000 * busy / batches:.0f} ms each; worker resident memory {rss:.0f} MB",
        )
    )
    own = float(rows[0][1].split()[0].replace(",", ""))
    verdict = "meets" if own >= GOAL_EVENTS_PER_SECOND else "misses"
    rows.append(
        (
            f"mall goal: ≥{GOAL_EVENTS_PER_SECOND:,} events/s per worker with writes batched",
            f"{verdict} on the worker's own work",
            f"{own:,.0f} events/s; with writes the rows above are SecantusDB's limit, not mongod's",
        )
    )
    return rows
