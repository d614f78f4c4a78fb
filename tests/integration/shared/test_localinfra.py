"""`scrm infra` semantics: up is idempotent, down stops only what it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

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


def test_a_killed_mongodb_server_keeps_every_commit_it_acknowledged(tmp_path: Path) -> None:
    """SIGKILL while transactions commit, restart: every acknowledged insert is there. Without
    ``--sync-on-commit`` SecantusDB lost the last few (1 to 6 of 300 in 3 s, measured here)."""
    local = LocalInfrastructure(tmp_path, kafka=("127.0.0.1", free_port()), mongodb=("127.0.0.1", free_port()))
    acknowledged: list[int] = []
    try:
        local.up()
        with MongoClient[dict[str, Any]](local.mongodb_url, serverSelectionTimeoutMS=2000) as client:
            collection = client["durability"]["commits"]

            def write() -> None:
                for number in range(100_000):
                    try:
                        with client.start_session() as session, session.start_transaction():
                            collection.insert_one({"_id": number}, session=session)
                    except PyMongoError:
                        return
                    acknowledged.append(number)

            writer = threading.Thread(target=write)
            writer.start()
            time.sleep(2)
            pid = local.status().mongodb.pid
            assert pid is not None
            os.killpg(pid, signal.SIGKILL)
            writer.join(timeout=60)
        local.down(only=["mongodb"])
        local.up()
        with MongoClient[dict[str, Any]](local.mongodb_url, serverSelectionTimeoutMS=5000) as client:
            kept = {doc["_id"] for doc in client["durability"]["commits"].find({}, {"_id": 1})}
    finally:
        local.down()
    assert len(acknowledged) > 20
    assert [number for number in acknowledged if number not in kept] == []
