"""Ports for local processes come from outside the ephemeral range, where the process's own outgoing
connections could take them before it listens."""

from __future__ import annotations

import socket

from shared.localinfra import free_port
from shared.localinfra._ports import _ephemeral_range


def test_free_ports_are_bindable_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    for _ in range(50):
        port = free_port()
        assert not low <= port <= high
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_not_handed_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        busy = taken.getsockname()[1]
        assert all(free_port() != busy for _ in range(200))
