"""Held notices fall back to the account's service-notice template (issue 21 item 4), over the in-memory
records: a notice held for a closed window goes out as the template once held for the account's
``hold``, with its fields rendered and cut to what WeChat shows; once only (claimed first), never for an
account without a template, and not when the member's interaction sent it meanwhile."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryHeldNotices,
    InMemoryNotices,
    InMemoryRewardPools,
)
from services.campaigns.domain.notice_templates import NoticeTemplate, render_fields
from services.campaigns.domain.participants import Notice
from services.campaigns.service_layer import notices
from services.campaigns.service_layer.notice_fallback import fall_back, templates_of
from services.campaigns.settings import NoticeTemplateSetting
from shared.wechat_client import CustomMessage, NotFollower, OutsideCustomerServiceWindow, TransportError

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Beijing
TEMPLATE = NoticeTemplate(
    "tpl_progress", {"thing1": "{notice}", "time2": "{time}", "phrase3": "{kind}"}, hold=timedelta(hours=2)
)


class Platform:
    """A member's window closed (customer-service messages refused); templates taken, or refused."""

    def __init__(self, refuse_template: Exception | None = None) -> None:
        self.custom: list[str] = []
        self.templates: list[tuple[str, str, dict[str, str], str | None]] = []
        self.refuse_template = refuse_template
        self.window_open = False

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None:
        if not self.window_open:
            raise OutsideCustomerServiceWindow(45015, "response out of time limit", "message/custom/send")
        self.custom.append(openid)

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        if self.refuse_template is not None:
            raise self.refuse_template
        self.templates.append((openid, template_id, dict(data), client_msg_id))
        return 1000 + len(self.templates)


async def _held(records: CampaignRecords, platform: Platform, *openids: str, appid: str = "wx1") -> None:
    store = InMemoryNotices(records)
    queued = []
    for openid in openids:
        notice = Notice(
            f"n_{openid}", "c1", appid, openid, "progress", "已邀请 2/3 位好友，再邀请 1 位即可领取奖励", NOW
        )
        records.notices[notice.id] = dict(notice.__dict__)
        queued.append(notice)
    delivered = await notices.deliver(
        queued,
        store=store,
        codes=InMemoryRewardPools(),
        rewards=store,
        messenger_for=lambda _: platform,
        now=NOW,
    )
    assert delivered.held == len(openids)


async def test_a_notice_held_long_enough_goes_out_as_the_template_once() -> None:
    records, platform = CampaignRecords(), Platform()
    await _held(records, platform, "o1")
    held = InMemoryHeldNotices(records)
    templates = {"wx1": TEMPLATE}
    assert await fall_back(held, templates, lambda _: platform, NOW + timedelta(hours=1)) == 0  # not yet
    later = NOW + timedelta(hours=2)
    assert await fall_back(held, templates, lambda _: platform, later) == 1
    [(openid, template_id, data, client_msg_id)] = platform.templates
    assert (openid, template_id, client_msg_id) == ("o1", "tpl_progress", "notice:n_o1")
    assert data == {
        "thing1": "已邀请 2/3 位好友，再邀请 1 位…",
        "time2": "2026-11-23 19:00",
        "phrase3": "progress",
    }
    doc = records.notices["n_o1"]
    assert (doc["status"], doc["channel"], doc["msgid"]) == ("sent", "template", 1001)
    assert await fall_back(held, templates, lambda _: platform, later + timedelta(hours=5)) == 0
    assert await InMemoryNotices(records).held_for("wx1", "o1") == []  # the next interaction sends nothing more
    assert len(platform.templates) == 1


async def test_an_account_without_a_template_keeps_waiting_for_the_interaction() -> None:
    records, platform = CampaignRecords(), Platform()
    await _held(records, platform, "o1", appid="wx2")
    assert (
        await fall_back(InMemoryHeldNotices(records), {"wx1": TEMPLATE}, lambda _: platform, NOW + timedelta(days=9))
        == 0
    )
    assert records.notices["n_o1"]["status"] == "held"


async def test_a_notice_the_member_s_interaction_sent_is_not_sent_again_as_a_template() -> None:
    records, platform = CampaignRecords(), Platform()
    await _held(records, platform, "o1")
    platform.window_open = True
    store = InMemoryNotices(records)
    sent = await notices.deliver(
        await store.held_for("wx1", "o1"),
        store=store,
        codes=InMemoryRewardPools(),
        rewards=store,
        messenger_for=lambda _: platform,
        now=NOW,
    )
    assert sent.sent == 1
    assert (
        await fall_back(InMemoryHeldNotices(records), {"wx1": TEMPLATE}, lambda _: platform, NOW + timedelta(days=1))
        == 0
    )
    assert platform.templates == []


async def test_a_member_who_left_is_dropped_and_a_refusal_keeps_it_held_for_later() -> None:
    records, platform = CampaignRecords(), Platform(NotFollower(43004, "require subscribe", "message/template/send"))
    await _held(records, platform, "o_gone")
    held = InMemoryHeldNotices(records)
    assert await fall_back(held, {"wx1": TEMPLATE}, lambda _: platform, NOW + timedelta(hours=3)) == 0
    assert records.notices["n_o_gone"]["status"] == "dropped"

    records, platform = CampaignRecords(), Platform(TransportError("message/template/send", "connection reset"))
    await _held(records, platform, "o_busy")
    held = InMemoryHeldNotices(records)
    assert await fall_back(held, {"wx1": TEMPLATE}, lambda _: platform, NOW + timedelta(hours=3)) == 0
    doc = records.notices["n_o_busy"]
    assert doc["status"] == "held" and doc["held_at"] == NOW + timedelta(hours=3)  # tried again after the hold
    platform.refuse_template = None
    assert await fall_back(held, {"wx1": TEMPLATE}, lambda _: platform, NOW + timedelta(hours=5)) == 1


def test_the_setting_refuses_retired_fields_and_unknown_names() -> None:
    good = NoticeTemplateSetting(template_id="tpl", fields={"thing1": "{notice}"}, hold_minutes=30)
    assert templates_of({"wx1": good})["wx1"].hold == timedelta(minutes=30)
    with pytest.raises(ValidationError, match="no longer shown"):
        NoticeTemplateSetting(template_id="tpl", fields={"remark": "{notice}"})
    with pytest.raises(ValidationError, match="only"):
        NoticeTemplateSetting(template_id="tpl", fields={"thing1": "{code}"})
    assert render_fields(TEMPLATE, "短", "tier", NOW)["thing1"] == "短"
