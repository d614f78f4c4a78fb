"""``scrm members import`` and ``scrm members sync-tags``: followers into profiles, profile tags out to
WeChat user tags, each with a progress bar and resumable; ``scrm members rebuild-coverage``: the
account's coverage counters recounted from its profiles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.campaigns.bootstrap_worker import known_followers, seed_followers_from_platform
from services.campaigns.service_layer.known_followers import seed_imported
from services.campaigns.service_layer.ports import KnownFollowers
from services.campaigns.settings import CampaignsSettings
from services.profiles.adapters.repository import (
    INDEXES,
    MongoFollowerImport,
    MongoProfileRepository,
    MongoTagSyncStore,
)
from services.profiles.domain.follower_import import Checkpoint
from services.profiles.service_layer.coverage import rebuild_coverage
from services.profiles.service_layer.importing import import_followers
from services.profiles.service_layer.tag_sync import sync_tags
from services.profiles.settings import ProfilesSettings
from shared.maternal_infant import load_taxonomy
from shared.settings import SettingsError, load_settings
from shared.storage import StorageError, connect
from shared.wechat_client import (
    ACCESS_TOKEN_INDEXES,
    MongoTokenStore,
    TokenUnavailable,
    TransportError,
    UserInfo,
    WeChatApiError,
    WeChatClient,
)

__all__ = ["run_coverage_rebuild", "run_follower_seed", "run_member_import", "run_tag_sync"]

T = TypeVar("T")
Progressed = Callable[[int, int], None]


@asynccontextmanager
async def _connected(settings: ProfilesSettings, appid: str) -> AsyncIterator[tuple[AsyncDatabase[Any], WeChatClient]]:
    """MongoDB and the account's WeChat client (tokens shared with the services through MongoDB)."""
    account = next((a for a in settings.wechat_accounts if a.appid == appid), None)
    if account is None:
        raise LookupError(f"no account {appid!r} in WECHAT_ACCOUNTS")
    async with connect(settings, (*INDEXES, *ACCESS_TOKEN_INDEXES)) as mongo:
        secret = account.secret.get_secret_value()
        token_store = MongoTokenStore(mongo.database)
        async with WeChatClient(appid, secret, token_store=token_store, config=settings.wechat_api) as platform:
            yield mongo.database, platform


async def _with_progress(console: Console, what: str, work: Callable[[Progressed], Awaitable[T]]) -> T:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(what, total=None)
        return await work(lambda done, total: progress.update(task, completed=done, total=total))


def _run(console: Console, job: Callable[[ProfilesSettings], Coroutine[Any, Any, str]]) -> int:
    """Settings, the job, and its outcome as a line and an exit code (2: usage, 1: stopped, resumable)."""
    try:
        settings = load_settings(ProfilesSettings)
        line = asyncio.run(job(settings))
    except (SettingsError, LookupError, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return 2
    except (WeChatApiError, TokenUnavailable, TransportError, StorageError, PyMongoError) as exc:
        console.print(f"[red]stopped:[/red] {escape(str(exc))}; run it again to resume")
        return 1
    console.print(line)
    return 0


class _AlsoKnownToCampaigns:
    """The import's sink, also seeding the campaigns service's known followers with each batch: a
    follower imported before a campaign launches is not a new follower when they re-follow through a
    poster (the campaigns service decides "new" from what it has seen)."""

    def __init__(self, sink: MongoFollowerImport, known: KnownFollowers) -> None:
        self._sink = sink
        self._known = known
        self.seeded = 0

    async def checkpoint(self, appid: str) -> Checkpoint | None:
        return await self._sink.checkpoint(appid)

    async def save_checkpoint(self, appid: str, checkpoint: Checkpoint) -> None:
        await self._sink.save_checkpoint(appid, checkpoint)

    async def upsert_followers(self, appid: str, followers: Sequence[UserInfo]) -> int:
        created = await self._sink.upsert_followers(appid, followers)
        # After the profiles: a crash in between re-imports the page (both writes are idempotent).
        self.seeded += await seed_imported(appid, followers, self._known, datetime.now(UTC))
        return created


def run_member_import(console: Console, appid: str, *, restart: bool) -> int:
    async def job(settings: ProfilesSettings) -> str:
        campaigns = load_settings(CampaignsSettings)
        async with _connected(settings, appid) as (database, platform), known_followers(campaigns) as known:
            sink = _AlsoKnownToCampaigns(MongoFollowerImport(database), known)
            result = await _with_progress(
                console,
                f"followers of {appid}",
                lambda progress: import_followers(appid, platform, sink, restart=restart, progress=progress),
            )
        how = "resumed and finished" if result.resumed else "finished"
        return (
            f"import {how}: {result.imported} of {result.total} followers read, {result.created} new profiles, "
            f"{sink.seeded} new to campaigns"
        )

    return _run(console, job)


def run_follower_seed(console: Console, appid: str) -> int:
    """``scrm campaigns seed-followers``: the platform's follower list into campaigns' known followers."""

    async def job(_: ProfilesSettings) -> str:
        settings = load_settings(CampaignsSettings)
        listed, added = await _with_progress(
            console,
            f"followers of {appid}",
            lambda progress: seed_followers_from_platform(settings, appid, progress=progress),
        )
        return f"seeded {listed} followers of {appid}: {added} new to campaigns"

    return _run(console, job)


def run_tag_sync(console: Console, appid: str) -> int:
    async def job(settings: ProfilesSettings) -> str:
        taxonomy = load_taxonomy(settings.taxonomy_path)
        async with _connected(settings, appid) as (database, platform):
            repository = MongoProfileRepository(database)
            result = await _with_progress(
                console,
                f"WeChat tag calls for {appid}",
                lambda progress: sync_tags(
                    appid,
                    lambda: repository.each(appid),
                    platform,
                    MongoTagSyncStore(database),
                    taxonomy,
                    settings.wechat_tag_budget,
                    datetime.now(UTC),
                    min_weight=settings.wechat_tag_min_weight,
                    half_life=timedelta(days=settings.interest_half_life_days),
                    progress=progress,
                ),
            )
        return (
            f"tag sync finished: {result.tags_created} WeChat tags created, {result.tagged} taggings, "
            f"{result.untagged} removals in {result.calls} calls"
        )

    return _run(console, job)


def run_coverage_rebuild(console: Console, appid: str) -> int:
    async def job(settings: ProfilesSettings) -> str:
        if not any(account.appid == appid for account in settings.wechat_accounts):
            raise LookupError(f"no account {appid!r} in WECHAT_ACCOUNTS")
        async with connect(settings, INDEXES) as mongo:
            repository = MongoProfileRepository(mongo.database)
            counted = await rebuild_coverage(repository, repository, appid)
        return f"coverage of {appid} rebuilt from {counted} profiles"

    return _run(console, job)
