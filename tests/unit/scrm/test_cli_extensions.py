"""The product CLI takes extra commands from installed distributions (the dev tools' ``demo`` and
``bench``) through the ``scrm.commands`` entry points, and carries none of their code itself."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from scrm import cli

group = typer.Typer(no_args_is_help=True)


@group.command("hello")
def _hello() -> None:
    """Say hello."""
    typer.echo("hello from a group")


def greet(name: str = "world") -> None:
    """Greet someone."""
    typer.echo(f"hi {name}")


def _entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=cli.COMMANDS_GROUP)


def test_the_dev_tools_declare_demo_and_bench() -> None:
    app = typer.Typer()
    cli.add_extensions(app)
    names = {command.name for command in app.registered_commands}
    assert {"demo", "bench"} <= names


def test_functions_become_commands_and_typers_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [_entry("greet", f"{__name__}:greet"), _entry("extra", f"{__name__}:group")]

    def fake_entry_points(**select: Any) -> list[EntryPoint]:
        assert select == {"group": cli.COMMANDS_GROUP}
        return found

    monkeypatch.setattr(cli, "entry_points", fake_entry_points)
    app = typer.Typer()
    cli.add_extensions(app)
    runner = CliRunner()
    assert runner.invoke(app, ["greet", "--name", "you"]).output == "hi you\n"
    assert runner.invoke(app, ["extra", "hello"]).output == "hello from a group\n"


def test_an_extension_that_fails_to_import_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [_entry("broken", "scrm_nowhere.commands:broken"), _entry("greet", f"{__name__}:greet")]
    monkeypatch.setattr(cli, "entry_points", lambda **select: found)
    app = typer.Typer()
    cli.add_extensions(app)
    assert [command.name for command in app.registered_commands] == ["greet"]
