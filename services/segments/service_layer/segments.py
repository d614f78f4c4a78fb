"""Segment use cases: check a rule, preview it, save it as a new version, delete it, explain a member.

Sizes and samples come from the live index (milliseconds); the saved segment and its versions from the
:class:`~services.segments.service_layer.ports.SegmentRepository`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.segments.domain.membership import Reach
from services.segments.domain.rules import Explanation, Rule, explain, parse_rule, summarize
from services.segments.domain.segments import SavedSegment, SegmentNotFound
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.ports import MemberFactsReader, SegmentRepository

__all__ = ["MemberNotFound", "Preview", "RuleSummary", "SegmentUseCases", "SegmentView"]


class MemberNotFound(LookupError):
    def __init__(self, openid: str) -> None:
        super().__init__(f"no profile for {openid}")
        self.openid = openid


@dataclass(frozen=True)
class RuleSummary:
    en: str
    zh: str


@dataclass(frozen=True)
class SegmentView:
    """A saved segment with what it means and how many members it selects now."""

    segment: SavedSegment
    summary: RuleSummary
    size: int
    #: Of ``size``, who a push could reach now and who it would skip (not following, no consent).
    reach: Reach | None = None


@dataclass(frozen=True)
class Preview:
    size: int
    sample: list[str]
    summary: RuleSummary
    took_ms: float
    #: Of ``size``, who a push could reach now and who it would skip (not following, no consent).
    reach: Reach | None = None


class SegmentUseCases:
    def __init__(
        self,
        segments: SegmentRepository,
        live: LiveIndex,
        facts: MemberFactsReader,
        *,
        known_tags: frozenset[str],
        tag_names: Mapping[str, str],
        clock: Callable[[], datetime],
        tag_names_en: Mapping[str, str] | None = None,
    ) -> None:
        self._segments = segments
        self._live = live
        self._facts = facts
        self._known_tags = known_tags
        self._tag_names = tag_names
        self._tag_names_en = tag_names_en or {}
        self._clock = clock

    def check(self, data: dict[str, Any]) -> Rule:
        """The rule, checked against the taxonomy; raises :class:`~services.segments.domain.rules.RuleInvalid`."""
        return parse_rule(data, self._known_tags)

    def summary(self, rule: Rule) -> RuleSummary:
        return RuleSummary(en=summarize(rule, "en", self._tag_names_en), zh=summarize(rule, "zh", self._tag_names))

    def _reach(self, appid: str, rule: Rule) -> Reach:
        index = self._live.index
        return index.reach(index.select(rule, self._clock()) & index.account(appid))

    def _view(self, segment: SavedSegment) -> SegmentView:
        rule = parse_rule(segment.rule)  # as saved: a tag gone from the taxonomy since still reads
        reach = self._reach(segment.appid, rule)
        return SegmentView(segment, self.summary(rule), reach.matching, reach)

    async def preview(self, appid: str, data: dict[str, Any], sample: int) -> Preview:
        """Size and a sample of an unsaved rule."""
        rule = self.check(data)
        index = self._live.index
        started = time.perf_counter()
        members = index.select(rule, self._clock()) & index.account(appid)
        openids = [openid for _, openid in index.keys(members[:sample] if sample else [])]
        reach = index.reach(members)
        took = (time.perf_counter() - started) * 1000
        return Preview(
            size=len(members), sample=openids, summary=self.summary(rule), took_ms=round(took, 3), reach=reach
        )

    async def preview_saved(self, appid: str, segment_id: str, sample: int) -> Preview:
        segment = await self.found(appid, segment_id)
        return await self.preview(appid, segment.rule, sample)

    async def found(self, appid: str, segment_id: str) -> SavedSegment:
        segment = await self._segments.get(appid, segment_id)
        if segment is None:
            raise SegmentNotFound(segment_id)
        return segment

    async def get(self, appid: str, segment_id: str) -> SegmentView:
        return self._view(await self.found(appid, segment_id))

    async def of_account(self, appid: str) -> list[SegmentView]:
        return [self._view(segment) for segment in await self._segments.of_account(appid)]

    async def create(self, appid: str, name: str, description: str, rule: dict[str, Any]) -> SegmentView:
        """Version 1; raises ``RuleInvalid`` or ``SegmentNameTaken``."""
        self.check(rule)
        return self._view(await self._segments.create(appid, name, description, rule))

    async def update(
        self,
        appid: str,
        segment_id: str,
        name: str,
        description: str,
        rule: dict[str, Any],
        expected_version: int | None = None,
    ) -> SegmentView:
        """A new version; raises ``RuleInvalid``, ``SegmentNameTaken``, ``SegmentNotFound`` or, when the
        segment is no longer at ``expected_version``, ``SegmentVersionConflict``."""
        self.check(rule)
        segment = await self._segments.update(appid, segment_id, name, description, rule, expected_version)
        if segment is None:
            raise SegmentNotFound(segment_id)
        return self._view(segment)

    async def delete(self, appid: str, segment_id: str) -> None:
        """The segment goes; its versions stay (pushes name them)."""
        if not await self._segments.delete(appid, segment_id):
            raise SegmentNotFound(segment_id)

    async def versions(self, appid: str, segment_id: str) -> list[dict[str, Any]]:
        await self.found(appid, segment_id)
        return await self._segments.versions(segment_id)

    async def explain(self, appid: str, segment_id: str, openid: str, language: str) -> Explanation:
        """Why the member is (or is not) in the segment, condition by condition."""
        segment = await self.found(appid, segment_id)
        now = self._clock()
        facts = await self._facts.one(appid, openid, now.date())
        if facts is None:
            raise MemberNotFound(openid)
        # Tags by their names and codes, as the segment's own summary reads.
        names = self._tag_names if language.startswith("zh") else self._tag_names_en
        return explain(parse_rule(segment.rule), facts, now, language, names)
