"""``scrm deadletter``: work the records consumers gave up on (list, show, replay, discard).

Each command first mirrors what is new on the dead-letter topic into MongoDB's ``deadletters``
collection (see :mod:`shared.deadletters`), then works from there. Takes the environment every
process reads (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URL``, ``TOPIC_PREFIX``). Every action is
audited with the actor ``cli`` and the operator's name (``--actor``, default the login name).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.contracts import TOPICS
from shared.datarights import MongoMemberRights
from shared.deadletters import (
    DEADLETTER_INDEXES,
    AmbiguousId,
    BulkReport,
    DeadLetter,
    DeadLetterDesk,
    DeadLetterError,
    DeadLetterQuery,
    DeadLetterStatus,
    KafkaParkedSource,
    MongoDeadLetterStore,
    SyncReport,
    replay_window,
)
from shared.identity import CLI_ACTOR, Identity, mongo_identity
from shared.messaging import MessagingError, connect_publisher
from shared.settings import ServiceSettings, SettingsError, load_settings
from shared.storage import StorageError, connect

__all__ = ["deadletter_app", "open_desk"]

deadletter_app = typer.Typer(
    help="Dead letters: records a consumer gave up on, to replay through their topic or discard.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

ActorOption = Annotated[str | None, typer.Option(help="who is acting, for the audit log (default: login name)")]
SyncOption = Annotated[bool, typer.Option("--sync/--no-sync", help="mirror new dead letters from the topic first")]
NoteOption = Annotated[str | None, typer.Option(help="why, kept with the letter and in the audit log")]
ConsumerOption = Annotated[str | None, typer.Option(help="only this consumer (its group name)")]
TopicOption = Annotated[str | None, typer.Option(help="only records from this topic (its physical name)")]
ReasonOption = Annotated[str | None, typer.Option(help="contract, rejected or failed")]
SinceOption = Annotated[datetime | None, typer.Option(help="failed at or after (UTC unless a zone is given)")]
UntilOption = Annotated[datetime | None, typer.Option(help="failed before (UTC unless a zone is given)")]
IdArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[ID]", help="the id, or enough of its start; without it, every open letter the filters match"
    ),
]
REASONS = ("contract", "rejected", "failed")


def cli_actor(name: str) -> Identity:
    """The CLI's identity, naming the person at the machine (audit entries keep the name)."""
    return Identity(CLI_ACTOR.actor_id, f"{CLI_ACTOR.name} ({name})", CLI_ACTOR.kind, CLI_ACTOR.grants)


@asynccontextmanager
async def open_desk(settings: ServiceSettings, actor: str) -> AsyncIterator[DeadLetterDesk]:
    """The desk over the settings' MongoDB and broker, auditing into the identity audit log."""
    identity = cli_actor(actor)
    async with (
        connect(settings, DEADLETTER_INDEXES) as mongo,
        mongo_identity(settings).open() as directory,
        connect_publisher(settings, TOPICS) as publisher,
    ):

        async def audit(
            action: str,
            object_id: str | None,
            *,
            appid: str | None = None,
            before: dict[str, Any] | None = None,
            after: dict[str, Any] | None = None,
        ) -> None:
            await directory.record(identity, action, "deadletter", object_id, appid=appid, before=before, after=after)

        rights = MongoMemberRights(mongo.database)

        async def erased(appid: str, openid: str, at: datetime) -> bool:
            erasure = await rights.erasure(appid, openid)
            return erasure is not None and erasure.suppresses(at, follow=False)

        yield DeadLetterDesk(
            MongoDeadLetterStore(mongo.database),
            KafkaParkedSource(settings.kafka_bootstrap_servers),
            publisher,
            audit,
            actor=actor,
            topics=TOPICS,
            topic_prefix=settings.topic_prefix,
            # Follows the processed-events retention where the settings have one (30 days otherwise).
            replay_window=replay_window(int(getattr(settings, "processed_events_retention_days", 30))),
            erased=erased,
        )


def _run(actor: str | None, sync: bool, work: Callable[[DeadLetterDesk], Awaitable[T]]) -> T:
    async def main() -> T:
        async with open_desk(load_settings(ServiceSettings), actor or getpass.getuser()) as desk:
            if sync:
                _report_sync(await desk.sync())
            return await work(desk)

    try:
        return asyncio.run(main())
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except AmbiguousId as exc:
        err_console.print(f"[red]the id prefix {escape(str(exc))!r} names several dead letters; give more of it[/red]")
        raise typer.Exit(2) from None
    except DeadLetterError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    except (StorageError, PyMongoError, MessagingError) as exc:
        err_console.print(f"[red]stopped:[/red] {escape(str(exc))}; run it again")
        raise typer.Exit(1) from None


def _report_sync(report: SyncReport) -> None:
    if report.added or report.unreadable:
        err_console.print(f"mirrored {report.added} new dead letters ({report.unreadable} unreadable records skipped)")


