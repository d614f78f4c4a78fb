"""Every API's ``/docs`` works offline: Swagger UI and ReDoc come from the app, never from a CDN."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scrm.configuration_docs import settings_classes
from scrm.processes import PROCESSES
from shared.identity import resolve_identity
from shared.web._docs import ASSETS_PATH

ASSETS = Path(__file__).parents[3] / "shared" / "web" / "docs_assets"
HTTP = [name for name, spec in PROCESSES.items() if spec.kind == "http" and name != "console"]


def _client(process: str) -> TestClient:
    spec = PROCESSES[process]
    cls = next(cls for cls, specs in settings_classes().items() if spec in specs)
    module, _, name = spec.factory.partition(":")
    app = getattr(__import__(module, fromlist=[name]), name)(cls())
    # The page itself is what is checked here; who may see it is test_web_identity's business.
    app.dependency_overrides[resolve_identity] = lambda: None
    return TestClient(app)  # no lifespan: nothing is connected, the pages need nothing


def _linked(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"url: '([^']+)'", page)


@pytest.mark.parametrize("process", HTTP)
def test_the_docs_page_loads_nothing_from_elsewhere(process: str) -> None:
    client = _client(process)
    page = client.get("/docs")
    assert page.status_code == 200, process
    links = _linked(page.text)
    assert links and all(link.startswith("/") for link in links), links
    assert "cdn." not in page.text and "fonts.googleapis" not in page.text
    for link in links:
        if link.startswith(ASSETS_PATH):
            asset = client.get(link)
            assert asset.status_code == 200, link
            assert asset.headers["cache-control"].startswith("public")


def test_redoc_is_offline_too() -> None:
    client = _client("gateway")
    page = client.get("/redoc")
    assert page.status_code == 200
    assert all(link.startswith("/") for link in _linked(page.text))
    assert "fonts.googleapis" not in page.text
    script = re.search(r'<script src="([^"]+)"', page.text)
    assert script and client.get(script[1]).status_code == 200


def test_only_the_vendored_files_are_served() -> None:
    client = _client("gateway")
    assert client.get(f"{ASSETS_PATH}/manifest.json").status_code == 404
    assert client.get(f"{ASSETS_PATH}/..%2F_docs.py").status_code == 404
    assert client.get(f"{ASSETS_PATH}/nope.js").status_code == 404


def test_vendored_files_match_their_recorded_checksums() -> None:
    manifest = json.loads((ASSETS / "manifest.json").read_text())["files"]
    assert set(manifest) == {p.name for p in ASSETS.iterdir() if p.suffix in {".js", ".css", ".png"}}
    for name, entry in manifest.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert (ASSETS / entry["license"].split("(")[1].rstrip(")")).exists()


def _strings(node: object, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) in an OpenAPI document."""
    if isinstance(node, dict):
        return [found for k, v in node.items() for found in _strings(v, str(k))]
    if isinstance(node, list):
        return [found for v in node for found in _strings(v, key)]
    return [(key, node)] if isinstance(node, str) else []


@pytest.mark.parametrize("process", HTTP)
def test_the_api_map_names_only_schemas_it_has(process: str) -> None:
    with warnings.catch_warnings():
        # The simulator answers every /cgi-bin/{api} method with one function: duplicate operation ids.
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        document = _client(process).app.openapi()  # type: ignore[attr-defined]
    schemas = set(document.get("components", {}).get("schemas", {}))
    refs = {value.rsplit("/", 1)[1] for key, value in _strings(document) if key == "$ref"}
    assert refs <= schemas, refs - schemas
    texts = " ".join(value for key, value in _strings(document) if key in {"description", "summary"})
    named = set(re.findall(r"\b[A-Z][A-Za-z]+(?:Body|Out|In)\b", texts))
    assert named <= schemas, f"descriptions name schemas that do not exist: {sorted(named - schemas)}"
