"""Start platform processes as real subprocesses and wait until they are ready (demo and e2e tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx

_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 20.0


class ProcessFailed(RuntimeError):
    pass


_LISTEN = "0A"


def _listening_inodes(port: int) -> set[str] | None:
    """Inodes of the sockets listening on ``port`` (Linux's /proc/net tables), None without them."""
    found: set[str] = set()
    readable = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found if readable else None


def _fd_entries(pid: int) -> list[Path] | None:
    """The entries of ``/proc/<pid>/fd``; None where they cannot be read.

    While a child is still in ``exec`` the kernel briefly refuses to show its descriptors, so a
    refusal is asked again a few times before it counts as "cannot tell"."""
    for attempt in range(5):
        try:
            return list(Path(f"/proc/{pid}/fd").iterdir())
        except PermissionError:
            time.sleep(0.02 * (attempt + 1))
        except OSError:
            return None
    return None


class ServiceProcess:
    """One ``scrm run <name>`` child with its own log file; stops with SIGTERM, then SIGKILL."""

    def __init__(
        self,
        name: str,
        port: int,
        env: dict[str, str],
        log_path: Path,
        host: str = "127.0.0.1",
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        #: The working directory (where a ``.env`` would be read); None: this process's.
        self.cwd = cwd
        self.port = port
        self.host = host
        self.url = f"http://{host}:{port}"
        self._env = env
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scrm",
                    "run",
                    self.name,
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                ],
                env={**os.environ, **self._env},
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """How the last run ended (None while running or never started)."""
        return self._process.poll() if self._process is not None else None

    def wait_ready(self, timeout: float = _READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if not self.running():
                    raise ProcessFailed(f"{self.name} exited early; log {self._log_path}:\n{self.log_tail()}")
                try:
                    # Ready, and the listener is this process: a port taken by another one (which
                    # answers its own /readyz) makes this one fail to bind and exit instead.
                    if client.get(f"{self.url}/readyz").status_code == 200 and self.listening() is not False:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ProcessFailed(f"{self.name} not ready within {timeout:.0f}s:\n{self.log_tail()}")
                time.sleep(0.2)

    def listening(self) -> bool | None:
        """Does this process hold the listening socket on its port? None where /proc cannot tell."""
        if self._process is None:
            return False
        inodes = _listening_inodes(self.port)
        if inodes is None:
            return None
        entries = _fd_entries(self._process.pid)
        if entries is None:
            return None
        links = []
        for entry in entries:
            try:
                links.append(os.readlink(entry))
            except FileNotFoundError:
                continue  # closed between the listing and the read (a starting process closes many)
            except OSError:
                return None
        return any(link.startswith("socket:[") and link[8:-1] in inodes for link in links)

    def stop(self, timeout: float = _STOP_TIMEOUT_S) -> int | None:
        """Stop gracefully; return the exit code (None if it never started)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def kill(self) -> None:
        """Crash it (SIGKILL): for tests of what survives a crashed worker."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Supervisor:
    """Starts again every process of ``processes`` that exits, as a process supervisor would.

    A worker whose consumer stalls (a broker restart) exits by itself for exactly this. Restarts back
    off (``first_delay`` doubling up to ``max_delay``) while a process keeps dying young; one that ran
    for a minute starts over at ``first_delay``. Runs in a thread: ``start``, ``stop``.
    """

    def __init__(
        self,
        processes: Callable[[], Iterable[ServiceProcess]],
        *,
        every: float = 0.5,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        on_restart: Callable[[ServiceProcess, int | None], None] | None = None,
    ) -> None:
        self._processes = processes
        self._every = every
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._on_restart = on_restart
        self.restarts: dict[str, int] = {}
        self._delay: dict[str, float] = {}
        self._down_since: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop restarting (the processes themselves keep running: stopping them is the caller's)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def tick(self, now: float | None = None) -> list[str]:
        """Restart what has exited and waited its delay; the names restarted."""
        now = time.monotonic() if now is None else now
        restarted = []
        for process in self._processes():
            name = process.name
            if process.running():
                self._down_since.pop(name, None)
                if now - self._started_at.get(name, now) > 60:
                    self._delay.pop(name, None)  # it lived: the next failure starts the back-off afresh
                continue
            if process.pid is None:
                continue  # never started: not ours to start
            down = self._down_since.setdefault(name, now)
            delay = self._delay.get(name, self._first_delay)
            if now - down < delay:
                continue
            code = process.returncode
            process.start()
            self._started_at[name] = now
            self._down_since.pop(name, None)
            self._delay[name] = min(self._max_delay, delay * 2)
            self.restarts[name] = self.restarts.get(name, 0) + 1
            restarted.append(name)
            if self._on_restart is not None:
                self._on_restart(process, code)
        return restarted

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self.tick()
