from __future__ import annotations

import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Ports this process handed out already: a stack asks for a dozen before any of them is bound, and a
#: random pick may repeat.
_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, outside the OS's ephemeral range.

    A port the OS hands out for ``bind(0)`` comes from the ephemeral range, where the process that is
    to listen on it may first take it for one of its own outgoing connections (Kafka, MongoDB) and
    then fail to bind ("address already in use"). Ports below the range are never handed out that way.
    """
    low, high = _ephemeral_range()
    candidates = [port for port in range(10_000, 65_536) if not low <= port <= high]
    for _ in range(200):
        port = secrets.choice(candidates)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def parse_host_port(value: str, default_port: int) -> tuple[str, int]:
    """``host:port`` from a bootstrap list (first server) or a ``mongodb://`` URL (first host)."""
    if "://" in value:
        netloc = urlsplit(value).netloc.rsplit("@", 1)[-1]
        value = netloc.split(",")[0]
    else:
        value = value.split(",")[0].strip()
    host, sep, port = value.rpartition(":")
    if not sep:
        return value or "127.0.0.1", default_port
    return host or "127.0.0.1", int(port)


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
