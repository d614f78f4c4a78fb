from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.observability import configure_logging, get_logger, instrument_app
from shared.settings import ServiceSettings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    # configure_logging quiets some libraries' loggers; give them their levels back as well.
    others = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, previous in others.items():
        logging.getLogger(name).setLevel(previous)
    for name in set(logging.root.manager.loggerDict) - set(others):
        logging.getLogger(name).setLevel(logging.NOTSET)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_production_logs_are_json_with_secrets_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(ServiceSettings(environment="production", service_name="gateway"))
    get_logger("test").info("token fetched", access_token="ACCESS-123", appid="wx1")
    logging.getLogger("stdlib").warning("plain %s", "message")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "token fetched" and lines[0]["access_token"] == "***"
    assert lines[0]["appid"] == "wx1" and lines[0]["service"] == "gateway" and lines[0]["level"] == "info"
    assert lines[1]["event"] == "plain message" and lines[1]["logger"] == "stdlib"


def test_development_logs_are_readable(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(ServiceSettings(environment="development"))
    get_logger("test").info("hello", secret="s3cr3t")
    err = capsys.readouterr().err
    assert "hello" in err and "s3cr3t" not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_readiness_names_the_failing_dependency() -> None:
    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("nope")

    app = FastAPI()
    instrument_app(app, "svc", checks={"kafka": fine, "mongodb": broken})
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"kafka": "ok", "mongodb": "error: ConnectionError"},
    }
