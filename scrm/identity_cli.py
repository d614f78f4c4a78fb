"""``scrm operators`` and ``scrm tokens``: operators, their grants and API tokens, straight in the
identity stores (MongoDB from the environment, like every process).

The first admin comes from here: there is no default password anywhere. Passwords are read from a
hidden prompt, or from standard input with ``--password-stdin`` (scripts); never from an argument,
which would land in shell histories and process lists. Every change is audited with the actor
``cli``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.identity import (
    CLI_ACTOR,
    Directory,
    IdentityError,
    IdentityKind,
    mongo_identity,
    parse_permissions,
)
from shared.settings import ServiceSettings, SettingsError, load_settings
from shared.storage import StorageError

__all__ = ["operators_app", "provision_operator", "tokens_app"]

operators_app = typer.Typer(
    help="Operators (people and integrations) and their roles per account.", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens for scripts and integrations.", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


@asynccontextmanager
async def open_directory(settings: ServiceSettings) -> AsyncIterator[Directory]:
    """The identity stores the identity API and every service read (the settings' MongoDB database)."""
    async with mongo_identity(settings).open() as directory:
        yield directory


def _run(work: Callable[[Directory], Awaitable[T]]) -> T:
    async def main() -> T:
        async with open_directory(load_settings(ServiceSettings)) as directory:
            return await work(directory)

    try:
        return asyncio.run(main())
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except IdentityError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    except StorageError as exc:
        err_console.print(f"[red]stopped:[/red] {escape(str(exc))}; run it again")
        raise typer.Exit(1) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            err_console.print("[red]no password on standard input[/red]")
            raise typer.Exit(2)
        return password
    prompted: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return prompted


async def provision_operator(
    directory: Directory,
    name: str,
    *,
    password: str | None,
    grants: list[tuple[str, str]],
    kind: IdentityKind = "operator",
    label: str | None = None,
    days: int | None = 1,
) -> str | None:
    """Create an operator with its grants and, given a ``label``, an API token so labelled, valid for
    ``days`` (returned, once).

    What ``scrm operators create`` does, for tools that set up their own operator (the demo).
    """
    operator = await directory.create_operator(CLI_ACTOR, name, password=password, kind=kind)
    for role, appid in grants:
        await directory.grant(CLI_ACTOR, operator.id, role, appid)
    if label is None:
        return None
    expires_at = directory.clock() + timedelta(days=days) if days else None
    token, _ = await directory.create_token(CLI_ACTOR, operator.id, label=label, expires_at=expires_at)
    return token


@operators_app.command("create")
def operators_create(
    name: str,
    role: Annotated[str | None, typer.Option(help="grant this role at once (with --account)")] = None,
    account: Annotated[str, typer.Option(help="the grant's appid; '*' for every account")] = "*",
    service: Annotated[bool, typer.Option("--service", help="an integration: no password, tokens only")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Create an operator (the first admin: `scrm operators create alice --role admin`)."""
    password = None if service else _read_password(password_stdin)
    grants = [(role, account)] if role else []
    kind: IdentityKind = "service" if service else "operator"
    _run(lambda d: provision_operator(d, name, password=password, grants=grants, kind=kind))
    console.print(f"created {kind} {escape(name)}" + (f" ({escape(role)} on {escape(account)})" if role else ""))


@operators_app.command("list")
def operators_list() -> None:
    """Every operator, their kind, state and grants."""
    rows = _run(lambda d: d.operators())
    table = Table(title="operators")
    for column in ("id", "name", "kind", "state", "grants"):
        table.add_column(column)
    for operator, grants in rows:
        held = ", ".join(f"{g.role.value}@{g.appid}" for g in sorted(grants)) or "-"
        state = "disabled" if operator.disabled else "active"
        table.add_row(operator.id, escape(operator.name), operator.kind, state, held)
    console.print(table)


@operators_app.command("grant")
def operators_grant(name: str, role: str, account: str) -> None:
    """Give NAME the ROLE on ACCOUNT (an appid, or '*' for every account)."""
    added = _run(lambda d: d.grant(CLI_ACTOR, name, role, account))
    console.print(f"granted {role} on {account}" if added else "already held")


@operators_app.command("revoke")
def operators_revoke(name: str, role: str, account: str) -> None:
    """Take ROLE on ACCOUNT away from NAME."""
    removed = _run(lambda d: d.revoke(CLI_ACTOR, name, role, account))
    console.print(f"revoked {role} on {account}" if removed else "not held")


@operators_app.command("disable")
def operators_disable(name: str) -> None:
    """Disable NAME: no more sign-ins, sessions end, tokens stop working."""
    _run(lambda d: d.set_disabled(CLI_ACTOR, name, True))
    console.print(f"disabled {escape(name)}")


@tokens_app.command("create")
def tokens_create(
    operator: str,
    label: Annotated[str, typer.Option(help="what the token is for")],
    scope: Annotated[list[str] | None, typer.Option(help="a permission (repeat); none: all of the grants")] = None,
    expires_in_days: Annotated[int, typer.Option(help="0: never (avoid)")] = 90,
) -> None:
    """Create a token for OPERATOR. It is printed once, here; only its hash is kept."""
    scopes = parse_permissions(scope) if scope else None

    async def create(directory: Directory) -> str:
        expires_at = directory.clock() + timedelta(days=expires_in_days) if expires_in_days else None
        token, _ = await directory.create_token(CLI_ACTOR, operator, label=label, scopes=scopes, expires_at=expires_at)
        return token

    token = _run(create)
    err_console.print("the token is shown once; store it now:")
    print(token)  # noqa: T201 (stdout alone, so `scrm tokens create ... > file` keeps just the token)


@tokens_app.command("list")
def tokens_list(operator: Annotated[str | None, typer.Option(help="one operator's tokens")] = None) -> None:
    """Tokens (never their secrets): owner, scopes, expiry, last use, revocation."""
    tokens = _run(lambda d: d.tokens(operator))
    table = Table(title="API tokens")
    for column in ("id", "operator", "label", "scopes", "expires", "last used", "revoked"):
        table.add_column(column)
    for t in tokens:
        scopes = "all" if t.scopes is None else ", ".join(sorted(s.value for s in t.scopes))
        table.add_row(
            t.id,
            t.operator_id,
            escape(t.label),
            scopes,
            t.expires_at.isoformat() if t.expires_at else "never",
            t.last_used_at.isoformat() if t.last_used_at else "-",
            t.revoked_at.isoformat() if t.revoked_at else "-",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id (the part after ``scrm_``, before the next ``_``)."""
    _run(lambda d: d.revoke_token(CLI_ACTOR, token_id))
    console.print(f"revoked {token_id}")
