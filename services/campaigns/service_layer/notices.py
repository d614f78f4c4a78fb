"""Sending the notices that crediting queued: progress, tier reached (with its coupon code), revoked.

A notice is recorded in the same transaction as the credit it reports, and sent afterwards, so a
crash never loses one and a redelivered event never queues it twice. Sending marks it ``sent``; a
crash between the platform taking the message and the mark can repeat that one message, nothing
else. Customer-service messages need an open window (a member message opens 5 sends in 48 h, a
follow or scan 3 in a minute): a notice that meets a closed window is ``held`` and goes out with the
member's next interaction, which opens a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.campaigns.domain.participants import Notice
from services.campaigns.domain.referrals import render_message
from services.campaigns.service_layer.ports import CodeAllocator, Messenger, NoticeStore, RewardLedger
from shared.wechat_client import (
    CustomerServiceCountExceeded,
    NotFollower,
    OutsideCustomerServiceWindow,
    RecipientUnavailable,
    Text,
)

#: Shown in place of ``{code}`` when the tier's pool has run dry; the grant stays recorded and the
#: review of ``rewards awaiting stock`` in the stats tells ops to top the pool up.
OUT_OF_STOCK = "（券码库存不足，补货后由客服发放）"


@dataclass(frozen=True)
class Delivery:
    sent: int = 0
    held: int = 0
    dropped: int = 0


async def deliver(
    notices: list[Notice],
    *,
    store: NoticeStore,
    codes: CodeAllocator,
    rewards: RewardLedger,
    messenger_for: Callable[[str], Messenger],
    now: datetime,
) -> Delivery:
    """Send ``notices`` rewards first, then in the order they were queued.

    A window allows only a few messages (WeChat: 5 after a member's message), so a reward code must not
    wait behind older progress notices that were held with it."""
    sent = held = dropped = 0
    for notice in sorted(notices, key=lambda n: (not n.kind.startswith("tier-"), n.created_at, n.id)):
        text = notice.text
        if notice.reward_id is not None and notice.reward_pool is not None:
            # The grant key makes allocation idempotent: a retried delivery gets the same code.
            code = await codes.allocate(notice.campaign_id, notice.reward_pool, notice.reward_id)
            await rewards.record_code(notice.reward_id, code, now)
            text = render_message(text, code=code if code is not None else OUT_OF_STOCK)
        try:
            await messenger_for(notice.appid).send_custom_message(notice.openid, Text(content=text))
        except (OutsideCustomerServiceWindow, CustomerServiceCountExceeded):
            await store.mark(notice, "held", now, text=text)
            held += 1
            continue
        except (NotFollower, RecipientUnavailable):
            await store.mark(notice, "dropped", now, text=text)
            dropped += 1
            continue
        await store.mark(notice, "sent", now, text=text)
        sent += 1
    return Delivery(sent, held, dropped)
