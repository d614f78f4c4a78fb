"""A worker stopped while a record or a batch is in its handler commits no offset for it: the next
worker gets it again (at least once). faust acks what an agent was given in a ``finally``, so without
the runner's own acking a SIGTERM mid-handler committed records whose effects never happened."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.contracts import TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.events import Envelope
from shared.messaging import KafkaEventPublisher, ensure_topics
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
OPENIDS = [f"o-stop-{i}" for i in range(8)]
#: Every record has the same key: one partition, handled in this order.
KEY = "one-member-key"


@pytest.fixture
def worker_env(infra_env: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), **infra_env}


class Worker:
    def __init__(self, env: dict[str, str], log: Path, block_at: str, *, batch: bool, mode: str = "") -> None:
        self.log = log
        self._stderr = (log.parent / f"{log.name}.stderr").open("wb")
        args = [sys.executable, "-m", "tests.integration.shared.stoppable_worker", str(log), block_at]
        self.process = subprocess.Popen(
            [*args, *(["--batch"] if batch else []), *([mode] if mode else [])],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    def wait_for(self, line: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while line not in self.lines():
            assert self.process.poll() is None, f"worker exited: {self.process.returncode}"
            assert time.monotonic() < deadline, f"no {line!r} in {self.lines()}"
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()


async def _publish(infra: Infra, isolation: Isolation, *, one_key: bool = True) -> None:
    await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher:
        await publisher.ready()
        for openid in OPENIDS:
            event = MemberFollowed(openid=openid, followed_at=datetime(2026, 12, 4, tzinfo=UTC), scene="")
            key = KEY if one_key else openid
            await publisher.publish(WECHAT_PUSHES, Envelope.wrap(event, appid="wxstop", key=key))


@pytest.mark.parametrize(
    ("batch", "mode"), [(False, ""), (True, ""), (False, "--partitions")], ids=["one-by-one", "batches", "partitions"]
)
def test_a_record_in_the_handler_at_sigterm_is_handled_again_by_the_next_worker(
    infra: Infra,
    isolation: Isolation,
    worker_env: dict[str, str],
    tmp_path: Path,
    workers: list[Worker],
    batch: bool,
    mode: str,
) -> None:
    asyncio.run(_publish(infra, isolation))
    stuck = OPENIDS[4]
    first = Worker(worker_env, tmp_path / "first.log", stuck, batch=batch, mode=mode)
    workers.append(first)
    first.wait_for(f"started {stuck}")
    time.sleep(2)  # past the commit interval (1 s): what was acked would have been committed
    first.stop()
    assert f"done {stuck}" not in first.lines()

    second = Worker(worker_env, tmp_path / "second.log", "nobody", batch=batch, mode=mode)
    workers.append(second)
    second.wait_for(f"done {OPENIDS[-1]}")
    done = {line.removeprefix("done ") for line in first.lines() + second.lines() if line.startswith("done ")}
    assert done == set(OPENIDS)  # nothing lost: the stuck record (and its batch) came back
    assert f"done {stuck}" in second.lines()


def test_partitions_in_parallel_a_stuck_record_holds_only_its_partition_and_comes_again(
    infra: Infra, isolation: Isolation, worker_env: dict[str, str], tmp_path: Path, workers: list[Worker]
) -> None:
    asyncio.run(_publish(infra, isolation, one_key=False))  # one key per member: spread over partitions
    stuck = OPENIDS[4]
    first = Worker(worker_env, tmp_path / "first.log", stuck, batch=False, mode="--partitions")
    workers.append(first)
    first.wait_for(f"started {stuck}")
    # The other members' records are not queued behind the stuck one (unless they share its partition).
    others = [openid for openid in OPENIDS if openid != stuck]
    deadline = time.monotonic() + 30
    while not any(f"done {openid}" in first.lines() for openid in others):
        assert time.monotonic() < deadline, first.lines()
        time.sleep(0.1)
    time.sleep(2)  # past the commit interval
    first.stop()
    assert f"done {stuck}" not in first.lines()

    second = Worker(worker_env, tmp_path / "second.log", "nobody", batch=False, mode="--partitions")
    workers.append(second)
    second.wait_for(f"done {stuck}")
    done = {line.removeprefix("done ") for line in first.lines() + second.lines() if line.startswith("done ")}
    assert done == set(OPENIDS)
