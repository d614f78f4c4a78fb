from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class UndeclaredField(KeyError):
    """A reader asked for a field the owning service does not publish: it may change without notice."""


@dataclass(frozen=True)
class ReadModel:
    """A collection one service owns and writes, declared for other services to read.

    Only the owner writes it. Readers use :attr:`collection` and the fields in :attr:`fields` (name ->
    meaning), nothing else: the owner may add, restructure or drop any field it has not declared.
    """

    collection: str
    owner: str
    #: What the document ``_id`` is.
    key: str
    fields: Mapping[str, str]

    def projection(self, *names: str) -> dict[str, int]:
        """A MongoDB projection of declared fields; raises :class:`UndeclaredField` for any other."""
        undeclared = [name for name in names if name.split(".", 1)[0] not in self.fields]
        if undeclared:
            raise UndeclaredField(f"{self.collection} does not declare {undeclared} (see {self.owner}'s read model)")
        return dict.fromkeys(names, 1)
