"""``scrm members import`` and ``scrm members sync-tags``: followers into profiles, profile tags out to
WeChat user tags, each with a progress bar and resumable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pymongo.errors import PyMongoError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.profiles.adapters.repository import (
    INDEXES,
    MongoFollowerImport,
    MongoProfileRepository,
    MongoTagSyncStore,
)
from services.profiles.adapters.taxonomy_file import load_taxonomy
from services.profiles.service_layer.importing import ImportResult, import_followers
from services.profiles.service_layer.tag_sync import SyncResult, sync_tags
from services.profiles.settings import ProfilesSettings
from shared.settings import SettingsError, load_settings
from shared.storage import StorageError, close_client, create_client, ensure_indexes
from shared.wechat_client import (
    ACCESS_TOKEN_INDEXES,
    MongoTokenStore,
    TokenUnavailable,
    TransportError,
    WeChatApiError,
    WeChatClient,
)

__all__ = ["run_member_import", "run_tag_sync"]


async def _import(settings: ProfilesSettings, appid: str, restart: bool, console: Console) -> ImportResult:
    account = next((a for a in settings.wechat_accounts if a.appid == appid), None)
    if account is None:
        raise LookupError(f"no account {appid!r} in WECHAT_ACCOUNTS")
    client = create_client(settings)
    try:
        database = client[settings.mongodb_database]
        await ensure_indexes(database, (*INDEXES, *ACCESS_TOKEN_INDEXES))
        async with WeChatClient(
            appid,
            account.secret.get_secret_value(),
            token_store=MongoTokenStore(database),
            config=settings.wechat_api,
        ) as platform:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as progress:
                task = progress.add_task(f"followers of {appid}", total=None)
                return await import_followers(
                    appid,
                    platform,
                    MongoFollowerImport(database),
                    restart=restart,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
    finally:
        await close_client(client)


def run_member_import(console: Console, appid: str, *, restart: bool) -> int:
    try:
        settings = load_settings(ProfilesSettings)
        result = asyncio.run(_import(settings, appid, restart, console))
    except (SettingsError, LookupError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return 2
    except (WeChatApiError, TokenUnavailable, TransportError, StorageError, PyMongoError) as exc:
        console.print(f"[red]import stopped:[/red] {escape(str(exc))}; run it again to resume")
        return 1
    how = "resumed and finished" if result.resumed else "finished"
    console.print(f"import {how}: {result.imported} of {result.total} followers read, {result.created} new profiles")
    return 0


async def _sync(settings: ProfilesSettings, appid: str, console: Console) -> SyncResult:
    account = next((a for a in settings.wechat_accounts if a.appid == appid), None)
    if account is None:
        raise LookupError(f"no account {appid!r} in WECHAT_ACCOUNTS")
    taxonomy = load_taxonomy(settings.taxonomy_path)
    client = create_client(settings)
    try:
        database = client[settings.mongodb_database]
        await ensure_indexes(database, (*INDEXES, *ACCESS_TOKEN_INDEXES))
        repository = MongoProfileRepository(database)
        async with WeChatClient(
            appid,
            account.secret.get_secret_value(),
            token_store=MongoTokenStore(database),
            config=settings.wechat_api,
        ) as platform:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as progress:
                task = progress.add_task(f"WeChat tag calls for {appid}", total=None)
                return await sync_tags(
                    appid,
                    lambda: repository.each(appid),
                    platform,
                    MongoTagSyncStore(database),
                    taxonomy,
                    settings.wechat_tag_budget,
                    datetime.now(UTC),
                    min_weight=settings.wechat_tag_min_weight,
                    half_life=timedelta(days=settings.interest_half_life_days),
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
    finally:
        await close_client(client)


def run_tag_sync(console: Console, appid: str) -> int:
    try:
        settings = load_settings(ProfilesSettings)
        result = asyncio.run(_sync(settings, appid, console))
    except (SettingsError, LookupError, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return 2
    except (WeChatApiError, TokenUnavailable, TransportError, StorageError, PyMongoError) as exc:
        console.print(f"[red]sync stopped:[/red] {escape(str(exc))}; run it again to resume")
        return 1
    console.print(
        f"tag sync finished: {result.tags_created} WeChat tags created, {result.tagged} taggings, "
        f"{result.untagged} removals in {result.calls} calls"
    )
    return 0
