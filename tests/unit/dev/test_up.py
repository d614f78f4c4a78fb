"""``scrm up`` / ``scrm down`` pieces that need nothing running: ports, the console's environment, the
state file, and what the commands do with a stack that is up, stale or absent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from scrm_dev.stack import choose_ports, console_env, port_is_free
from scrm_dev.up import OPERATORS, UpPaths, alive, down, up


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _sleeper(*marker: str) -> subprocess.Popen[bytes]:
    """A process whose command line carries ``marker`` (as the supervisor's and the services' do)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *marker], start_new_session=True)
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 10
    while marker[-1].encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)  # between fork and exec it still has the parent's command line
    return process


def test_a_taken_port_moves_to_a_free_one_and_says_so(listening: int) -> None:
    free = next(port for port in range(18_000, 18_100) if port_is_free(port))
    ports, moved = choose_ports({"members-api": listening, "console": free})
    assert ports["console"] == free
    assert ports["members-api"] != listening and port_is_free(ports["members-api"])
    assert moved == [f"port {listening} is taken: members-api listens on {ports['members-api']} instead"]
    assert not port_is_free(listening)


def test_two_names_never_share_a_port() -> None:
    free = next(port for port in range(18_100, 18_200) if port_is_free(port))
    ports, moved = choose_ports({"a": free, "b": free})
    assert ports["a"] == free and ports["b"] != free and len(moved) == 1


def test_the_console_is_told_where_each_operator_api_and_the_simulator_are() -> None:
    ports = {
        "identity-api": 8005,
        "campaigns-api": 8002,
        "members-api": 8001,
        "profiles-api": 8003,
        "segments-api": 8004,
        "analytics": 8007,
        "wechat-sim": 8200,
        "gateway": 8000,
    }
    assert console_env(ports) == {
        "IDENTITY_API_URL": "http://127.0.0.1:8005",
        "CAMPAIGNS_API_URL": "http://127.0.0.1:8002",
        "MEMBERS_API_URL": "http://127.0.0.1:8001",
        "PROFILES_API_URL": "http://127.0.0.1:8003",
        "SEGMENTS_API_URL": "http://127.0.0.1:8004",
        "ANALYTICS_API_URL": "http://127.0.0.1:8007",
        "WECHAT_SIM_URL": "http://127.0.0.1:8200",
    }
    assert console_env({"identity-api": 9}) == {"IDENTITY_API_URL": "http://127.0.0.1:9"}
    named = console_env({}, {"wx1": "贝贝母婴"})
    assert json.loads(named["OFFICIAL_ACCOUNTS"]) == [{"appid": "wx1", "name": "贝贝母婴"}]


def test_every_role_has_a_sign_in_and_only_the_admin_spans_accounts() -> None:
    roles = {role for _, role, _ in OPERATORS}
    assert roles == {"admin", "campaign_operator", "reviewer", "project_manager", "analyst"}
    assert [name for name, _, account in OPERATORS if account == "*"] == ["admin"]


def test_the_state_file_is_written_whole_and_private(tmp_path: Path) -> None:
    paths = UpPaths(tmp_path)
    assert paths.read() is None
    paths.write({"status": "ready", "sign_ins": [{"name": "admin", "password": "p"}]})
    assert paths.read() == {"status": "ready", "sign_ins": [{"name": "admin", "password": "p"}]}
    assert paths.state.stat().st_mode & 0o777 == 0o600
    paths.state.write_text("{half")
    assert paths.read() is None
    paths.clear()
    assert not paths.state.exists()


def test_alive_checks_the_command_line_against_reused_pids() -> None:
    process = _sleeper("scrm_dev.up")
    try:
        assert alive(process.pid, "scrm_dev.up")
        assert not alive(process.pid, "somebody-else")
    finally:
        process.kill()
        process.wait()
    assert not alive(process.pid)
    assert not alive(None)


def test_down_with_nothing_up_says_so(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    assert down(console, tmp_path)
    assert "nothing is up" in console.export_text()


def test_down_after_a_crashed_supervisor_stops_what_it_left(tmp_path: Path) -> None:
    orphan = _sleeper("scrm", "run", "members-api")
    paths = UpPaths(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    paths.write({"supervisor_pid": dead.pid, "status": "ready", "pids": {"members-api": orphan.pid}, "logs": "x"})
    console = Console(record=True, width=200)
    try:
        assert down(console, tmp_path)
        assert orphan.wait(timeout=10) != 0
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
    text = console.export_text()
    assert f"stopped members-api (pid {orphan.pid}), left behind" in text
    assert "the demo database is dropped" in text and "logs kept in x" in text
    assert paths.read() is None


def test_up_when_already_up_prints_the_same_sign_ins_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    supervisor = _sleeper("scrm_dev.up")
    state = {
        "supervisor_pid": supervisor.pid,
        "status": "ready",
        "urls": {"console": "http://127.0.0.1:8006", "identity-api": "http://127.0.0.1:8005"},
        "console_url": "http://127.0.0.1:8006",
        "sign_ins": [{"name": "admin", "password": "s3cret-pass-0", "role": "admin", "account": "*"}],
        "logs": str(tmp_path / "up" / "run"),
        "database": "scrm_up_run",
        "moved_ports": ["port 8001 is taken: members-api listens on 12345 instead"],
        "exited": ["identity-api"],
    }
    UpPaths(tmp_path).write(state)
    console = Console(record=True, width=200)
    try:
        assert up(console, tmp_path, members=1, json_output=True)
    finally:
        supervisor.kill()
        supervisor.wait()
    text = console.export_text()
    assert "already up" in text and "console: http://127.0.0.1:8006" in text and "s3cret-pass-0" in text
    assert "identity-api (exited)" in text and "members-api listens on 12345" in text
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["already_up"] is True and printed["sign_ins"] == state["sign_ins"]
    assert UpPaths(tmp_path).read() == state


def test_up_stops_waiting_when_scrm_down_stops_a_starting_stack(tmp_path: Path) -> None:
    supervisor = _sleeper("scrm_dev.up")
    paths = UpPaths(tmp_path)
    paths.write({"supervisor_pid": supervisor.pid, "status": "starting", "phase": "loading the demo's data"})
    stopper = threading.Timer(0.5, paths.clear)  # what the supervisor does when scrm down stops it
    stopper.start()
    console = Console(record=True, width=200)
    started = time.monotonic()
    try:
        assert not up(console, tmp_path, members=1)
    finally:
        stopper.join()
        supervisor.kill()
        supervisor.wait()
    assert time.monotonic() - started < 10
    assert "the supervisor stopped before the stack was ready" in console.export_text()
