from __future__ import annotations

import json

import pytest

from services.gateway.settings import GatewaySettings
from services.segments.settings import SegmentsSettings
from shared.settings import Environment, ServiceSettings, SettingsError, load_settings


def account(**overrides: str) -> dict[str, str]:
    return {"appid": "wx1", "token": "tok-123", "encoding_aes_key": "k" * 43, "secret": "s3cr3t"} | overrides


def test_defaults_point_at_local_infrastructure() -> None:
    settings = ServiceSettings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.mongodb_url.get_secret_value() == "mongodb://127.0.0.1:27017/"


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://mongo:27017/?replicaSet=rs0")
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert "replicaSet=rs0" in settings.mongodb_url.get_secret_value()


@pytest.mark.parametrize("servers", ["kafka", "kafka:", ":9092", "kafka:abc"])
def test_refuses_malformed_bootstrap_servers(servers: str) -> None:
    with pytest.raises(SettingsError, match="kafka_bootstrap_servers"):
        load_settings(ServiceSettings, kafka_bootstrap_servers=servers)


def test_refuses_non_mongodb_url() -> None:
    with pytest.raises(SettingsError, match="mongodb_url"):
        load_settings(ServiceSettings, mongodb_url="postgres://x")


def test_mongodb_password_never_shows() -> None:
    settings = ServiceSettings(mongodb_url="mongodb://app:hunter2@db:27017/")
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in json.dumps(settings.safe_summary())
    assert settings.safe_summary()["mongodb_url"] == "mongodb://app:***@db:27017/"


def test_wechat_accounts_from_json_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_ACCOUNTS", json.dumps([account(), account(appid="wx2")]))
    settings = GatewaySettings()
    assert [a.appid for a in settings.wechat_accounts] == ["wx1", "wx2"]
    assert settings.wechat_accounts[0].token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(settings)


def test_wechat_accounts_refuse_bad_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_ACCOUNTS", "[{not json")
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings(GatewaySettings)


def test_wechat_accounts_refuse_unknown_fields_and_duplicates() -> None:
    with pytest.raises(SettingsError, match=r"wechat_accounts.0.secrett: Extra inputs"):
        load_settings(GatewaySettings, wechat_accounts=[account(secrett="x")])
    with pytest.raises(SettingsError, match="twice"):
        load_settings(GatewaySettings, wechat_accounts=[account(), account()])


@pytest.mark.parametrize("environment", ["test", "production"])
def test_placeholder_secrets_refused_outside_development(environment: str) -> None:
    with pytest.raises(SettingsError, match=r"wechat_accounts\[wx1\]\.secret holds a placeholder"):
        load_settings(GatewaySettings, environment=environment, wechat_accounts=[account(secret="changethis")])


def test_placeholder_secrets_allowed_in_development() -> None:
    settings = load_settings(GatewaySettings, wechat_accounts=[account(secret="changethis")])
    assert settings.wechat_accounts[0].secret.get_secret_value() == "changethis"


def test_settings_errors_do_not_quote_secrets() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            GatewaySettings,
            environment="production",
            wechat_accounts=[account(token="changethis", secret="very-private-value")],
        )
    assert "very-private-value" not in str(caught.value)


def test_log_level_is_validated() -> None:
    assert ServiceSettings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(SettingsError, match="log_level"):
        load_settings(ServiceSettings, log_level="chatty")


@pytest.mark.parametrize("environment", ["test", "production"])
def test_short_secrets_are_refused_outside_development(environment: str) -> None:
    strong = account(token="tokenAbc123", encoding_aes_key="k" * 43, secret="s" * 32)
    assert load_settings(GatewaySettings, environment=environment, wechat_accounts=[strong])
    with pytest.raises(SettingsError, match=r"wechat_accounts\[wx1\]\.secret is shorter than 16"):
        load_settings(GatewaySettings, environment=environment, wechat_accounts=[strong | {"secret": "short"}])
    with pytest.raises(SettingsError, match="CLICK_LINK_SECRET is shorter than 16"):
        load_settings(SegmentsSettings, environment=environment, click_link_secret="only-15-chars!!")
    short = strong | {"secret": "short"}
    assert load_settings(GatewaySettings, environment="development", wechat_accounts=[short])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"token": "has spaces in it"}, "token: 3-32 letters or digits"),
        ({"encoding_aes_key": "k" * 42}, "encoding_aes_key: 43 letters or digits"),
    ],
)
def test_account_keys_must_have_the_platforms_format_in_production(change: dict[str, str], problem: str) -> None:
    strong = account(token="tokenAbc123", encoding_aes_key="k" * 43, secret="s" * 32)
    with pytest.raises(SettingsError, match=problem):
        load_settings(GatewaySettings, environment="production", wechat_accounts=[strong | change])


def test_a_plaintext_account_needs_no_aes_key() -> None:
    plain = account(token="tokenAbc123", encoding_aes_key="none", secret="s" * 32) | {"mode": "plaintext"}
    assert load_settings(GatewaySettings, environment="production", wechat_accounts=[plain])
