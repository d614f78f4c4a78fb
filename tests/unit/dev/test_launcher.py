"""The launcher tells its own listener from another process's on the same port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from scrm_dev.launcher import ServiceProcess, _listening_inodes
from shared.localinfra import free_port


def _inode_of(sock: socket.socket) -> str:
    link = os.readlink(f"/proc/self/fd/{sock.fileno()}")
    return link[len("socket:[") : -1]


def test_the_listening_socket_of_a_port_is_found_in_proc() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert _listening_inodes(port) == {_inode_of(sock)}
    assert _listening_inodes(port) == set()


def test_a_process_whose_port_another_holds_is_not_taken_for_ready(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        process = ServiceProcess("nothing", port, {}, tmp_path / "log")
        # A child that listens on nothing: this test's socket holds the port, not the child.
        process._process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert process.listening() is False
        finally:
            process._process.kill()
            process._process.wait()


def test_free_ports_are_not_handed_out_twice_in_one_process() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
