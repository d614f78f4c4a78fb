from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.storage._exceptions import is_transient

T = TypeVar("T")


async def retry_transient(operation: Callable[[], Awaitable[T]], *, attempts: int = 5, pause: float = 0.03) -> T:
    """Run ``operation`` again while it fails transiently, up to ``attempts`` times in all.

    For request handlers whose transactions can race each other (two reviewers settling one
    submission, many members drawing the last prize): the loser's write conflict is retried and then
    sees the winner's result. Workers do not need this: their runner retries whole messages. The
    pauses grow and are jittered, so racers do not collide again in lockstep. Anything that is not
    transient, or a conflict that outlasts the attempts, is raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            await asyncio.sleep(pause * attempt * (1 + random.random()))  # noqa: S311  (jitter, not a secret)
    raise AssertionError("unreachable: the last attempt returns or raises")
