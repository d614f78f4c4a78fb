"""``scrm``: the platform's command line."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scrm.datarights_cli import member_erase, member_export
from scrm.deadletter_cli import deadletter_app
from scrm.identity_cli import operators_app, tokens_app
from scrm.processes import PROCESSES
from scrm.retention_cli import retention_app
from shared.localinfra import InfraError, InfraStatus, LocalInfrastructure, parse_host_port
from shared.settings import ServiceSettings, SettingsError, load_settings

T = TypeVar("T")

app = typer.Typer(help="SCRM growth platform: local infrastructure, services, demo.", no_args_is_help=True)
infra_app = typer.Typer(help="Local Kafka- and MongoDB-protocol servers (development and tests).", no_args_is_help=True)
docs_app = typer.Typer(help="Documentation generated from code.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
members_app = typer.Typer(help="Members of the accounts.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
app.add_typer(members_app, name="members")
members_app.command("export")(member_export)
members_app.command("erase")(member_erase)
campaigns_app = typer.Typer(help="Referral campaigns.", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(operators_app, name="operators")
app.add_typer(tokens_app, name="tokens")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(retention_app, name="retention")

console = Console()
err_console = Console(stderr=True)

STATE_DIR = Path(".scrm")


def _infra() -> LocalInfrastructure:
    try:
        settings = load_settings(ServiceSettings)
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    return LocalInfrastructure(
        STATE_DIR / "infra",
        kafka=parse_host_port(settings.kafka_bootstrap_servers, 9092),
        mongodb=parse_host_port(settings.mongodb_url.get_secret_value(), 27017),
    )


def _print_status(status: InfraStatus) -> None:
    table = Table(title="local infrastructure")
    for column in ("server", "url", "pid", "state", "log"):
        table.add_column(column)
    for server in status.servers():
        state = "[green]answering[/green]" if server.answering else "[red]down[/red]"
        if server.answering and not server.running:
            state += " (not started by scrm)"
        table.add_row(server.name, server.url, str(server.pid or "-"), state, server.log)
    console.print(table)


@infra_app.command("up")
def infra_up() -> None:
    """Start Tansu and SecantusDB in the background (no-op for what already answers)."""
    infra = _infra()
    try:
        with console.status("starting local infrastructure..."):
            status = infra.up()
    except InfraError as exc:
        err_console.print(f"[red]infra up failed:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    _print_status(status)
    console.print(f"KAFKA_BOOTSTRAP_SERVERS={status.kafka.url}\nMONGODB_URL={status.mongodb.url}")


@infra_app.command("down")
def infra_down() -> None:
    """Stop the servers `scrm infra up` started (by PID), nothing else."""
    stopped = _infra().down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")


@infra_app.command("status")
def infra_status() -> None:
    """Show whether the servers answer, and which ones scrm started."""
    status = _infra().status()
    _print_status(status)
    if not status.healthy:
        raise typer.Exit(1)


@app.command("run")
def run(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(PROCESSES)}")],
    port: Annotated[int | None, typer.Option(help="HTTP port (health port for workers)")] = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
) -> None:
    """Run one service process in the foreground."""
    spec = PROCESSES.get(service)
    if spec is None:
        err_console.print(f"[red]unknown service {service!r}[/red]; choose from {', '.join(PROCESSES)}")
        raise typer.Exit(2)
    for needed in spec.needs:
        # The API answers without its worker; what it starts then waits on a topic, silently.
        err_console.print(
            f"[yellow]{service} needs {needed} running too[/yellow] (`scrm run {needed}`): "
            f"without it {escape(spec.without_needs)}"
        )
    try:
        spec.run(host, port if port is not None else spec.default_port)
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None


@app.command("services")
def services() -> None:
    """List the processes `scrm run` can start."""
    table = Table(title="services")
    for column in ("name", "kind", "default port", "what", "start with"):
        table.add_column(column)
    for spec in PROCESSES.values():
        table.add_row(spec.name, spec.kind, str(spec.default_port), spec.description, ", ".join(spec.needs))
    console.print(table)


@app.command("verify-screenshots")
def verify_screenshots(
    out: Annotated[Path, typer.Option(help="decisions, one JSON line per screenshot")],
    manifest: Annotated[
        Path | None, typer.Option(help="JSON lines: file, poster, qr_payload, campaign, user (optional truth)")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="a labelled set (JSON lines with label approve/reject, or the review queue's export .zip)"),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="analysis processes (default: the cores)")] = None,
    engine: Annotated[str, typer.Option(help="OCR engine: tesserocr (in process) or pytesseract")] = "tesserocr",
    time_limit: Annotated[
        float, typer.Option(min=0.1, max=600, help="seconds per image before it goes to review (analysis_timeout)")
    ] = 2.0,
) -> None:
    """Decide screenshots offline through the same path as the live worker; a summary goes to stderr.

    With --labels, the summary compares the decisions with people's (precision, recall, review and
    the confusion by reason)."""
    from scrm.screenshots import run_verify_screenshots

    if (manifest is None) == (labels is None):
        err_console.print("[red]verify-screenshots:[/red] give either --manifest or --labels")
        raise typer.Exit(2)
    code = run_verify_screenshots(
        err_console, manifest, out, workers=workers, engine=engine, labels=labels, time_limit=time_limit
    )
    if code:
        raise typer.Exit(code)


@members_app.command("import")
def members_import(
    appid: Annotated[str, typer.Option(help="the account (one of WECHAT_ACCOUNTS)")],
    restart: Annotated[bool, typer.Option(help="start from the first page, not the last checkpoint")] = False,
) -> None:
    """Pull the account's existing followers (user/get, info/batchget) into profiles; resumable."""
    from scrm.member_import import run_member_import

    code = run_member_import(console, appid, restart=restart)
    if code:
        raise typer.Exit(code)


