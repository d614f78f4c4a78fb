"""Freezing a push's audience when it comes due: the segment as the live index has it at that moment,
recorded in MongoDB with the segment's version, so the push goes to exactly that list however the
segment changes afterwards."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import structlog

from services.segments.domain.pushes import PushStatus
from services.segments.domain.rules import All, AnyOf, Not, Predicate, Rule, RuleInvalid, parse_rule
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.ports import PushRepository, SegmentRepository

__all__ = ["freeze", "freeze_next"]

log = structlog.get_logger(__name__)

_LEASE = timedelta(minutes=5)


def _asks_campaigns(rule: Rule) -> bool:
    match rule:
        case All(children) | AnyOf(children):
            return any(_asks_campaigns(child) for child in children)
        case Not(child):
            return _asks_campaigns(child)
        case Predicate(kind, _):
            return kind in ("joined_campaign", "invited_at_least")
    raise TypeError(f"not a rule: {rule!r}")


async def freeze_next(
    pushes: PushRepository, segments: SegmentRepository, live: LiveIndex, now: datetime, chunk: int
) -> bool:
    """Freeze the audience of the next due push, if any; whether there was one."""
    doc = await pushes.claim_due(
        [PushStatus.SCHEDULED, PushStatus.MATERIALIZING], PushStatus.MATERIALIZING, now, _LEASE
    )
    if doc is None:
        return False
    await freeze(doc, pushes, segments, live, now, chunk)
    return True


async def freeze(
    doc: dict[str, object],
    pushes: PushRepository,
    segments: SegmentRepository,
    live: LiveIndex,
    now: datetime,
    chunk: int,
) -> int | None:
    push_id, appid = str(doc["_id"]), str(doc["appid"])
    segment = await segments.get(appid, str(doc["segment_id"]))
    if segment is None:
        await pushes.transition(push_id, [PushStatus.MATERIALIZING], PushStatus.FAILED, note="the segment was deleted")
        return None
    try:
        rule = parse_rule(segment.rule)
    except RuleInvalid as exc:  # saved under an older taxonomy, say
        await pushes.transition(push_id, [PushStatus.MATERIALIZING], PushStatus.FAILED, note=f"segment rule: {exc}")
        return None
    started = time.perf_counter()
    if _asks_campaigns(rule):
        await live.refresh_campaigns(now)  # participation is polled; be exact at send time
    members = live.index.select(rule, now) & live.index.account(appid)
    openids = [openid for _, openid in live.index.keys(members)]
    selected = time.perf_counter() - started
    chunks = await pushes.save_audience(push_id, openids, chunk)
    moved = await pushes.transition(
        push_id,
        [PushStatus.MATERIALIZING],
        PushStatus.SENDING,
        audience_size=len(openids),
        audience_chunks=chunks,
        segment_version=segment.version,
        segment_name=segment.name,
        frozen_at=now,
        cursor={"chunk": 0, "offset": 0},
        lease_until=None,
        **{"stats.total.targeted": len(openids)},
    )
    log.info(
        "audience frozen",
        push=push_id,
        members=len(openids),
        select_ms=round(selected * 1000, 1),
        seconds=round(time.perf_counter() - started, 2),
        sending=moved is not None,
    )
    return len(openids)
