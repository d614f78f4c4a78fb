"""The profiles worker honours ``MALL_NEEDS_DATA_USE``: mall events shape no profile without the consent."""

from __future__ import annotations

from datetime import UTC, datetime

from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.bootstrap import bootstrap
from services.profiles.settings import ProfilesSettings
from shared.contracts import MallEventReceived
from shared.events import Envelope
from tests.accounts import account

APPID = "wx_data_use"
AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def _order(openid: str, event_id: str) -> tuple[Envelope, MallEventReceived]:
    message = MallEventReceived(
        mall_event_id=event_id, openid=openid, kind="order", category="diapers_newborn", occurred_at=AT, amount_fen=990
    )
    return Envelope.wrap(message, appid=APPID, key=openid), message


async def test_a_consent_is_needed_when_the_setting_says_so() -> None:
    for needed in (True, False):
        settings = ProfilesSettings(
            environment="development", wechat_accounts=[account(APPID)], mall_needs_data_use=needed
        )
        async with bootstrap(settings, store=InMemoryProfileStore(), publish=False) as profiles:
            await profiles.handle_batch([_order("o_silent", "e1")])
            profile = await profiles.profiles.get(APPID, "o_silent")
            assert profile is not None
            assert bool(profile.spend_by_month) is (not needed), needed
            assert bool(profile.tags) is (not needed), needed
