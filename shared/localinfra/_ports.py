from __future__ import annotations

import socket
from urllib.parse import urlsplit


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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
