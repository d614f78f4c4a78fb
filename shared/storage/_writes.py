"""What a piece of work (an HTTP request) may have left in MongoDB: the evidence for running it again.

A request that met a stale pooled connection can be run a second time only if nothing it did so far
can have stuck: its writes were inside a transaction that never got to commit. Every client made by
:func:`shared.storage.create_client` reports its commands to :data:`WRITE_WATCH`, which marks the
current :class:`WriteLog` (one per :func:`watch_writes` block, found through a context variable, so
concurrent requests never see each other's) as soon as a write could have taken effect: a write
outside a transaction, or a ``commitTransaction`` (sent is enough: the answer may be what got lost).
Writes that are harmless to repeat (a session's last-seen time) are made inside
:func:`repeatable_writes` and do not count. What is not a database write but must not happen twice
either (a message sent to a member) is reported with :func:`note_outside_effect`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pymongo import monitoring

__all__ = ["WRITE_WATCH", "WriteLog", "current_writes", "note_outside_effect", "repeatable_writes", "watch_writes"]

# Commands that change data or the schema; ``aggregate`` only with an $out or $merge stage.
_WRITES = frozenset(
    {
        "insert",
        "update",
        "delete",
        "findAndModify",
        "bulkWrite",
        "create",
        "createIndexes",
        "drop",
        "dropIndexes",
        "dropDatabase",
        "renameCollection",
        "collMod",
    }
)


@dataclass
class WriteLog:
    """Whether a write of this block may have reached the database (and which command it was)."""

    stuck: bool = False
    commands: list[str] = field(default_factory=list)
    _repeatable: int = 0

    def record(self, command_name: str, command: Mapping[str, Any]) -> None:
        if self._repeatable or not _may_stick(command_name, command):
            return
        self.stuck = True
        self.commands.append(command_name)


def _may_stick(command_name: str, command: Mapping[str, Any]) -> bool:
    if command_name == "commitTransaction":
        return True
    in_transaction = command.get("autocommit") is False
    if in_transaction:
        return False  # undone unless the transaction commits, which is counted then
    if command_name == "aggregate":
        pipeline = command.get("pipeline") or []
        return any(isinstance(stage, Mapping) and ({"$out", "$merge"} & set(stage)) for stage in pipeline)
    return command_name in _WRITES


_current: ContextVar[WriteLog | None] = ContextVar("scrm_storage_writes", default=None)


def current_writes() -> WriteLog | None:
    """The log of the innermost :func:`watch_writes` block around this code, if any."""
    return _current.get()


@contextmanager
def watch_writes() -> Iterator[WriteLog]:
    """Record, for the code inside, whether any of its writes may have reached the database."""
    log = WriteLog()
    token = _current.set(log)
    try:
        yield log
    finally:
        _current.reset(token)


def note_outside_effect(name: str) -> None:
    """Something outside the database happened that a second run would repeat (a message sent)."""
    log = _current.get()
    if log is not None:
        log.stuck = True
        log.commands.append(name)


@contextmanager
def repeatable_writes() -> Iterator[None]:
    """Writes inside are safe to make twice (a timestamp, an idempotent upsert): they do not count."""
    log = _current.get()
    if log is None:
        yield
        return
    log._repeatable += 1
    try:
        yield
    finally:
        log._repeatable -= 1


class _WriteWatch(monitoring.CommandListener):
    """Tells the current :class:`WriteLog` about every command a client starts (cheap: a dict lookup)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        log = _current.get()
        if log is not None:
            log.record(event.command_name, event.command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


#: Registered on every client :func:`shared.storage.create_client` makes.
WRITE_WATCH = _WriteWatch()