@members_app.command("sync-tags")
def members_sync_tags(
    appid: Annotated[str, typer.Option(help="the account (one of WECHAT_ACCOUNTS)")],
) -> None:
    """Sync the budgeted profile tags (WECHAT_TAG_BUDGET) to WeChat user tags; resumable."""
    from scrm.member_import import run_tag_sync

    code = run_tag_sync(console, appid)
    if code:
        raise typer.Exit(code)


def _storage_job(job: Callable[[], T], stops: tuple[type[Exception], ...]) -> T:
    """Run a maintenance job: bad settings exit 2, a storage or broker failure (``stops``) exits 1
    with "run it again" (the jobs are safe to repeat)."""
    try:
        return job()
    except SettingsError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except stops as exc:
        err_console.print(f"[red]stopped:[/red] {escape(str(exc))}; run it again")
        raise typer.Exit(1) from None


@members_app.command("rebuild-coverage")
def members_rebuild_coverage(
    appid: Annotated[str, typer.Option(help="the account (one of WECHAT_ACCOUNTS)")],
) -> None:
    """Recount the account's tag and life-stage coverage counters from its profiles (data from before
    the counters, or a repair); run it while the profiles worker is stopped. Safe to repeat."""
    from scrm.member_import import run_coverage_rebuild

    code = run_coverage_rebuild(console, appid)
    if code:
        raise typer.Exit(code)


@campaigns_app.command("announce-participation")
def campaigns_announce_participation() -> None:
    """Announce every participant's standing on campaigns.participation (safe to repeat).

    Run once when segments start keeping their own copy of participation, and whenever the campaigns
    worker logged "participation not announced". Takes the campaigns worker's environment.
    """
    import asyncio

    from services.campaigns.bootstrap_worker import announce_all_participation
    from services.campaigns.settings import CampaignsSettings
    from shared.messaging import MessagingError
    from shared.storage import StorageError

    count = _storage_job(
        lambda: asyncio.run(announce_all_participation(load_settings(CampaignsSettings))),
        (StorageError, MessagingError),
    )
    console.print(f"announced the standing of {count} participants")


@campaigns_app.command("seed-followers")
def campaigns_seed_followers(appid: Annotated[str, typer.Option(help="the account (appid)")]) -> None:
    """Record every follower the platform lists (user/get) as known to campaigns (safe to repeat).

    Run before an account's first campaign when its followers were not imported with `scrm members
    import` (which seeds them too): their re-follow through a poster is then not a new follower.
    Takes the campaigns worker's environment.
    """
    from scrm.member_import import run_follower_seed

    code = run_follower_seed(console, appid)
    if code:
        raise typer.Exit(code)


