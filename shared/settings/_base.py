from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values that mean "nobody set this yet". Accepted only in development, so a forgotten secret
#: fails the start-up of a test or production process instead of running with a known value.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changethis", "change-me", "changeme", "placeholder", "secret", "dev", "replace_me", "replace-me"}
)


#: Outside development a secret shorter than this is refused: a signing key must not be guessable.
MIN_SECRET_LENGTH = 16


def is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDER_SECRETS


def secret_problem(
    name: str, value: str, environment: Environment, *, min_length: int = MIN_SECRET_LENGTH
) -> str | None:
    """Why ``value`` may not be the secret ``name`` in ``environment``, or None (never quotes the value).

    Development takes anything; tests and production refuse placeholders and short secrets.
    """
    if environment is Environment.DEVELOPMENT:
        return None
    if is_placeholder(value):
        return f"{name} holds a placeholder; set a real value outside development"
    if len(value) < min_length:
        return f"{name} is shorter than {min_length} characters"
    return None


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    AUTO = "auto"  # readable in development, JSON elsewhere
    JSON = "json"
    CONSOLE = "console"


class SettingsError(Exception):
    """Settings are missing or invalid. The message names the fields, never their values."""


S = TypeVar("S", bound="ServiceSettings")


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment (and ``.env``), turning validation errors into one clear,
    secret-free message: pydantic's own text quotes the offending input, which may be a secret."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise SettingsError(f"invalid {cls.__name__}: {problems}") from None


class ServiceSettings(BaseSettings):
    """What every process needs: where Kafka and MongoDB are, and how to log.

    The infrastructure is chosen by URL only (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URL``): the same
    settings run against Apache Kafka and MongoDB in production and the local stand-ins elsewhere.
    ``TOPIC_PREFIX`` and ``MONGODB_DATABASE`` let tests give every case fresh topics and a fresh database.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        validate_default=True,
        env_nested_delimiter="__",
    )

    #: ``development``, ``test`` or ``production``; outside development placeholder secrets and secrets
    #: shorter than 16 characters stop the process.
    environment: Environment = Environment.DEVELOPMENT
    #: The name in logs and metrics; each settings class sets its own (not meant to be set).
    service_name: str = "scrm"
    #: Kafka's bootstrap list, ``host:port[,host:port...]``.
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    #: MongoDB (a replica set: transactions are used). A URL may carry credentials, so it is a secret:
    #: it never appears in logs or reprs.
    mongodb_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/")
    #: The database every collection lives in.
    mongodb_database: str = "scrm"
    #: Prefix of every topic and consumer group (tests give each case its own).
    topic_prefix: str = ""
    #: Consumer-group session timeout. The local broker holds a group join for about half of it and a
    #: dead member costs about 1.5x (measured), so tests and the demo use a few seconds.
    kafka_session_timeout_seconds: float = Field(default=10.0, ge=1.0, le=60.0)
    #: How long a stopping worker waits for the records in its handlers before it cancels them (what
    #: they held is then left for the next consumer, never committed); keep it under the supervisor's
    #: grace period (Kubernetes: 30 s). A rebalance waits at most half the session timeout.
    worker_drain_seconds: float = Field(default=10.0, ge=0.1, le=120.0)
    #: Days a consumer's processed-event claim is kept (TTL): longer than Kafka may keep a record (the
    #: longest topic retention, 30 days, plus 8 for whole-segment deletion; a consumer refuses less),
    #: so no record can be read again after its claim is gone. docs/operations.md, "Retention".
    processed_events_retention_days: int = Field(default=45, ge=8, le=3650)
    #: Days a profile's change history is kept (TTL on the change's date).
    history_retention_days: int = Field(default=730, ge=1, le=36500)
    #: Days push deliveries, clicks and test sends are kept (TTL); push figures are settled on the push.
    deliveries_retention_days: int = Field(default=400, ge=1, le=36500)
    #: Days the operators' audit log, the review trail and refused credits are kept (TTL).
    audit_retention_days: int = Field(default=1095, ge=1, le=36500)
    #: Days a share screenshot's picture is kept once a reviewer decided it (pending ones stay).
    review_image_retention_days: int = Field(default=90, ge=1, le=3650)
    #: DEBUG, INFO, WARNING, ERROR or CRITICAL.
    log_level: str = "INFO"
    #: Request bodies larger than this are refused (413) before parsing, by every HTTP service; routes
    #: that take uploads declare their own, larger limits.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: ``auto`` (readable in development, JSON elsewhere), ``json`` or ``console``.
    log_format: LogFormat = LogFormat.AUTO
    #: Peers (addresses or networks) whose ``X-Forwarded-For`` names the real client (the console, a
    #: reverse proxy): audit entries and sign-in throttling use that address instead of the peer's.
    #: Loopback by default, so the console on the same host does not make operators share one address.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    #: A worker whose consumer group has records waiting but commits no offset for this long is stalled
    #: (a broker restart can leave a consumer failing its commits for ever): readiness fails and the
    #: process exits (code 75) for its supervisor to restart it. 0 turns the watch off. Keep it above
    #: the longest a handler may retry one record.
    worker_stall_seconds: float = Field(default=60.0, ge=0.0, le=3600.0)
    #: How often a worker asks the broker for its group's progress (the stall watch above).
    worker_progress_check_seconds: float = Field(default=5.0, gt=0.0, le=300.0)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {entry!r}") from None
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {server.strip()!r}")
        return value

    @field_validator("mongodb_url")
    @classmethod
    def _check_mongodb_url(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in {"mongodb", "mongodb+srv"}:
            raise ValueError("must be a mongodb:// or mongodb+srv:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        for name, value in self.secret_values():
            problem = secret_problem(name, value, self.environment, min_length=self.min_secret_length(name))
            if problem:
                raise ValueError(problem)
        return self

    def min_secret_length(self, name: str) -> int:
        """The shortest value production accepts for the secret ``name`` (subclasses may relax it for
        secrets whose format a third party fixes)."""
        return MIN_SECRET_LENGTH

    def secret_values(self) -> list[tuple[str, str]]:
        """Every secret this settings object carries, as ``(field, value)``.

        Subclasses with secrets nested in other models (accounts, say) extend this so the placeholder
        check covers them too.
        """
        return [
            (name.upper(), value.get_secret_value())
            for name, value in self
            if isinstance(value, SecretStr) and name != "mongodb_url"
        ]

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    def safe_summary(self) -> dict[str, Any]:
        """The settings as a dict fit for a log line: secrets masked."""
        return self.model_dump(mode="json", exclude={"mongodb_url"}) | {
            "mongodb_url": _mask_url(self.mongodb_url.get_secret_value())
        }


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
