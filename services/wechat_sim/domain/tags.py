"""User tags: the account's tag list and who carries which tag."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.wechat_sim.domain.errors import ApiError
from services.wechat_sim.domain.members import SimMember

#: Ids the platform keeps for itself: 0 and 1 are hidden, 2 is the star group every account has.
RESERVED_TAG_IDS = frozenset({0, 1, 2})
STAR_TAG = (2, "星标组")
FIRST_TAG_ID = 100


@dataclass(frozen=True)
class TagRules:
    per_account: int = 100
    per_member: int = 20
    per_batch: int = 50
    name_max_chars: int = 30


class TagBook:
    def __init__(self, rules: TagRules) -> None:
        self.rules = rules
        self._names: dict[int, str] = {STAR_TAG[0]: STAR_TAG[1]}
        self._next_id = FIRST_TAG_ID

    def create(self, name: object) -> tuple[int, str]:
        if not isinstance(name, str) or not name.strip():
            raise ApiError(45157)
        if len(name) > self.rules.name_max_chars:
            raise ApiError(45158)
        if name in self._names.values():
            raise ApiError(45157)
        if len(self._names) - 1 >= self.rules.per_account:  # the star group does not count
            raise ApiError(45056)
        tag_id = self._next_id
        self._next_id += 1
        self._names[tag_id] = name
        return tag_id, name

    def delete(self, tag_id: object, members: Iterable[SimMember]) -> None:
        if isinstance(tag_id, int) and tag_id in RESERVED_TAG_IDS:
            raise ApiError(45058)
        checked = self._known(tag_id)
        del self._names[checked]
        for member in members:
            if checked in member.tag_ids:
                member.tag_ids.remove(checked)

    def tag(self, tag_id: object, members: list[SimMember]) -> None:
        """All or nothing: if any member would carry more than ``per_member`` tags, nobody is tagged."""
        checked = self._known(tag_id)
        self._check_batch(members)
        for member in members:
            if checked not in member.tag_ids and len(member.tag_ids) >= self.rules.per_member:
                raise ApiError(45059)
        for member in members:
            if checked not in member.tag_ids:
                member.tag_ids.append(checked)

    def untag(self, tag_id: object, members: list[SimMember]) -> None:
        checked = self._known(tag_id)
        self._check_batch(members)
        for member in members:
            if checked in member.tag_ids:
                member.tag_ids.remove(checked)

    def listing(self, members: Iterable[SimMember]) -> list[dict[str, object]]:
        carried: dict[int, int] = {}
        for member in members:
            for tag_id in member.tag_ids:
                carried[tag_id] = carried.get(tag_id, 0) + 1
        return [{"id": i, "name": n, "count": carried.get(i, 0)} for i, n in self._names.items()]

    def exists(self, tag_id: object) -> bool:
        return isinstance(tag_id, int) and not isinstance(tag_id, bool) and tag_id in self._names

    def _known(self, tag_id: object) -> int:
        if not self.exists(tag_id):
            raise ApiError(45159)
        assert isinstance(tag_id, int)
        return tag_id

    def _check_batch(self, members: list[SimMember]) -> None:
        if not members or len(members) > self.rules.per_batch:
            raise ApiError(40032)
