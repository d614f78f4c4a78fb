from __future__ import annotations

import pytest

from services.wechat_sim.domain.clock import ManualClock

#: 2024-04-25 17:15:04 Beijing time
START = 1_714_036_504.0


@pytest.fixture
def clock() -> ManualClock:
    """The simulator's time, moved only by the test."""
    return ManualClock(START)
