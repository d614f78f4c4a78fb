"""`scrm infra` semantics: up is idempotent, down stops only what it started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.localinfra import InfraStartFailed, LocalInfrastructure, free_port
from tests.conftest import Infra

pytestmark = pytest.mark.integration


def test_up_reuses_servers_that_already_answer(infra: Infra, tmp_path: Path) -> None:
    kafka_host, kafka_port = infra.kafka.rsplit(":", 1)
    mongo_port = int(infra.mongodb_url.rsplit(":", 1)[1].strip("/"))
    other = LocalInfrastructure(tmp_path, kafka=(kafka_host, int(kafka_port)), mongodb=("127.0.0.1", mongo_port))
    status = other.up()
    assert status.healthy and status.started == ()
    assert not status.kafka.running  # answering, but not ours
    assert other.down() == []  # never stops what it did not start


def test_up_status_down_cycle(tmp_path: Path) -> None:
    local = LocalInfrastructure(
        tmp_path, kafka=("127.0.0.1", free_port()), mongodb=("127.0.0.1", free_port()), persistent=False
    )
    try:
        first = local.up()
        assert first.healthy and set(first.started) == {"kafka", "mongodb"}
        assert first.kafka.pid and first.mongodb.pid
        again = local.up()
        assert again.started == () and again.kafka.pid == first.kafka.pid
        assert (tmp_path / "logs" / "kafka.log").exists()
    finally:
        stopped = local.down()
    assert sorted(stopped) == ["kafka", "mongodb"]
    after = local.status()
    assert not after.kafka.answering and not after.mongodb.answering


def test_a_port_held_by_something_else_is_reported(tmp_path: Path) -> None:
    port = free_port()
    squatter = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    try:
        local = LocalInfrastructure(tmp_path, kafka=("127.0.0.1", port), mongodb=("127.0.0.1", free_port()))
        for _ in range(50):
            if local.status().kafka.answering or _listening(port):
                break
        with pytest.raises(InfraStartFailed, match="does not speak the kafka protocol"):
            local.up(timeout=10)
    finally:
        squatter.terminate()
        squatter.wait()
        local.down()


def _listening(port: int) -> bool:
    import socket
    import time

    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return True
    time.sleep(0.1)
    return False