def _campaigns_sweep(sweep: Callable[..., Coroutine[Any, Any, T]], as_of: str | None) -> T:
    """One of the campaigns worker's timed sweeps, now, with its environment; ``as_of`` an ISO 8601
    time with its zone (the sweep refuses it in production: exit 2 with its message)."""
    import asyncio
    from datetime import datetime

    from pymongo.errors import PyMongoError

    from services.campaigns.settings import CampaignsSettings
    from shared.messaging import MessagingError
    from shared.storage import StorageError

    try:
        when = None if as_of is None else datetime.fromisoformat(as_of)
    except ValueError:
        when = None
    if as_of is not None and (when is None or when.utcoffset() is None):
        console.print("[red]--as-of takes an ISO 8601 time with its zone, e.g. 2026-12-06T10:00:00+08:00[/red]")
        raise typer.Exit(2)
    try:
        return _storage_job(
            lambda: asyncio.run(sweep(load_settings(CampaignsSettings), as_of=when)),
            (StorageError, PyMongoError, MessagingError),
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@campaigns_app.command("confirm-credits")
def campaigns_confirm_credits(
    as_of: Annotated[
        str | None,
        typer.Option(help="run as of this later time (ISO 8601 with zone); refused in production"),
    ] = None,
) -> None:
    """Confirm the pending credits whose revocation window has passed, now (safe to repeat).

    The campaigns worker does this every CREDIT_CONFIRM_SECONDS; run it by hand when that sweep is off.
    Takes the campaigns worker's environment.
    """
    from services.campaigns.bootstrap_worker import confirm_credits_now

    confirmed = _campaigns_sweep(confirm_credits_now, as_of)
    tiers = sum(len(done.tiers_granted) for done in confirmed)
    console.print(f"confirmed {len(confirmed)} credits; {tiers} tiers granted")


@campaigns_app.command("pay-shares")
def campaigns_pay_shares(
    as_of: Annotated[
        str | None,
        typer.Option(help="run as of this later time (ISO 8601 with zone); refused in production"),
    ] = None,
) -> None:
    """Move the delayed share-reward payouts that are due, now: re-checks asked, unanswered ones
    expired, rewards paid (safe to repeat).

    The campaigns worker does this every CREDIT_CONFIRM_SECONDS; run it by hand when that sweep is off.
    Takes the campaigns worker's environment.
    """
    from collections import Counter

    from services.campaigns.bootstrap_worker import pay_shares_now

    moved = _campaigns_sweep(pay_shares_now, as_of)
    steps = Counter(done.step.value for done in moved)
    console.print(
        f"re-checks asked {steps['ask']}; re-checks expired {steps['expire']}; share rewards paid {steps['pay']}"
    )


@members_app.command("rebuild-counters")
def members_rebuild_counters(
    appid: Annotated[str | None, typer.Option(help="only this account")] = None,
) -> None:
    """Recompute the accounts' member counts (members, following) from the members (safe to repeat).

    Run once after upgrading, for members from before the counters, and to repair them. Takes the
    members worker's environment; it may run beside the worker.
    """
    import asyncio

    from pymongo.errors import PyMongoError

    from services.members.bootstrap import rebuild_counters
    from services.members.settings import MembersSettings
    from shared.storage import StorageError

    accounts = _storage_job(
        lambda: asyncio.run(rebuild_counters(load_settings(MembersSettings), appid=appid)),
        (StorageError, PyMongoError),
    )
    console.print(f"rebuilt the member counters of {len(accounts)} accounts")


@campaigns_app.command("rebuild-counters")
def campaigns_rebuild_counters(
    appid: Annotated[str | None, typer.Option(help="only this account's campaigns")] = None,
) -> None:
    """Recompute the campaigns' stats counters from their records (safe to repeat).

    Run once after upgrading, for campaigns from before the counters, and to repair counters. Takes
    the campaigns worker's environment; it may run beside the workers.
    """
    import asyncio

    from pymongo.errors import PyMongoError

    from services.campaigns.bootstrap_worker import rebuild_all_counters
    from services.campaigns.settings import CampaignsSettings
    from shared.storage import StorageError

    rebuilt = _storage_job(
        lambda: asyncio.run(rebuild_all_counters(load_settings(CampaignsSettings), appid=appid)),
        (StorageError, PyMongoError),
    )
    console.print(f"rebuilt the counters of {rebuilt.campaigns} campaigns and {rebuilt.accounts} accounts")


@campaigns_app.command("backfill-graph")
def campaigns_backfill_graph(
    appid: Annotated[
        str | None, typer.Option(help="only this account (default: every WECHAT_ACCOUNTS account)")
    ] = None,
) -> None:
    """Add to the referral graph the credits recorded before it existed (safe to repeat).

    Run once after upgrading. Takes the campaigns worker's environment; it may run beside the workers.
    """
    import asyncio

    from pymongo.errors import PyMongoError

    from services.campaigns.bootstrap_worker import backfill_referral_graph
    from services.campaigns.settings import CampaignsSettings
    from shared.storage import StorageError

    added = _storage_job(
        lambda: asyncio.run(backfill_referral_graph(load_settings(CampaignsSettings), appid=appid)),
        (StorageError, PyMongoError),
    )
    for account, count in added.items():
        console.print(f"{account}: {count} edges added to the referral graph")


@docs_app.command("events")
def docs_events(
    output: Annotated[Path | None, typer.Option(help="write here instead of printing")] = None,
) -> None:
    """Render docs/events.md from the topic registry and event catalog."""
    from scrm.docs import render_events

    text = render_events()
    if output is None:
        console.print(text, markup=False, highlight=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


@docs_app.command("configuration")
def docs_configuration(
    output: Annotated[Path | None, typer.Option(help="write here instead of printing")] = None,
) -> None:
    """Render docs/configuration.md from every process's settings class."""
    from scrm.configuration_docs import render_configuration

    text = render_configuration()
    if output is None:
        console.print(text, markup=False, highlight=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


#: Where other installed distributions declare commands for this CLI (scrm-dev: ``demo``, ``bench``).
#: A name maps to a command function, or to a ``typer.Typer`` added as a group of that name.
COMMANDS_GROUP = "scrm.commands"


def add_extensions(target: typer.Typer) -> None:
    """Add the commands declared under :data:`COMMANDS_GROUP`: the product carries no dev code, the
    dev venv still has ``scrm demo`` and ``scrm bench``."""
    for entry in entry_points(group=COMMANDS_GROUP):
        try:
            command = entry.load()
        except ImportError as exc:  # a half-installed extension must not take the product CLI down
            err_console.print(f"[yellow]skipping command {entry.name!r}:[/yellow] {escape(str(exc))}")
            continue
        if isinstance(command, typer.Typer):
            target.add_typer(command, name=entry.name)
        else:
            target.command(entry.name)(command)


def main() -> None:
    add_extensions(app)
    app()
