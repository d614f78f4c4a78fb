"""``scrm up`` and ``scrm down``: the whole platform with the demo's data, kept running in the background.

``scrm up`` starts a supervisor (``python -m scrm_dev.up serve``) in its own session and waits until it
says the stack is ready. The supervisor owns everything: it brings up the local infrastructure and
every process of the process table (on their usual ports where free), plays the demo's scenario,
creates one operator per role with a generated password, seeds a little brand business around the
demo's brand project (``demo_business``), writes ``<state>/up/state.json`` and then waits for a
signal. ``scrm down`` signals it; it stops the processes, drops the run's database and stops the
infrastructure servers it started. Each ``scrm up`` starts from fresh demo data; the logs
of every run stay under ``<state>/up/<run>/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scrm.identity_cli import open_directory, provision_operator
from scrm_dev.demo_business import BusinessSeed, seed_business
from scrm_dev.demo_value import beijing_today
from scrm_dev.launcher import ServiceProcess, Supervisor
from scrm_dev.stack import DEMO_APPID, Stack
from services.brands.adapters.mongo import BRANDS

__all__ = ["OPERATORS", "SignIn", "UpPaths", "down", "up"]

#: The sign-ins ``scrm up`` makes on the demo account: (name, role, account). The brand roles are
#: granted on every account (brands are not per Official Account); ``head`` heads a team with ``manager``.
OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "*"),
    ("ops", "campaign_operator", DEMO_APPID),
    ("reviewer", "reviewer", DEMO_APPID),
    ("pm", "project_manager", DEMO_APPID),
    ("analyst", "analyst", DEMO_APPID),
    ("manager", "account_manager", "*"),
    ("head", "sales_head", "*"),
)
_MANAGER, _HEAD = "manager", "head"
#: The supervisor's command line carries this, so a PID is checked to still be ours before a signal.
_MARKER = "scrm_dev.up"
_START_TIMEOUT_S = 900.0
_STOP_TIMEOUT_S = 180.0
#: How long the supervisor may take to write its first state (imports on a busy machine).
_FIRST_WORD_S = 60.0


@dataclass(frozen=True)
class SignIn:
    name: str
    password: str
    role: str
    account: str


@dataclass(frozen=True)
class UpPaths:
    state_dir: Path

    @property
    def root(self) -> Path:
        return self.state_dir / "up"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def supervisor_log(self) -> Path:
        return self.root / "supervisor.log"

    def read(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.state.read_text())
        except (OSError, ValueError):
            return None
        return state

    def write(self, state: Mapping[str, Any]) -> None:
        """Atomically, readable by the owner only: it holds the generated passwords."""
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.state.with_suffix(".tmp")
        partial.write_text(json.dumps(state, ensure_ascii=False, indent=2))
        partial.chmod(0o600)
        partial.replace(self.state)

    def clear(self) -> None:
        self.state.unlink(missing_ok=True)


def alive(pid: int | None, marker: str | None = None) -> bool:
    """Whether ``pid`` runs (and, given ``marker``, its command line contains it: PIDs get reused)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return marker is None
    if marker is None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


# --- the commands (foreground) -------------------------------------------------------------------


def up(console: Console, state_dir: Path, *, members: int, json_output: bool = False) -> bool:
    paths = UpPaths(state_dir)
    state = paths.read()
    if state is not None and alive(state.get("supervisor_pid"), _MARKER):
        if state.get("status") == "ready":
            console.print("[green]already up[/green]")
            _report(console, paths, state, json_output, already_up=True)
            return True
        console.print(f"already starting (supervisor pid {state['supervisor_pid']}); waiting for it")
    else:
        if state is not None:
            _clean_up_after(console, paths, state)
        _spawn_supervisor(paths, members)
    try:
        state = _wait_until_settled(console, paths)
    except KeyboardInterrupt:
        # The supervisor has its own session: ^C here leaves it starting.
        console.print("still starting in the background: scrm up prints it all when ready, scrm down stops it")
        return False
    if state is None or state.get("status") != "ready":
        error = (state or {}).get("error") or "the supervisor stopped before the stack was ready"
        console.print(f"[red]scrm up failed:[/red] {escape(str(error))}")
        console.print(f"supervisor log: {paths.supervisor_log}")
        console.print(escape(_tail(paths.supervisor_log)))
        if state is not None:
            _clean_up_after(console, paths, state)
        return False
    _report(console, paths, state, json_output, already_up=False)
    return True


