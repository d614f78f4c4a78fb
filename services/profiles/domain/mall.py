"""What mall (shop) behaviour says about a member. Pure: an event and the taxonomy in, effects out.

Views hint, carts suggest, orders show; a refund takes back what its order gave (interest and spend).
Orders in categories tied to an age (newborn diapers, stage-1 formula) also suggest the baby's age:
an *inferred* birthday, which any declared date overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.maternal_infant import Taxonomy

__all__ = [
    "MallEffects",
    "MallEvent",
    "MallEventKind",
    "UnknownCategory",
    "interpret",
]

#: How strongly each kind of event signals interest, times the category's own weight.
_SIGNAL = {"view": 0.2, "add_to_cart": 0.6, "order": 1.0, "refund": -1.0}


class MallEventKind(StrEnum):
    VIEW = "view"
    ADD_TO_CART = "add_to_cart"
    ORDER = "order"
    REFUND = "refund"


class UnknownCategory(ValueError):
    def __init__(self, category: str) -> None:
        super().__init__(f"category {category!r} is not mapped in the taxonomy")
        self.category = category


@dataclass(frozen=True)
class MallEvent:
    """One shop event for a member. ``amount_fen`` (orders and refunds) is in fen, as shops send it."""

    event_id: str
    kind: MallEventKind
    category: str
    at: datetime
    amount_fen: int = 0


@dataclass(frozen=True)
class MallEffects:
    interests: Mapping[str, float]
    purchase: str | None
    #: Spend change for the event's month, in fen (negative for refunds).
    spend_fen: int
    #: A birthday the order suggests (about this date), or None.
    inferred_birthday: date | None


def interpret(event: MallEvent, taxonomy: Taxonomy) -> MallEffects:
    mapping = taxonomy.category(event.category)
    if mapping is None:
        raise UnknownCategory(event.category)
    signal = _SIGNAL[event.kind.value]
    interests = {code: round(weight * signal, 6) for code, weight in mapping.interests.items()}
    ordered = event.kind is MallEventKind.ORDER
    spend = event.amount_fen if ordered else -event.amount_fen if event.kind is MallEventKind.REFUND else 0
    birthday = None
    if ordered and mapping.baby_age_months is not None:
        birthday = (event.at - timedelta(days=round(30.44 * mapping.baby_age_months))).date()
    return MallEffects(interests, mapping.purchase if ordered else None, spend, birthday)
