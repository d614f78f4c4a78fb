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

from services.profiles.domain.taxonomy import Taxonomy

__all__ = [
    "SPEND_TIERS",
    "MallEffects",
    "MallEvent",
    "MallEventKind",
    "UnknownCategory",
    "interpret",
    "spend_tier",
]

#: Spend over the last twelve months (yuan) at or above which a member is in each tier.
SPEND_TIERS: tuple[tuple[str, int], ...] = (("spend.a", 3000), ("spend.b", 800), ("spend.c", 1))
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


def spend_tier(monthly_fen: Mapping[str, int], today: date) -> str | None:
    """The spend tier from per-month spend (``YYYY-MM`` -> fen) over the twelve months up to ``today``."""
    months = set()
    year, month = today.year, today.month
    for _ in range(12):
        months.add(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    total_yuan = sum(fen for key, fen in monthly_fen.items() if key in months) / 100
    for tier, floor in SPEND_TIERS:
        if total_yuan >= floor:
            return tier
    return None