def down(console: Console, state_dir: Path) -> bool:
    paths = UpPaths(state_dir)
    state = paths.read()
    if state is None:
        console.print("nothing is up (no scrm up state here)")
        return True
    pid = state.get("supervisor_pid")
    if alive(pid, _MARKER):
        assert isinstance(pid, int)
        os.kill(pid, signal.SIGTERM)
        with console.status("stopping the services, then the infrastructure scrm up started..."):
            deadline = time.monotonic() + _STOP_TIMEOUT_S
            while alive(pid, _MARKER) and time.monotonic() < deadline:
                time.sleep(0.2)
        if alive(pid, _MARKER):
            console.print("[yellow]the supervisor did not stop in time: stopping what it started[/yellow]")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    # Whatever the supervisor could not stop (killed, crashed) is stopped from the recorded PIDs.
    _clean_up_after(console, paths, paths.read() or state)
    logs = state.get("logs")
    console.print(
        "[green]✓[/green] down: every process and the infrastructure scrm up started are stopped; "
        "the demo database is dropped (each scrm up loads fresh demo data)" + (f"; logs kept in {logs}" if logs else "")
    )
    return True


def _spawn_supervisor(paths: UpPaths, members: int) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.clear()
    with paths.supervisor_log.open("wb") as log:
        # Its own session: closing this terminal or ^C here does not reach it; `scrm down` does.
        subprocess.Popen(
            [sys.executable, "-m", _MARKER, "serve", str(paths.state_dir.resolve()), "--members", str(members)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "COLUMNS": "120"},
        )


def _wait_until_settled(console: Console, paths: UpPaths) -> dict[str, Any] | None:
    """The supervisor's state once it is ready or has failed (None if it died without a word)."""
    started = time.monotonic()
    state: dict[str, Any] | None = None
    seen = False
    with console.status("starting...") as status:
        while time.monotonic() - started < _START_TIMEOUT_S:
            state = paths.read()
            if state is None:
                # Gone after it was there: stopped (scrm down); never there: it failed at once.
                if seen or time.monotonic() - started > _FIRST_WORD_S:
                    return None
            elif state.get("status") in {"ready", "failed"} or not alive(state.get("supervisor_pid"), _MARKER):
                return state
            else:
                seen = True
                status.update(f"{state.get('phase', 'starting')}... (log: {paths.supervisor_log})")
            time.sleep(0.25)
    return state


