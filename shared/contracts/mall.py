"""Events from the brand's mall (shop), received by the profiles service's signed webhook."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shared.events import Event

OpenId = Annotated[str, Field(min_length=1, max_length=128)]


class MallEventReceived(Event):
    """A member viewed a product, added one to the cart, ordered or got a refund in the mall.

    ``event_id`` is the shop's own id of the event: resending it changes nothing. Amounts are in fen.
    """

    message_type = "mall.event_received"
    message_version = 1

    mall_event_id: Annotated[str, Field(min_length=1, max_length=128)]
    openid: OpenId
    unionid: Annotated[str | None, Field(max_length=128)] = None
    kind: Literal["view", "add_to_cart", "order", "refund"]
    category: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: AwareDatetime
    amount_fen: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    order_id: Annotated[str | None, Field(max_length=128)] = None
