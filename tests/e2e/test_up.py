"""``scrm up`` and ``scrm down`` as a user runs them: everything up with the demo's data and sign-ins, kept
running after the command returns, then everything stopped and every port released."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from scrm.processes import PROCESSES
from shared.localinfra import parse_host_port
from tests.conftest import Infra
from tests.e2e.campaign_stack import scrm

pytestmark = pytest.mark.e2e


@pytest.fixture
def members_port_taken() -> Iterator[int]:
    """The members API's usual port, held by someone else (unless someone else holds it already)."""
    port = PROCESSES["members-api"].default_port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            pass  # taken already: just as good
        yield port


def _answers(port: int | None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port or 0), timeout=1):
            return True
    except OSError:
        return False


def _last_json(output: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return answer


def test_up_keeps_everything_running_with_sign_ins_and_down_stops_it_all(
    infra: Infra, tmp_path: Path, members_port_taken: int
) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka, "MONGODB_URL": infra.mongodb_url}
    urls: dict[str, str] = {}
    started = scrm("up", "--json", "--members", "12", env=env, cwd=tmp_path, timeout=600)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        info = _last_json(started.stdout)
        urls = info["urls"]
        assert set(urls) == set(PROCESSES)
        assert f"port {members_port_taken} is taken: members-api listens on" in started.stdout
        assert urlsplit(urls["members-api"]).port != members_port_taken
        with httpx.Client(timeout=10) as client:
            for name, url in urls.items():
                assert client.get(f"{url}/readyz").status_code == 200, name
            assert info["console_url"] == urls["console"]
            assert client.get(f"{urls['console']}/healthz").status_code == 200
            sign_ins = {s["name"]: s for s in info["sign_ins"]}
            assert set(sign_ins) == {"admin", "ops", "reviewer", "pm", "analyst"}
            admin = sign_ins["admin"]
            assert admin["password"] in started.stdout.split("{")[0]  # printed for people too
            login = client.post(
                f"{urls['identity-api']}/auth/login", json={"name": "admin", "password": admin["password"]}
            )
            assert login.status_code == 200, login.text
            assert login.json()["operator"]["grants"] == [{"role": "admin", "appid": "*"}]
            # The same sign-in through the console's form leads to the demo account.
            with httpx.Client(base_url=urls["console"], timeout=10) as browser:
                signed_in = browser.post("/login", data={"name": "admin", "password": admin["password"]})
                assert signed_in.status_code == 303, signed_in.text
                assert "wxdemo0000000001" in browser.get("/", follow_redirects=True).text
            # The demo's data is there: the scenario's members, read with the admin's session.
            counts = client.get(f"{urls['members-api']}/accounts/wxdemo0000000001/member-counts")
            assert counts.status_code == 200 and counts.json()["members"] > 12
        for name in urls:
            assert (Path(info["logs"]) / f"{name}.log").is_file()

        again = scrm("up", "--json", env=env, cwd=tmp_path, timeout=120)
        assert again.returncode == 0 and "already up" in again.stdout
        assert _last_json(again.stdout) == info | {"already_up": True}
    finally:
        stopped = scrm("down", env=env, cwd=tmp_path, timeout=300)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "down:" in stopped.stdout
    released = {name: url for name, url in urls.items() if _answers(urlsplit(url).port)}
    assert released == {}, f"still answering after scrm down: {released}"
    assert not (tmp_path / ".scrm" / "up" / "state.json").exists()
    assert _answers(parse_host_port(infra.kafka, 9092)[1])  # the session's broker: not scrm up's to stop

    nothing = scrm("down", env=env, cwd=tmp_path, timeout=60)
    assert nothing.returncode == 0 and "nothing is up" in nothing.stdout
