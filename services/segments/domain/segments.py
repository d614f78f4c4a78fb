"""Saved segments: a rule tree under a name, every save a new version (a push records the version it
was sent to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["SavedSegment", "SegmentNameTaken", "SegmentNotFound", "SegmentVersionConflict"]


@dataclass(frozen=True)
class SavedSegment:
    id: str
    appid: str
    name: str
    description: str
    version: int
    rule: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SegmentNameTaken(ValueError):
    """Another segment of the account already has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a segment named {name!r} exists")
        self.name = name


class SegmentNotFound(LookupError):
    def __init__(self, segment_id: str) -> None:
        super().__init__(f"no segment {segment_id}")
        self.segment_id = segment_id


class SegmentVersionConflict(Exception):
    """The segment was saved since the version an edit is based on: the edit would undo that save."""

    def __init__(self, segment_id: str, expected: int, current: int) -> None:
        super().__init__(f"segment {segment_id} is at version {current}, not {expected}; reload and retry")
        self.segment_id = segment_id
        self.expected = expected
        self.current = current
