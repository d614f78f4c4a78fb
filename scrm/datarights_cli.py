"""``scrm members export|erase``: a member's data rights (PIPL) from the command line.

The same use cases as the members API's routes (``shared.datarights`` over the platform's database),
audited in the identity audit log with the actor ``cli`` and the person's name (``--actor``).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from scrm.deadletter_cli import cli_actor
from shared.identity import mongo_identity
from shared.settings import SettingsError, load_settings

__all__ = ["member_erase", "member_export"]

console = Console()
err_console = Console(stderr=True)

AppidOption = Annotated[str, typer.Option(help="the account (its appid)")]
OpenidArgument = Annotated[str, typer.Argument(help="the member's openid in that account")]
ActorOption = Annotated[str | None, typer.Option(help="who is acting, for the audit log (default: login name)")]


def _run(work: Any) -> Any:
    from pymongo.errors import PyMongoError

    from shared.storage import StorageError

    try:
        return asyncio.run(work())
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except (StorageError, PyMongoError) as exc:
        err_console.print(f"[red]stopped:[/red] {escape(str(exc))}; run it again (it is safe to repeat)")
        raise typer.Exit(1) from None


def member_export(
    openid: OpenidArgument,
    appid: AppidOption,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (default: stdout)")] = None,
    actor: ActorOption = None,
) -> None:
    """Everything held about a member, as one JSON document (audited as ``member.exported``)."""
    from services.members.bootstrap import member_rights
    from services.members.settings import MembersSettings

    async def work() -> dict[str, Any]:
        settings = load_settings(MembersSettings)
        async with member_rights(settings) as rights, mongo_identity(settings).open() as directory:
            exported = await rights.export(appid, openid)
            counts = {name: len(documents) for name, documents in exported["collections"].items()}
            who = cli_actor(actor or getpass.getuser())
            await directory.record(who, "member.exported", "member", openid, appid=appid, after={"documents": counts})
            return exported

    exported = _run(work)
    text = json.dumps(exported, ensure_ascii=False, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {sum(len(d) for d in exported['collections'].values())} documents to {output}")


def member_erase(
    openid: OpenidArgument,
    appid: AppidOption,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask (scripts)")] = False,
    actor: ActorOption = None,
) -> None:
    """Erase a member's personal data in every store (irreversible; audited as ``member.erased``
    under the erasure's hash). Counts and aggregates are kept; later events for the member are dropped
    until they follow again."""
    from services.members.bootstrap import member_rights
    from services.members.settings import MembersSettings

    if not yes and not typer.confirm(f"Erase everything held about {openid} in {appid}? This cannot be undone"):
        raise typer.Exit(1)

    async def work() -> Any:
        settings = load_settings(MembersSettings)
        async with member_rights(settings) as rights, mongo_identity(settings).open() as directory:
            name = actor or getpass.getuser()
            report = await rights.erase(appid, openid, by=f"cli ({name})")
            after = {"total": report.total}
            await directory.record(
                cli_actor(name), "member.erased", "member_erasure", report.id, appid=appid, after=after
            )
            return report

    report = _run(work)
    for collection, by_action in sorted(report.counts.items()):
        for action, count in by_action.items():
            console.print(f"{collection}: {count} {action}")
    console.print(f"erased: {report.total} documents; erasure {report.id}")
