"""Syncing the budgeted profile tags to WeChat user tags: create the tags once, then tag and untag in
batches, recording each batch as it succeeds, so a failure resumes where it stopped and a re-run
changes only what changed since."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.profiles.domain.profile import Profile
from services.profiles.domain.tag_sync import plan_changes, validate_budget, wanted_codes
from services.profiles.service_layer.ports import TagPlatform, TagSyncStore
from shared.maternal_infant import Taxonomy

__all__ = ["SyncResult", "sync_tags"]


@dataclass(frozen=True)
class SyncResult:
    tags_created: int
    tagged: int
    untagged: int
    calls: int


async def sync_tags(
    appid: str,
    profiles: Callable[[], AsyncIterator[Profile]],
    platform: TagPlatform,
    store: TagSyncStore,
    taxonomy: Taxonomy,
    budget: Sequence[str],
    now: datetime,
    *,
    min_weight: float,
    half_life: timedelta,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> SyncResult:
    codes = validate_budget(budget, taxonomy)
    wanted: dict[str, set[str]] = {code: set() for code in codes}
    async for profile in profiles():
        for code in wanted_codes(profile, codes, taxonomy, now, min_weight=min_weight, half_life=half_life):
            wanted[code].add(profile.openid)
    current = await store.members(appid)
    current = {code: openids for code, openids in current.items() if code in wanted or openids}
    plan = plan_changes(current, {code: members for code, members in wanted.items() if members})
    ids = await store.tag_ids(appid)
    created = tagged = untagged = 0
    for done, change in enumerate(plan, start=1):
        if change.code not in ids:
            tag = await platform.create_tag(taxonomy.name(change.code)[:30])
            await store.remember_tag(appid, change.code, tag.id)
            ids[change.code] = tag.id
            created += 1
        if change.add:
            await platform.tag_members(ids[change.code], change.openids)
            tagged += len(change.openids)
        else:
            await platform.untag_members(ids[change.code], change.openids)
            untagged += len(change.openids)
        await store.record(appid, change.code, change.openids, change.add)
        progress(done, len(plan))
    return SyncResult(created, tagged, untagged, len(plan))
