"""``scrm up`` and ``scrm down`` as a user runs them: everything up with the demo's data and sign-ins, kept
running after the command returns, then everything stopped and every port released."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def _signed_in(urls: dict[str, str], sign_in: dict[str, str]) -> Iterator[httpx.Client]:
    """A client holding ``sign_in``'s session."""
    with httpx.Client(timeout=10) as client:
        credentials = {"name": sign_in["name"], "password": sign_in["password"]}
        login = client.post(f"{urls['identity-api']}/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        yield client


def _business_view_is_not_empty(urls: dict[str, str], sign_ins: dict[str, dict[str, str]]) -> None:
    """The head sees the team's business: brands in every tier, deals along the funnel, payments due and
    overdue, a renewal coming, and the demo's push delivered for the project the manager now owns."""
    assert (sign_ins["manager"]["role"], sign_ins["manager"]["account"]) == ("account_manager", "*")
    assert (sign_ins["head"]["role"], sign_ins["head"]["account"]) == ("sales_head", "*")
    with _signed_in(urls, sign_ins["head"]) as head:
        business = head.get(f"{urls['brands']}/business")
        assert business.status_code == 200, business.text
        view = business.json()
        assert view["tiers"] == {"A": 1, "B": 1, "C": 2}
        stages = {step["stage"]: step["count"] for step in view["funnel"]}
        assert stages == {"lead": 1, "proposal": 1, "signed": 1, "delivering": 1, "renewed": 1, "lost": 1}
        assert view["payments"]["received_fen"] + view["payments"]["due_fen"] > 0
        assert view["payments"]["overdue_fen"] == 30_000_00 and len(view["payments"]["overdue"]) == 1
        # Ending within the renewal window: the quarter's project (and those ending with this month).
        assert "早教玩具 季度推送" in [p["name"] for p in view["renewals"]["projects"]]
        names = view["names"]
        managers = {names.get(row["manager_id"]): row for row in view["managers"]}
        assert {"manager", "head"} <= set(managers)
        assert managers["manager"]["delivered"] >= 1  # the demo's push, for the project handed over to them
        assert [team["name"] for team in view["teams"]] == ["华东母婴组"]
        # The brand whose last activity predates the platform is flagged for hand-over.
        assert [row["name"] for row in view["inactive"]] == ["安睡宝寝具"]
    with _signed_in(urls, sign_ins["manager"]) as manager:
        brands = manager.get(f"{urls['brands']}/brands").json()["items"]
        assert sorted(b["name"] for b in brands) == sorted(["小象奶粉 (demo)", "暖芽纸尿裤", "安睡宝寝具"])


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
            assert set(sign_ins) == {"admin", "ops", "reviewer", "pm", "analyst", "manager", "head"}
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
        _business_view_is_not_empty(urls, sign_ins)
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
