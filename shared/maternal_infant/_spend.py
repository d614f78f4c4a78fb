"""Spend tiers: how much a member spent in the mall over the last twelve months, in three bands.

Profiles shows the tier as a tag; segments select members by it. Both compute it from the per-month
spend the profile keeps, on the day they ask, so a tier lapses without anyone rewriting the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

#: Spend over the last twelve months (yuan) at or above which a member is in each tier, highest first.
SPEND_TIERS: tuple[tuple[str, int], ...] = (("spend.a", 3000), ("spend.b", 800), ("spend.c", 1))


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
