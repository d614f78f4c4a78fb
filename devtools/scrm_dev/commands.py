"""``scrm demo``, ``scrm bench``, ``scrm up`` and ``scrm down``: the dev tools' commands, which the product
CLI finds through the ``scrm.commands`` entry-point group. The heavy modules are imported only when a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from shared.localinfra import InfraError

__all__ = ["bench", "demo", "down", "up"]

console = Console()
err_console = Console(stderr=True)

#: The product CLI's state directory (local servers, logs): the demo and the bench share it.
STATE_DIR = Path(".scrm")


def demo(
    json_output: Annotated[
        bool, typer.Option("--json", help="print one JSON object of counts as the last line")
    ] = False,
    members: Annotated[
        int, typer.Option(min=1, max=10_000, help="members who follow; the campaign adds about twice as many")
    ] = 100,
) -> None:
    """Bring up infrastructure and every service, drive a scenario, print a summary, stop it all."""
    from scrm_dev.demo import run_demo

    ok = run_demo(console, STATE_DIR, members=members, json_output=json_output)
    if not ok:
        raise typer.Exit(1)


def bench(
    output: Annotated[Path | None, typer.Option(help="write a markdown report here")] = None,
    pushes: Annotated[int, typer.Option(min=100, max=100_000, help="webhook pushes through the real stack")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="concurrent webhook requests")] = 32,
    seconds: Annotated[int, typer.Option(min=2, max=120, help="length of each ingest load run")] = 10,
    only: Annotated[
        list[str] | None, typer.Option(help="run only this stage (repeatable), e.g. --only screenshots")
    ] = None,
) -> None:
    """Measure the hot paths (in process and on the real local stack) and report them."""
    from scrm_dev.bench import BenchFailed, run_bench
    from scrm_dev.launcher import ProcessFailed

    try:
        run_bench(console, STATE_DIR, output, pushes_n=pushes, concurrency=concurrency, seconds=seconds, only=only)
    except (InfraError, ProcessFailed, BenchFailed, ValueError) as exc:
        err_console.print(f"[red]bench failed:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


def up(
    members: Annotated[
        int, typer.Option(min=1, max=10_000, help="members who follow in the demo's scenario (fewer: up sooner)")
    ] = 40,
    json_output: Annotated[
        bool, typer.Option("--json", help="also print the URLs and sign-ins as one JSON object (last line)")
    ] = False,
) -> None:
    """Start infrastructure and every service with the demo's data and keep them running (see scrm down)."""
    from scrm_dev.up import up as start

    if not start(console, STATE_DIR, members=members, json_output=json_output):
        raise typer.Exit(1)


def down() -> None:
    """Stop what scrm up started: every process, then the infrastructure it started."""
    from scrm_dev.up import down as stop

    if not stop(console, STATE_DIR):
        raise typer.Exit(1)
