"""The stall verdict a worker's progress watch reaches from the broker's answers (no broker here)."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from shared.messaging._progress import ConsumerStalled, Progress, ProgressWatch

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


def verdict(progress: Progress) -> str | None:
    return progress.stalled


def test_offsets_standing_still_for_the_window_with_records_waiting_is_a_stall() -> None:
    progress = Progress(stall_seconds=60)
    assert progress.observe({A: 5}, now=0) is False
    assert progress.observe({A: 5}, now=59) is False  # not yet time to look
    assert progress.observe({A: 5}, now=60) is True
    progress.found(waiting=1, now=60)
    reason = verdict(progress)
    assert reason is not None and "1 partition(s)" in reason and "60s" in reason


def test_offsets_standing_still_with_nothing_waiting_is_an_idle_worker() -> None:
    progress = Progress(stall_seconds=60)
    progress.observe({A: 5}, now=0)
    assert progress.observe({A: 5}, now=60) is True
    progress.found(waiting=0, now=60)
    assert verdict(progress) is None
    assert progress.observe({A: 5}, now=100) is False  # a fresh window from the look
    assert progress.observe({A: 5}, now=120) is True


def test_a_commit_that_moves_restarts_the_window() -> None:
    progress = Progress(stall_seconds=60)
    progress.observe({A: 5, B: 0}, now=0)
    assert progress.observe({A: 5, B: 1}, now=50) is False  # slow, but moving
    assert progress.observe({A: 5, B: 1}, now=100) is False
    assert progress.observe({A: 5, B: 1}, now=110) is True


def test_handlers_finishing_is_progress_even_before_a_commit() -> None:
    # A worker busy with slow records commits late; it is not stuck while its handlers finish.
    progress = Progress(stall_seconds=60)
    progress.observe({A: 5}, now=0, activity=0)
    assert progress.observe({A: 5}, now=50, activity=3) is False
    assert progress.observe({A: 5}, now=100, activity=7) is False
    assert progress.observe({A: 5}, now=109, activity=7) is False
    assert progress.observe({A: 5}, now=160, activity=7) is True  # nothing finished for the window


def test_a_broker_that_does_not_answer_gives_the_consumer_a_fresh_window() -> None:
    progress = Progress(stall_seconds=60)
    progress.observe({A: 5}, now=0)
    progress.unknown()  # the broker is restarting
    assert progress.observe({A: 5}, now=70) is False  # the window starts again after the outage
    assert progress.observe({A: 5}, now=129) is False
    assert progress.observe({A: 5}, now=130) is True


def test_a_consumer_not_yet_handed_partitions_gets_the_startup_window() -> None:
    # A whole stack starting on a busy machine: the group join alone can take over a minute while
    # records wait (a CI run saw a worker exit as stalled before it had consumed anything).
    progress = Progress(stall_seconds=60, startup_seconds=300)
    progress.observe({A: 0}, now=0, consuming=False)
    assert progress.observe({A: 0}, now=120, consuming=False) is False
    assert progress.observe({A: 0}, now=300, consuming=False) is True  # a join that never comes
    progress.found(waiting=1, now=300)
    assert verdict(progress) is not None


def test_once_consuming_the_usual_window_applies_for_good() -> None:
    progress = Progress(stall_seconds=60, startup_seconds=300)
    progress.observe({A: 0}, now=0, consuming=False)
    assert progress.observe({A: 0}, now=50, consuming=True) is False
    # A rebalance later takes the partitions away for a while: the consumer has started, no grace.
    assert progress.observe({A: 0}, now=60, consuming=False) is True


async def test_readiness_fails_once_stalled() -> None:
    watch = ProgressWatch("127.0.0.1:1", "g", ["t"], stall_seconds=1, every=1, on_stall=lambda reason: None)
    await watch.ready()
    watch.progress.observe({A: 0}, now=0)
    watch.progress.observe({A: 0}, now=2)
    watch.progress.found(waiting=1, now=2)
    with pytest.raises(ConsumerStalled):
        await watch.ready()
