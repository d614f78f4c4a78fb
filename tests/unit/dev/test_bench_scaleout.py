"""The scale-out rows' arithmetic: the ceiling the machine imposes and whether the rate grew (no timing)."""

from __future__ import annotations

import pytest

from scrm_dev.bench_scaleout import _SHARED, ACCOUNT_LIMIT, _all_sending_rate, _ceiling_rows, _Result, machine_ceiling
from shared.wechat_client import RateLimit


def test_the_shared_pace_is_above_one_dispatcher_and_within_the_accounts_limit() -> None:
    # One dispatcher reaches about 1,500/s here: a pace above that lets more processes add to it.
    assert _SHARED.rate > 1_500
    assert _SHARED.burst + _SHARED.rate * 1.05 + 1 <= ACCOUNT_LIMIT


def test_the_ceiling_is_two_cores_or_the_simulators_one() -> None:
    both, simulator = machine_ceiling(0.2, 0.3)
    assert both == pytest.approx(4_000) and simulator == pytest.approx(3_333.3, abs=0.1)
    both, simulator = machine_ceiling(0.5, 0.5)
    assert both == pytest.approx(2_000) and simulator == pytest.approx(2_000)


def test_growth_until_the_ceiling_meets() -> None:
    pace = RateLimit(calls=2_500, period=1.0, burst=25)
    # The simulator at 0.45 ms a send: one core allows about 2,222/s; 4 processes add nothing past it.
    rows = _ceiling_rows([(1, 1_500, 0.2, 0.45), (2, 2_050, 0.21, 0.46), (4, 2_060, 0.25, 0.47)], pace)
    ceiling, goal = rows
    assert ceiling[1] == "2,222 sends/s" and "simulator's one core" in ceiling[2]
    assert goal[1] == "meets", goal


def test_no_growth_below_the_ceiling_misses() -> None:
    pace = RateLimit(calls=2_500, period=1.0, burst=25)
    rows = _ceiling_rows([(1, 800, 0.2, 0.2), (2, 810, 0.2, 0.2), (4, 820, 0.2, 0.2)], pace)
    assert rows[0][1] == "2,500 sends/s" and "shared pace" in rows[0][2]
    assert rows[1][1] == "misses"


def test_the_rate_while_all_send_counts_only_the_overlap() -> None:
    def result(started: float, finished: float, rate: int) -> _Result:
        starts = [started + i / rate for i in range(int((finished - started) * rate))]
        return _Result(len(starts), 0, started, finished, 0.0, 0, 0, starts)

    assert _all_sending_rate([result(0, 4, 100)]) is None  # one dispatcher: its whole run
    # 100/s each from 0-4 s and 1-6 s: both send from 1 to 4 s, 200/s.
    assert _all_sending_rate([result(0, 4, 100), result(1, 6, 100)]) == pytest.approx(200, abs=1)
    assert _all_sending_rate([result(0, 2, 100), result(1.5, 6, 100)]) is None  # under a second together
