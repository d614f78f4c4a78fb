"""The analytics :class:`RollupsUnitOfWork` port, losing races on cue."""

from __future__ import annotations

from services.analytics.adapters.memory_rollups import InMemoryRollupsUnitOfWork
from shared.storage import StorageConflict

__all__ = ["ConflictingRollupsUnitOfWork"]


class ConflictingRollupsUnitOfWork(InMemoryRollupsUnitOfWork):
    """The in-memory unit of work whose next ``conflicts`` commits fail as a lost write race would:
    nothing of that transaction is kept."""

    def __init__(self, *, conflicts: int = 0) -> None:
        super().__init__()
        self.conflicts = conflicts

    async def commit(self) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise StorageConflict("another transaction wrote a rollup of this batch (fake)")
        await super().commit()
