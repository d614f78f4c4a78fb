"""What the CLI tells someone starting processes by hand: the worker an API needs, and every setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scrm import cli
from scrm.configuration_docs import render_configuration
from scrm.processes import PROCESSES, ProcessSpec


def test_running_an_api_names_the_worker_that_does_its_work(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, int]] = []
    monkeypatch.setattr(ProcessSpec, "run", lambda self, host, port: started.append((self.name, port)))
    result = CliRunner().invoke(cli.app, ["run", "campaigns-api"])
    assert result.exit_code == 0, result.output
    assert started == [("campaigns-api", 8002)]
    assert "campaigns-api needs campaigns-worker running too" in result.output
    assert "a follow does nothing for a campaign" in result.output
    quiet = CliRunner().invoke(cli.app, ["run", "campaigns-worker"])
    assert quiet.exit_code == 0 and "needs" not in quiet.output


def test_services_lists_what_to_start_with_what() -> None:
    result = CliRunner().invoke(cli.app, ["services"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if "campaigns-api" in line)
    assert "campaigns-worker" in row
    assert all(name in result.output for name in PROCESSES)


def test_docs_configuration_writes_the_generated_page(tmp_path: Path) -> None:
    out = tmp_path / "configuration.md"
    result = CliRunner().invoke(cli.app, ["docs", "configuration", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_configuration()