def _clean_up_after(console: Console, paths: UpPaths, state: Mapping[str, Any]) -> None:
    """Stop what a supervisor that is gone left running (its processes, then its infrastructure)."""
    for name, pid in (state.get("pids") or {}).items():
        if alive(pid, "scrm"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            console.print(f"stopped {name} (pid {pid}), left behind")
    started = state.get("started_infra") or []
    if started:
        from shared.localinfra import LocalInfrastructure

        stopped = LocalInfrastructure(paths.state_dir / "infra").down(only=started)
        if stopped:
            console.print(f"stopped {', '.join(stopped)}, left behind")
    paths.clear()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _report(console: Console, paths: UpPaths, state: Mapping[str, Any], json_output: bool, *, already_up: bool) -> None:
    urls: dict[str, str] = state.get("urls") or {}
    console_url = urls.get("console")
    if console_url:
        console.print(f"\n[bold]console:[/bold] {console_url}")
    else:
        console.print(f"\n[bold]no console in this build;[/bold] identity API at {urls.get('identity-api')}/docs")
    table = Table(title="sign-ins (generated for this run)")
    for column in ("name", "password", "role", "account"):
        table.add_column(column)
    for sign_in in state.get("sign_ins") or []:
        table.add_row(sign_in["name"], sign_in["password"], sign_in["role"], sign_in["account"])
    console.print(table)
    services = Table(title="services")
    services.add_column("process")
    services.add_column("URL")
    services.add_column("log")
    exited = set(state.get("exited") or [])
    for name, url in urls.items():
        services.add_row(name + (" [red](exited)[/red]" if name in exited else ""), url, f"{state['logs']}/{name}.log")
    console.print(services)
    for line in state.get("moved_ports") or []:
        console.print(f"[yellow]![/yellow] {escape(line)}")
    if not state.get("demo_ok", True):
        console.print("[yellow]the demo scenario found a mismatch; see the supervisor log[/yellow]")
    console.print(
        f"logs: {state['logs']}/<process>.log; supervisor: {paths.supervisor_log}; "
        "stop with [bold]scrm down[/bold] (drops the demo database: each scrm up starts afresh)"
    )
    if json_output:
        keys = ("console_url", "urls", "sign_ins", "logs", "database", "moved_ports", "exited")
        out = {key: state.get(key) for key in keys} | {"already_up": already_up}
        print(json.dumps(out, ensure_ascii=False))  # noqa: T201


# --- the supervisor (background) ------------------------------------------------------------------


class _Stopped(BaseException):
    """Raised from the signal handler: unwinds the stack's ``with`` block, which stops everything."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(handled, signal.SIG_IGN)  # a second signal must not cut the teardown short
    raise _Stopped


async def create_operators(stack: Stack) -> tuple[list[SignIn], str]:
    """One operator per role on the demo account (the admin and the brand roles on every account), with a
    password; and an API token of the admin's for the seeding that follows (valid for a day)."""
    settings = stack.settings.model_copy(update={"mongodb_database": stack.database})
    sign_ins = [SignIn(name, secrets.token_urlsafe(12), role, account) for name, role, account in OPERATORS]
    admin_token: str | None = None
    async with open_directory(settings) as directory:
        for sign_in in sign_ins:
            token = await provision_operator(
                directory,
                sign_in.name,
                password=sign_in.password,
                grants=[(sign_in.role, sign_in.account)],
                label="scrm up: demo business" if sign_in.role == "admin" else None,
            )
            admin_token = admin_token or token
    assert admin_token is not None
    return sign_ins, admin_token


async def seed_brand_business(stack: Stack, admin_token: str, demo: Mapping[str, object]) -> BusinessSeed:
    """The business view's data around the demo's brand and project (``demo``: the demo's summary)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=stack.url("brands"), headers=headers, timeout=30.0) as api:
        seeded = await seed_business(
            api,
            demo_brand_id=str(demo["demo_brand_id"]),
            demo_project_id=str(demo["demo_project_id"]),
            manager=_MANAGER,
            head=_HEAD,
            today=beijing_today(now),
        )
    # Brands whose history predates the platform: their last activity dated back, as an import would.
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.settings.mongodb_url.get_secret_value())
    try:
        for brand_id, days in seeded.dormant:
            at = (now - timedelta(days=days)).replace(microsecond=0)
            await mongo[stack.database][BRANDS].update_one({"_id": brand_id}, {"$set": {"last_activity_at": at}})
    finally:
        await mongo.close()
    return seeded


def serve(state_dir: Path, members: int) -> int:
    """The supervisor: start it all, record it, wait for a signal, stop it all."""
    from scrm_dev.demo import play_scenario, print_summary
    from scrm_dev.launcher import ProcessFailed
    from scrm_dev.stack import local_stack
    from shared.localinfra import InfraError
    from shared.observability import configure_logging
    from shared.settings import ServiceSettings, SettingsError, load_settings

    paths = UpPaths(state_dir)
    console = Console()
    state: dict[str, Any] = {"supervisor_pid": os.getpid(), "status": "starting", "phase": "starting"}
    paths.write(state)
    for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(handled, _on_signal)

    def phase(text: str, **more: Any) -> None:
        state.update(phase=text, **more)
        paths.write(state)

    try:
        settings = load_settings(ServiceSettings)
        configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
        phase("starting the infrastructure and every service")
        with local_stack(console, settings, state_dir, "up", default_ports=True) as stack:
            phase(
                "loading the demo's data",
                urls={name: process.url for name, process in stack.processes.items()},
                console_url=stack.processes["console"].url if "console" in stack.processes else None,
                pids={name: process.pid for name, process in stack.processes.items()},
                logs=str(stack.logs),
                database=stack.database,
                started_infra=list(stack.started_infra),
                moved_ports=list(stack.moved_ports),
            )
            summary = asyncio.run(play_scenario(console, stack, members=members))
            ok = bool(summary.pop("ok"))
            print_summary(console, summary, ok)
            phase("creating the operators")
            sign_ins, admin_token = asyncio.run(create_operators(stack))
            phase("seeding brands, projects, deals and payments")
            seeded = asyncio.run(seed_brand_business(stack, admin_token, summary))
            console.print(
                f"business view: {seeded.brands} brands, {seeded.projects} projects, {seeded.deals} deals, "
                f"{seeded.payments} payments (a team: {_HEAD} heads {_MANAGER})"
            )
            phase("up", status="ready", demo_ok=ok, sign_ins=[asdict(s) for s in sign_ins])
            console.print("[green]ready[/green]; waiting for scrm down")
            # A process that exits (a worker whose consumer stalled after a broker restart exits for
            # this) is started again, on the same port, with back-off.
            supervisor = Supervisor(lambda: list(stack.processes.values()), on_restart=_restarted(console))
            supervisor.start()
            try:
                for _ in _watch(stack, supervisor):
                    state["exited"] = [name for name, process in stack.processes.items() if not process.running()]
                    state["restarts"] = dict(supervisor.restarts)
                    state["pids"] = {name: process.pid for name, process in stack.processes.items()}
                    paths.write(state)
            finally:
                supervisor.stop()  # before the stack stops the processes, or it would start them again
    except _Stopped:
        console.print("stopped on request")
    except (InfraError, ProcessFailed, SettingsError, OSError) as exc:
        console.print(f"[red]failed:[/red] {escape(str(exc))}")
        paths.write(state | {"status": "failed", "error": str(exc), "pids": {}, "started_infra": []})
        return 1
    paths.clear()
    return 0


def _watch(stack: Stack, supervisor: Supervisor, every: float = 1.0) -> Iterator[None]:
    """Forever (until a signal): yields whenever a process is seen to have exited or was restarted."""
    exited: set[str] = set()
    restarts: dict[str, int] = {}
    while True:
        time.sleep(every)
        now = {name for name, process in stack.processes.items() if not process.running()}
        if now != exited or supervisor.restarts != restarts:
            exited, restarts = now, dict(supervisor.restarts)
            yield


def _restarted(console: Console) -> Callable[[ServiceProcess, int | None], None]:
    def report(process: ServiceProcess, code: int | None) -> None:
        console.print(f"[yellow]![/yellow] {process.name} exited (code {code}); started again (pid {process.pid})")

    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m {_MARKER}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="the supervisor scrm up starts")
    serve_parser.add_argument("state_dir", type=Path)
    serve_parser.add_argument("--members", type=int, default=40)
    args = parser.parse_args(argv)
    return serve(args.state_dir, args.members)


if __name__ == "__main__":
    sys.exit(main())
