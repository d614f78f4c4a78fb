"""Load generation for ``scrm bench``: wrk for peak throughput, an open-loop client for latency.

wrk (C, keep-alive, closed loop) finds the peak a single process sustains without the load
generator being the bottleneck. Latency at a given rate is measured open-loop: requests are sent on
a fixed schedule and timed from when they were due, so a slow server cannot hide its queueing
(coordinated omission).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_WRK_SCRIPT = r"""
local requests = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      local tab = string.find(line, "\t", 1, true)
      table.insert(requests, {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)})
    end
    i = i + 1
  end
end

function request()
  counter = counter + 1
  local r = requests[((counter - 1) % #requests) + 1]
  return wrk.format("POST", r[1], {["Content-Type"] = "text/xml"}, r[2])
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def write_requests(path: Path, requests: list[tuple[str, bytes]]) -> None:
    """One request per line: ``path?query<TAB>body`` (bodies are single-line XML)."""
    with path.open("wb") as handle:
        for target, body in requests:
            if b"\n" in body or b"\t" in body:
                raise ValueError("request bodies must be single-line")
            handle.write(target.encode() + b"\t" + body + b"\n")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    """A wrk latency (``812.00us``, ``1.20ms``, ``2.00s``, ``1.50m``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _WRK_UNITS_MS[match.group(2)]


def run_wrk(
    base_url: str, request_file: Path, *, seconds: int, connections: int, threads: int = 2, cpus: str | None = None
) -> LoadResult:
    """``cpus`` (taskset's list, "1" or "1-3") keeps wrk off the server's core."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-s", script.name, base_url, "--", str(request_file), str(threads),
    ]  # fmt: skip
    if cpus is not None and shutil.which("taskset"):
        command = ["taskset", "-c", cpus, *command]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    Path(script.name).unlink()
    return parse_wrk(output)


def parse_wrk(output: str) -> LoadResult:
    """The numbers of ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    # Anchored: a thread-stats line can end in "...50%" too (its +/- Stdev column).
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(rps, p50, p99, total, errors)


async def open_loop(
    base_url: str, requests: list[tuple[str, bytes]], *, rate: float, connections: int = 16
) -> LoadResult:
    """Send ``requests`` at ``rate`` per second over keep-alive connections; latency from due time."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (item := await queue.get()) is not None:
                due, raw = item
                writer.write(raw)
                await writer.drain()
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - due) * 1000)
                if b" 200 " not in status_line:
                    errors += 1
        finally:
            writer.close()

    def raw_request(target: str, body: bytes) -> bytes:
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    prepared = [raw_request(target, body) for target, body in requests]
    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    started = time.perf_counter()
    interval = 1.0 / rate
    for i, raw in enumerate(prepared):
        due = started + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, raw))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        requests_per_second=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2],
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        requests=len(latencies),
        errors=errors,
    )
