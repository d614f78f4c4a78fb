"""The push worker's pace per send API: its own ceiling by default, an explicit per-API limit wins."""

from __future__ import annotations

import pytest

from services.segments.bootstrap import SEND_APIS, send_config
from services.segments.settings import SegmentsSettings
from shared.wechat_client import RateLimit, WeChatApiConfig


def test_the_send_apis_get_the_configured_pace_and_other_apis_keep_theirs() -> None:
    config = send_config(SegmentsSettings(environment="development", send_rate_per_second=800))
    for api in SEND_APIS:
        assert config.rate_limit(api).rate == pytest.approx(800.0)
    assert config.rate_limit("message/mass/sendall") == RateLimit(calls=60, period=60.0, burst=1)
    assert config.rate_limit("tags/create") == WeChatApiConfig().default_rate_limit


def test_an_explicit_limit_for_an_api_wins_over_the_pace() -> None:
    slow = RateLimit(calls=100, period=60.0)
    settings = SegmentsSettings(
        environment="development", wechat_api=WeChatApiConfig(rate_limits={"message/template/send": slow})
    )
    config = send_config(settings)
    assert config.rate_limit("message/template/send") == slow
    assert config.rate_limit("message/custom/send").rate == pytest.approx(2_500.0)


def test_placeholder_click_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="CLICK_LINK_SECRET"):
        SegmentsSettings(environment="production", click_link_secret="changethis")
