"""Protocol-level readiness probes: an open port is not enough, the server must answer requests."""

from __future__ import annotations

import socket
import struct

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send a Kafka ApiVersions (v0) request and check for a well-formed, error-free reply."""
    client_id = b"scrm-probe"
    correlation_id = 7
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _read_exactly(sock, 10)
    except OSError:
        return False
    if header is None:
        return False
    _, got_correlation, error_code = struct.unpack(">iih", header)
    return bool(got_correlation == correlation_id and error_code == 0)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def mongodb_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    ms = int(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        host, port, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, directConnection=True
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True
