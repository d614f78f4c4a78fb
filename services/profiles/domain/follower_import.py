"""Where an import of an account's followers stands. Pure."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Checkpoint"]


@dataclass(frozen=True)
class Checkpoint:
    """The user/get page to continue from (None: the first), followers imported so far, finished or not."""

    next_openid: str | None
    imported: int
    done: bool = False
