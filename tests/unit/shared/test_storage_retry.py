"""retry_transient: a lost race is run again; real errors and stubborn conflicts are not hidden."""

from __future__ import annotations

import pytest

from shared.storage import StorageConflict, retry_transient


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


async def test_a_conflict_is_retried_until_it_passes() -> None:
    operation = Flaky([StorageConflict("lost the race"), StorageConflict("again")])
    assert await retry_transient(operation, attempts=3, pause=0) == "done"
    assert operation.calls == 3


async def test_other_errors_are_raised_at_once() -> None:
    operation = Flaky([ValueError("a bug")])
    with pytest.raises(ValueError, match="a bug"):
        await retry_transient(operation, attempts=5, pause=0)
    assert operation.calls == 1


async def test_a_conflict_that_outlasts_the_attempts_is_raised() -> None:
    operation = Flaky([StorageConflict(str(n)) for n in range(4)])
    with pytest.raises(StorageConflict, match="2"):
        await retry_transient(operation, attempts=3, pause=0)
    assert operation.calls == 3