def _utc(value: datetime | None) -> datetime | None:
    """Times without a zone are UTC, like every time the platform writes."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _as_json(letter: DeadLetter) -> dict[str, Any]:
    fields = asdict(letter)
    for name in ("failed_at", "resolved_at"):
        if fields[name] is not None:
            fields[name] = fields[name].isoformat()
    return fields | {"status": letter.status.value, "reason_kind": letter.reason_kind}


def _query(
    *,
    consumer: str | None,
    topic: str | None,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    status: str = "open",
) -> DeadLetterQuery:
    if status != "all" and status not in {s.value for s in DeadLetterStatus}:
        err_console.print(f"[red]--status must be open, replayed, discarded or all, not {escape(status)!r}[/red]")
        raise typer.Exit(2)
    if reason is not None and reason not in REASONS:
        err_console.print(f"[red]--reason must be contract, rejected or failed, not {escape(reason)!r}[/red]")
        raise typer.Exit(2)
    return DeadLetterQuery(
        consumer=consumer,
        topic=topic,
        reason=reason,
        status=None if status == "all" else DeadLetterStatus(status),
        since=_utc(since),
        until=_utc(until),
        limit=limit,
    )


def _bulk_query(
    letter_id: str | None,
    every: bool,
    *,
    consumer: str | None,
    topic: str | None,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> DeadLetterQuery | None:
    """``None`` for one letter by id; otherwise the filters, which must narrow it down (or ``--all``)."""
    filtered = any(value is not None for value in (consumer, topic, reason, since, until))
    if letter_id is not None:
        if filtered or every:
            err_console.print(
                "[red]give an ID or filters (--consumer, --topic, --reason, --since, --until), not both[/red]"
            )
            raise typer.Exit(2)
        return None
    if not filtered and not every:
        err_console.print("[red]give an ID, or filters to act on every open letter they match (--all: every one)[/red]")
        raise typer.Exit(2)
    return _query(consumer=consumer, topic=topic, reason=reason, since=since, until=until, limit=limit)


def _print_bulk(verb: str, report: BulkReport) -> None:
    for letter in report.done:
        console.print(f"{verb} {letter.id} ({letter.consumer}, {letter.source_topic}@{letter.offset})")
    for letter_id, why in report.skipped:
        err_console.print(f"[yellow]skipped {letter_id}:[/yellow] {escape(why)}")
    console.print(f"{verb} {len(report.done)}, skipped {len(report.skipped)}")


@deadletter_app.command("list")
def deadletter_list(
    consumer: ConsumerOption = None,
    topic: TopicOption = None,
    reason: ReasonOption = None,
    status: Annotated[str, typer.Option(help="open, replayed, discarded or all")] = "open",
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    actor: ActorOption = None,
    sync: SyncOption = True,
) -> None:
    """List dead letters, newest failure first (open ones unless --status says otherwise)."""
    query = _query(consumer=consumer, topic=topic, reason=reason, since=since, until=until, limit=limit, status=status)
    letters = _run(actor, sync, lambda desk: desk.list(query))
    if as_json:
        for letter in letters:
            sys.stdout.write(json.dumps(_as_json(letter), ensure_ascii=False) + "\n")
        return
    table = Table(title=f"dead letters ({len(letters)})")
    for column in ("id", "failed at", "consumer", "topic", "event", "reason", "status"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            letter.id[:12],
            letter.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.consumer,
            f"{letter.source_topic}[{letter.partition}]@{letter.offset}",
            letter.event_type or "-",
            escape(letter.reason[:80]),
            letter.status.value,
        )
    console.print(table)


@deadletter_app.command("show")
def deadletter_show(
    letter_id: Annotated[str, typer.Argument(metavar="ID", help="the id, or enough of its start")],
    actor: ActorOption = None,
    sync: SyncOption = True,
) -> None:
    """Print a dead letter: where it came from, the failure, and the original envelope."""
    letter = _run(actor, sync, lambda desk: desk.show(letter_id))
    fields = _as_json(letter)
    original = fields.pop("original")
    console.print_json(json.dumps(fields, ensure_ascii=False))
    try:
        console.print_json(original)
    except json.JSONDecodeError:
        console.print(escape(original), markup=False, highlight=False)


@deadletter_app.command("replay")
def deadletter_replay(
    letter_id: IdArgument = None,
    consumer: ConsumerOption = None,
    topic: TopicOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: Annotated[bool, typer.Option("--all", help="every open letter (no filter needed)")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="at most this many, oldest first")] = 1000,
    note: NoteOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="replay records older than the replay window (29 days) too")
    ] = False,
    actor: ActorOption = None,
    sync: SyncOption = True,
) -> None:
    """Republish original envelopes, unchanged, to their topics (one by ID, or every open one matching).

    Consumers that handled a record already skip it by its event id; the one that gave up tries again
    (and parks it anew if it fails again). By filters, the oldest failure goes first."""
    query = _bulk_query(
        letter_id, every, consumer=consumer, topic=topic, reason=reason, since=since, until=until, limit=limit
    )
    if query is None:
        assert letter_id is not None
        one = letter_id
        letter = _run(actor, sync, lambda desk: desk.replay(one, note=note, force=force))
        console.print(f"replayed {letter.id} to {letter.source_topic} ({letter.event_type})")
        return
    matching = query
    _print_bulk("replayed", _run(actor, sync, lambda desk: desk.replay_matching(matching, note=note, force=force)))


@deadletter_app.command("discard")
def deadletter_discard(
    letter_id: IdArgument = None,
    consumer: ConsumerOption = None,
    topic: TopicOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: Annotated[bool, typer.Option("--all", help="every open letter (no filter needed)")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="at most this many, oldest first")] = 1000,
    note: NoteOption = None,
    actor: ActorOption = None,
    sync: SyncOption = True,
) -> None:
    """Mark dead letters discarded, one by ID or every open one matching: nothing is sent, nobody
    will replay them (kept for reading, see docs/operations.md)."""
    query = _bulk_query(
        letter_id, every, consumer=consumer, topic=topic, reason=reason, since=since, until=until, limit=limit
    )
    if query is None:
        assert letter_id is not None
        one = letter_id
        letter = _run(actor, sync, lambda desk: desk.discard(one, note=note))
        console.print(f"discarded {letter.id}")
        return
    matching = query
    _print_bulk("discarded", _run(actor, sync, lambda desk: desk.discard_matching(matching, note=note)))
