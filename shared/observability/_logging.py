from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from shared.settings import LogFormat, ServiceSettings

_SENSITIVE_PARTS = ("secret", "token", "password", "aes_key", "mongodb_url", "authorization", "cookie")


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor that masks values whose key names a secret.

    Settings already keep secrets in ``SecretStr``; this catches the ones that travel as plain
    strings (a token in an API response, a header) if somebody logs them by mistake.
    """
    for key in list(event_dict):
        if any(part in key.lower() for part in _SENSITIVE_PARTS):
            event_dict[key] = "***"
    return event_dict


def configure_logging(settings: ServiceSettings) -> None:
    """Route stdlib and structlog logging through one renderer. Call once, at process start-up."""
    fmt = settings.log_format
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.CONSOLE if settings.is_development else LogFormat.JSON
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if fmt is LogFormat.JSON else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    structlog.contextvars.bind_contextvars(service=settings.service_name)
    # Per-request access lines are metrics' job; keep warnings from the noisy libraries.
    for noisy in ("uvicorn.access", "aiokafka", "kafka", "pymongo", "faust", "mode", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _identity(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event_dict


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def member_ref(openid: str) -> str:
    """How a log line names a member: ``m:`` and the first 16 hex digits of the openid's SHA-256.

    Logs leave the platform (aggregators, tickets) and an openid is personal data; the reference is
    stable, so ops find every line about one member (``printf %s OPENID | sha256sum``) without
    logs spelling the openid out.
    """
    return "m:" + hashlib.sha256(openid.encode()).hexdigest()[:16]
