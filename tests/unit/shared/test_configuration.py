"""docs/configuration.md is generated from the settings classes, and `.env.example` starts every process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dotenv import dotenv_values

from scrm.configuration_docs import render_configuration, settings_classes, undocumented
from scrm.processes import PROCESSES
from shared.settings import Environment, ServiceSettings, SettingsError, load_settings
from shared.wechat import AccountsSettings, Mode, WeChatAccount, account_problems
from shared.wechat_client import WeChatApiConfig

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / ".env.example"


def test_docs_configuration_md_is_generated_from_the_settings() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_configuration(), "docs/configuration.md is stale: run `make docs`"


def test_every_setting_has_a_text_for_the_page() -> None:
    assert undocumented() == [], "add a `#:` comment above these fields"


def test_the_page_lists_every_process_and_marks_secrets() -> None:
    page = render_configuration()
    for name in PROCESSES:
        assert f"| `{name}` |" in page
    secrets = [line for line in page.splitlines() if "**secret**" in line]
    assert {line.split("`")[1] for line in secrets} >= {
        "MONGODB_URL",
        "MALL_WEBHOOK_SECRET",
        "H5_LINK_SECRET",
        "CLICK_LINK_SECRET",
    }
    assert str(ROOT) not in page  # no path of this machine


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the file speaks: no variable of this shell, no `.env` of the working folder."""
    names = {name.upper() for cls in settings_classes() for name in cls.model_fields}
    for variable in list(os.environ):
        if variable.upper() in names or variable.upper().split("__")[0] in names:
            monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("process", list(PROCESSES))
def test_env_example_starts_every_process_as_it_is(process: str) -> None:
    spec = PROCESSES[process]
    cls = next(cls for cls, specs in settings_classes().items() if spec in specs)
    settings = cls(_env_file=EXAMPLE)
    assert settings.environment is Environment.DEVELOPMENT
    if isinstance(settings, AccountsSettings):
        assert [account.appid for account in settings.wechat_accounts] == ["wx0000000000000000"]
    if spec.kind == "http":
        # What `scrm run` does next: the app is built from these settings (its lifespan connects later).
        module, _, name = spec.factory.partition(":")
        factory = getattr(__import__(module, fromlist=[name]), name)
        assert factory(settings) is not None


def test_env_example_names_only_settings_some_process_reads() -> None:
    known = {name.upper() for cls in settings_classes() for name in cls.model_fields}
    variables = dotenv_values(EXAMPLE)
    assert variables, "empty .env.example"
    unknown = sorted(v for v in variables if v.split("__")[0] not in known)
    assert unknown == [], f"not read by any process: {unknown}"


def test_env_example_points_the_api_and_its_qr_pictures_at_the_simulator() -> None:
    variables = dotenv_values(EXAMPLE)
    config = WeChatApiConfig(base_url=variables["WECHAT_API__BASE_URL"])
    assert config.qr_image_base_url == "http://127.0.0.1:8200"


def test_qr_pictures_come_from_the_platform_or_from_the_stand_in_that_serves_the_api() -> None:
    assert WeChatApiConfig().qr_image_base_url == "https://mp.weixin.qq.com"
    assert WeChatApiConfig(base_url="https://api.weixin.qq.com").qr_image_base_url == "https://mp.weixin.qq.com"
    assert WeChatApiConfig(base_url="http://127.0.0.1:8200/").qr_image_base_url == "http://127.0.0.1:8200"
    chosen = WeChatApiConfig(base_url="http://127.0.0.1:8200", qr_image_base_url="https://qr.example")
    assert chosen.qr_image_base_url == "https://qr.example"


def _account(**changes: str) -> WeChatAccount:
    fields = {"appid": "wx1", "token": "t0ken", "encoding_aes_key": "k" * 43, "secret": "s" * 20} | changes
    return WeChatAccount.model_validate(fields)


@pytest.mark.parametrize("environment", list(Environment))
@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"appid": "gh_123"}, "appid: expected 'wx'"),
        ({"appid": "wx-1"}, "appid: expected 'wx'"),
        ({"encoding_aes_key": "changethis"}, "encoding_aes_key: 43 letters or digits"),
        ({"encoding_aes_key": "k" * 42}, "encoding_aes_key: 43 letters or digits"),
        ({"previous_encoding_aes_key": "k" * 44}, "previous_encoding_aes_key: 43 letters or digits"),
    ],
)
def test_an_account_is_checked_alike_in_every_environment(
    environment: Environment, changes: dict[str, str], problem: str
) -> None:
    problems = account_problems(_account(**changes), environment)
    assert any(problem in text for text in problems), problems
    assert not account_problems(_account(), Environment.DEVELOPMENT)


def test_a_plaintext_account_needs_no_key_in_any_environment() -> None:
    plain = _account(encoding_aes_key="", mode=Mode.PLAINTEXT.value)
    assert account_problems(plain, Environment.DEVELOPMENT) == []


_HOLDERS = sorted((cls for cls in settings_classes() if issubclass(cls, AccountsSettings)), key=lambda c: c.__name__)


def test_the_services_that_hold_accounts() -> None:
    names = {cls.__name__ for cls in _HOLDERS}
    assert names == {
        "AnalyticsSettings",
        "CampaignsSettings",
        "GatewaySettings",
        "ProfilesSettings",
        "SegmentsSettings",
        "WeChatSimSettings",
    }


@pytest.mark.parametrize("cls", _HOLDERS, ids=lambda cls: cls.__name__)
def test_every_service_that_reads_accounts_refuses_the_same_bad_key(cls: type[ServiceSettings]) -> None:
    bad = [{"appid": "wx1", "token": "t0ken", "encoding_aes_key": "short", "secret": "s" * 20}]
    with pytest.raises(SettingsError, match=r"wechat_accounts\[wx1\]\.encoding_aes_key: 43 letters or digits"):
        load_settings(cls, wechat_accounts=bad)


def test_the_readme_names_every_process_scrm_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in PROCESSES if f"scrm run {name} " not in readme]
    assert missing == [], f"add to the README's CLI list: {missing}"


def test_every_worker_is_named_by_the_processes_that_need_it() -> None:
    workers = {name for name, spec in PROCESSES.items() if spec.kind == "worker"}
    needed = {name for spec in PROCESSES.values() for name in spec.needs}
    assert needed == workers, "each worker does some API's work: say which (ProcessSpec.needs)"
    assert all(spec.without_needs for spec in PROCESSES.values() if spec.needs)
    assert "campaigns-worker" in PROCESSES["campaigns-api"].needs


def test_the_console_names_accounts_by_the_same_appid_shape() -> None:
    from services.console.settings import ConsoleSettings

    assert ConsoleSettings(official_accounts='[{"appid": "wx1"}]').official_accounts[0].appid == "wx1"
    with pytest.raises(ValueError, match="appid"):
        ConsoleSettings(official_accounts='[{"appid": "gh-1"}]')
