"""Start platform processes as real subprocesses and wait until they are ready (demo and e2e tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 20.0


class ProcessFailed(RuntimeError):
    pass


class ServiceProcess:
    """One ``scrm run <name>`` child with its own log file; stops with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, port: int, env: dict[str, str], log_path: Path, host: str = "127.0.0.1") -> None:
        self.name = name
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

    def wait_ready(self, timeout: float = _READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if not self.running():
                    raise ProcessFailed(f"{self.name} exited early; log {self._log_path}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ProcessFailed(f"{self.name} not ready within {timeout:.0f}s:\n{self.log_tail()}")
                time.sleep(0.2)

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
