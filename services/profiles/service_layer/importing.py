"""Importing the account's existing followers: user/get pages, info/batchget in hundreds, resumable.

A checkpoint per account records the page to continue from; a page is committed to profiles and then
to the checkpoint, so a crash or an API failure resumes at the page it was on, and re-importing what
was already imported changes nothing (profiles are upserted by (account, openid), unionids filled in
only where missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.profiles.domain.follower_import import Checkpoint
from services.profiles.service_layer.ports import FollowerSource, ImportSink

__all__ = ["BATCH", "ImportResult", "import_followers"]

#: info/batchget takes at most 100 openids per call.
BATCH = 100


@dataclass(frozen=True)
class ImportResult:
    imported: int
    created: int
    total: int
    resumed: bool


async def import_followers(
    appid: str,
    source: FollowerSource,
    sink: ImportSink,
    *,
    restart: bool = False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportResult:
    """Import every follower of ``appid``; ``progress(done, total)`` after each batch."""
    checkpoint = None if restart else await sink.checkpoint(appid)
    if checkpoint is not None and checkpoint.done:
        checkpoint = None  # a finished import starts over: followers come and go
    resumed = checkpoint is not None
    next_openid = checkpoint.next_openid if checkpoint else None
    imported = checkpoint.imported if checkpoint else 0
    created = 0
    total = 0
    while True:
        page = await source.list_followers(next_openid)
        total = page.total
        for start in range(0, len(page.openids), BATCH):
            infos = await source.user_info_batch(page.openids[start : start + BATCH])
            created += await sink.upsert_followers(appid, [info for info in infos if info.subscribe])
            progress(imported + start + len(infos), total)
        imported += len(page.openids)
        if page.is_last:
            await sink.save_checkpoint(appid, Checkpoint(None, imported, done=True))
            return ImportResult(imported, created, total, resumed)
        next_openid = page.next_openid
        await sink.save_checkpoint(appid, Checkpoint(next_openid, imported))
