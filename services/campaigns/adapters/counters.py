"""Where a campaign's counters live in MongoDB (:mod:`services.campaigns.domain.counters` names them):
``campaign_counters``, a few shard documents per campaign (and per account, for its screenshots)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.storage import MongoCounters, counter_indexes

__all__ = ["COUNTERS", "INDEXES", "campaign_counters"]

COUNTERS = "campaign_counters"

INDEXES = counter_indexes(COUNTERS)


def campaign_counters(database: AsyncDatabase[Any]) -> MongoCounters:
    return MongoCounters(database, COUNTERS)
