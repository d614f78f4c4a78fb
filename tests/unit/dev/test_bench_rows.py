"""The bench's ingest, latency and cost rows: what they compute from what was measured."""

from __future__ import annotations

from scrm_dev.bench_cost import cost_rows
from scrm_dev.bench_ingest import Cores, PushSource, Round, _rows
from scrm_dev.bench_latency import Timings, rows_of
from scrm_dev.load import LoadResult


def _round(rps: float, cpu_ms: float, p99: float = 10.0) -> Round:
    return Round(LoadResult(rps, 1.0, p99, int(rps * 10), 0), cpu_ms, 1.5)


def test_the_ingest_ratio_is_the_median_of_the_rounds_and_the_cpu_ratio_is_reported() -> None:
    bare = [_round(1000, 0.10), _round(2000, 0.10), _round(1000, 0.10)]
    gateway = [_round(500, 0.20), _round(1400, 0.20), _round(700, 0.25)]
    half = LoadResult(350, 2.0, 12.0, 3500, 0)
    rows = _rows(bare, gateway, half, half, 350, 0, Cores({0}, {1}))
    goal = rows[-1]
    assert goal[1] == "meets: median 70% (50%–70%)"
    assert "CPU per request bare/gateway median 50% (40%–50%)" in goal[2]
    assert rows[1][1].startswith("median 700 (500–1,400)")


def test_a_slow_half_peak_misses_the_goal() -> None:
    rows = _rows(
        [_round(1000, 0.1)],
        [_round(900, 0.12)],
        LoadResult(450, 5.0, 25.0, 4500, 0),
        LoadResult(450, 1, 2, 1, 0),
        450,
        0,
        Cores({0}, {1}),
    )
    assert rows[-1][1].startswith("misses")


def test_fresh_pushes_never_repeat_a_member_or_a_msgid() -> None:
    source = PushSource()
    targets = [target for target, _ in source.take(50) + source.take(50)]
    assert len(set(targets)) == 100


def test_latency_rows_judge_the_goals_by_p95() -> None:
    timings = Timings()
    for seconds in [0.5] * 19 + [2.5]:
        timings.add("follow → poster in the inbox", seconds)
    timings.add("mall order → tag in the profile", 0.4)
    rows = rows_of(timings, 20)
    assert "p95 2.50 s" in rows[0][1] and "misses" in rows[0][2]
    assert "goal" not in rows[1][2]


def test_cost_rows_subtract_idle_and_sum() -> None:
    before = {"gateway": 10.0, "members-worker": 20.0}
    after = {"gateway": 11.0, "members-worker": 22.0}
    idle_before = {"gateway": 0.0, "members-worker": 0.0}
    idle = {"gateway": 0.0, "members-worker": 0.5}  # 0.05 s of CPU per second, idle
    rows = cost_rows(before, after, idle_before, idle, idle_elapsed=10, elapsed=10, n=1000, rate=50)
    assert rows[0] == ("CPU per push: members-worker", "1.50 ms", "idle 50 ms/s subtracted")
    assert rows[1][1] == "1.00 ms"
    assert rows[-1][1] == "2.50 ms"


def test_the_first_member_is_reported_apart_and_not_in_the_percentiles() -> None:
    timings, first = Timings(), Timings()
    for seconds in [0.3] * 20:
        timings.add("follow → poster in the inbox", seconds)
    first.add("follow → poster in the inbox", 4.0)
    first.failures.append("first member: TimeoutError: decision")
    rows = rows_of(timings, 20, first)
    assert rows[0][0].startswith("latency: the first member") and "4.00 s" in rows[0][1]
    assert "p95 0.30 s" in rows[1][1] and "meets" in rows[1][2]
    assert rows[-1][:2] == ("latency: members that timed out", "1")
