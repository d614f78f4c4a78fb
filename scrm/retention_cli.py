"""``scrm retention``: what each store keeps, as the database has it, and a one-off catch-up.

Each process adds the TTL indexes of its own collections when it starts (``shared.storage.connect``);
``apply`` does it for every collection at once (a deployment upgraded while some processes are
stopped) and dates the records written before retention existed, which a TTL index would otherwise
never remove. docs/operations.md, "Retention".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.settings import ServiceSettings, SettingsError, load_settings
from shared.storage import (
    RETENTIONS,
    Enforcement,
    StorageError,
    close_client,
    create_client,
    ensure_indexes,
    ttl_indexes,
)

retention_app = typer.Typer(help="How long each store keeps its records (docs/operations.md).", no_args_is_help=True)
err_console = Console(stderr=True)

DAY_SECONDS = 24 * 60 * 60
#: Records written before retention existed carry no date; what dates them (collection, date field,
#: the source of the date): a decided picture counts from its submission's decision, the others from now.
_IMAGES, _SUBMISSIONS = "share_submission_images", "share_submissions"
_UNDATED_FROM_NOW = (("push_audiences", "created_at"), ("push_template_msgs", "sent_at"))


@dataclass(frozen=True)
class StoreState:
    collection: str
    enforced: str
    #: The retention the settings ask for, in days (TTL collections only).
    wanted_days: int | None
    #: The expiry the database's index has, in days; None when there is no TTL index.
    index_days: float | None
    documents: int
    oldest: datetime | None


async def states(database: AsyncDatabase[Any], settings: ServiceSettings) -> list[StoreState]:
    """Each store's retention as the settings want it and as the database enforces it."""
    present = set(await database.list_collection_names())
    found = []
    for retention in RETENTIONS:
        seconds = retention.ttl_seconds(settings)
        index_days = oldest = None
        documents = 0
        if retention.collection in present:
            collection = database[retention.collection]
            documents = await collection.estimated_document_count()
            if retention.date_field is not None:
                for info in (await collection.index_information()).values():
                    if info["key"] == [(retention.date_field, 1)] and "expireAfterSeconds" in info:
                        index_days = info["expireAfterSeconds"] / DAY_SECONDS
                first = await collection.find_one(
                    {retention.date_field: {"$type": "date"}},
                    {retention.date_field: 1},
                    sort=[(retention.date_field, 1)],
                )
                oldest = None if first is None else first[retention.date_field]
        found.append(
            StoreState(
                retention.collection,
                retention.enforced.value,
                None if seconds is None else seconds // DAY_SECONDS,
                index_days,
                documents,
                oldest,
            )
        )
    return found


async def apply(database: AsyncDatabase[Any], settings: ServiceSettings) -> dict[str, int]:
    """Create (or re-time) every TTL index and date the undated records; how many were dated, per store."""
    await ensure_indexes(database, ttl_indexes(settings))
    dated: dict[str, int] = {}
    undated_images = database[_IMAGES].find({"decided_at": {"$exists": False}}, {"_id": 1})
    count = 0
    async for image in undated_images:
        submission = await database[_SUBMISSIONS].find_one(
            {"_id": image["_id"], "status": {"$ne": "review"}}, {"decided_at": 1}
        )
        if submission is not None and submission.get("decided_at") is not None:
            await database[_IMAGES].update_one(
                {"_id": image["_id"]}, {"$set": {"decided_at": submission["decided_at"]}}
            )
            count += 1
    dated[_IMAGES] = count
    now = datetime.now(UTC)
    for collection, field in _UNDATED_FROM_NOW:
        result = await database[collection].update_many({field: {"$exists": False}}, {"$set": {field: now}})
        dated[collection] = result.modified_count
    return dated


def _run(job: Any) -> Any:
    async def with_database() -> Any:
        settings = load_settings(ServiceSettings)
        client = create_client(settings)
        try:
            return await job(client[settings.mongodb_database], settings)
        finally:
            await close_client(client)

    try:
        return asyncio.run(with_database())
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except (StorageError, PyMongoError) as exc:
        err_console.print(f"[red]stopped:[/red] {escape(str(exc))}; run it again")
        raise typer.Exit(1) from None


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@retention_app.command("show")
def show() -> None:
    """Each store: how it is bounded, the retention wanted (settings) and enforced (its TTL index),
    its size and its oldest dated record. A TTL store whose index is missing or differs is marked."""
    found: list[StoreState] = _run(states)
    table = Table("store", "enforced", "days wanted", "days in index", "documents", "oldest")
    drift = 0
    for state in found:
        mismatch = state.wanted_days is not None and state.index_days != state.wanted_days
        drift += mismatch
        table.add_row(
            state.collection,
            state.enforced,
            _days(state.wanted_days),
            ("[red]" if mismatch else "") + _days(state.index_days) + ("[/red]" if mismatch else ""),
            str(state.documents),
            "-" if state.oldest is None else state.oldest.date().isoformat(),
        )
    console = Console()  # made here: it takes the terminal's width (COLUMNS) of this run
    console.print(table)
    if drift:
        console.print(f"{drift} store(s) not enforced as set: start their processes or run `scrm retention apply`")


@retention_app.command("apply")
def apply_command() -> None:
    """Create or re-time every TTL index with this environment's retention settings and date records
    written before retention existed (safe to repeat)."""
    dated: dict[str, int] = _run(apply)
    console = Console()
    ttl = sum(1 for retention in RETENTIONS if retention.enforced is Enforcement.TTL)
    console.print(f"{ttl} TTL indexes in place; dated: " + ", ".join(f"{k} {v}" for k, v in dated.items()))
