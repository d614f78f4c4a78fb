"""Public and operator surfaces apart: a deployment exposes the public processes and keeps the operator
APIs internal, so no public route may live in an operator app and no operator route in a public app.

Walks every HTTP process of the registry, from each app's own route table (``app.openapi()``: FastAPI
includes routers lazily), so a route added to the wrong router or a new process cannot be forgotten.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from fastapi import FastAPI

from scrm import processes
from scrm.processes import PROCESSES
from shared.settings import load_settings
from tests.accounts import account

#: Reached by the outside world: the WeChat platform, members' browsers, the mall.
PUBLIC_PROCESSES = frozenset({"gateway", "profiles-public", "segments-public"})
#: The local WeChat platform stand-in: neither surface of the product.
NOT_PRODUCT = frozenset({"wechat-sim"})
OPERATOR_PROCESSES = frozenset(
    name for name, spec in PROCESSES.items() if spec.kind == "http" and name not in PUBLIC_PROCESSES | NOT_PRODUCT
)

#: What a public route looks like: the webhook, the H5 pages, the mall webhook, the click redirect.
PUBLIC_PATH = re.compile(r"^/(wechat/|h5/|events/mall(/|$)|r/)")
#: Instrumentation, on every app.
HEALTH = frozenset({"/healthz", "/readyz", "/metrics"})


@cache
def _paths(name: str) -> frozenset[str]:
    spec = PROCESSES[name]
    settings_class = processes._resolve(spec.settings)
    fields = settings_class.model_fields
    extra = {"wechat_accounts": [account("wx1")]} if "wechat_accounts" in fields else {}
    app: FastAPI = processes._resolve(spec.factory)(load_settings(settings_class, **extra))
    return frozenset(app.openapi()["paths"]) - HEALTH


def test_the_registry_has_both_surfaces() -> None:
    assert set(PROCESSES) >= PUBLIC_PROCESSES
    assert {"profiles-api", "segments-api", "campaigns-api", "members-api", "identity-api"} <= OPERATOR_PROCESSES


@pytest.mark.parametrize("name", sorted(PUBLIC_PROCESSES))
def test_a_public_app_serves_public_routes_only(name: str) -> None:
    paths = _paths(name)
    assert paths, name
    assert sorted(p for p in paths if not PUBLIC_PATH.match(p)) == [], name


@pytest.mark.parametrize("name", sorted(OPERATOR_PROCESSES))
def test_an_operator_app_serves_no_public_route(name: str) -> None:
    paths = _paths(name)
    assert paths, name
    assert sorted(p for p in paths if PUBLIC_PATH.match(p)) == [], name
    for public in PUBLIC_PROCESSES:
        assert paths.isdisjoint(_paths(public)), (name, public)


def test_each_public_route_of_a_service_moved_to_its_public_process() -> None:
    assert {p for p in _paths("profiles-public") if p.startswith("/events/mall")} == {
        "/events/mall",
        "/events/mall/bulk",
    }
    assert any(p.startswith("/h5/") for p in _paths("profiles-public"))
    assert _paths("segments-public") == {"/r/{token}"}
    assert any(p.startswith("/accounts/") for p in _paths("profiles-api"))
    assert any(p.startswith("/accounts/") for p in _paths("segments-api"))


ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", sorted(PUBLIC_PROCESSES | OPERATOR_PROCESSES))
def test_compose_publishes_operator_ports_on_loopback_only(name: str) -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    port = PROCESSES[name].default_port
    assert f'"run", "{name}", "--host", "0.0.0.0", "--port", "{port}"' in compose
    loopback, everywhere = f'- "127.0.0.1:{port}:{port}"', f'- "{port}:{port}"'
    if name in PUBLIC_PROCESSES:
        assert everywhere in compose and loopback not in compose, name
    else:
        assert loopback in compose and everywhere not in compose, name


@pytest.mark.parametrize("name", sorted(PUBLIC_PROCESSES | OPERATOR_PROCESSES))
def test_kubernetes_runs_each_process_under_its_network_policy(name: str) -> None:
    kubernetes = ROOT / "deploy" / "kubernetes"
    assert f"  - {name}.yaml" in (kubernetes / "kustomization.yaml").read_text()
    assert f'args: ["run", "{name}",' in (kubernetes / f"{name}.yaml").read_text()
    policies = (kubernetes / "network-policies.yaml").read_text().split("---")
    internal = next(p for p in policies if "name: operator-apis-internal" in p)
    public = next(p for p in policies if "name: public-endpoints" in p)
    selected = internal if name in OPERATOR_PROCESSES else public
    other = public if selected is internal else internal
    values = re.compile(r"values: \[([^\]]*)\]")
    assert name in [v.strip() for v in values.findall(selected)[0].split(",")], name
    assert name not in [v.strip() for v in values.findall(other)[0].split(",")], name
