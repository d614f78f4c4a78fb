"""The campaigns API as the console's tests run it: the real app over its in-memory adapters (its own
composition root is MongoDB's; tests swap the app module's ``bootstrap`` for :func:`in_memory_bootstrap`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaignResults,
    InMemoryCampaigns,
    InMemoryNotices,
    InMemoryPosterVariants,
    InMemoryReferralGraph,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
    InMemoryReviewedSubmissions,
    InMemoryRewardPools,
    InMemorySharePayouts,
    InMemoryShareScreenshots,
    InMemoryTemplates,
)
from services.campaigns.bootstrap_api import CampaignsApi
from services.campaigns.settings import CampaignsSettings
from tests.unit.campaigns.fakes import StubJoinCodes

__all__ = ["in_memory_bootstrap"]


def in_memory_bootstrap(
    records: CampaignRecords,
    campaigns: InMemoryCampaigns | None = None,
    templates: InMemoryTemplates | None = None,
    variants: InMemoryPosterVariants | None = None,
) -> Callable[[CampaignsSettings], AbstractAsyncContextManager[CampaignsApi]]:
    """No WeChat client: a decision's reply stays queued for the worker, as when WeChat is down."""

    @asynccontextmanager
    async def bootstrap(settings: CampaignsSettings) -> AsyncIterator[CampaignsApi]:
        async def ready() -> None:
            return None

        yield CampaignsApi(
            settings,
            campaigns=campaigns if campaigns is not None else InMemoryCampaigns(),
            pools=InMemoryRewardPools(),
            templates=templates if templates is not None else InMemoryTemplates(),
            stats=InMemoryCampaignResults(records),
            join_codes=StubJoinCodes(),
            screenshots=InMemoryShareScreenshots(records),
            uow=lambda: InMemoryReferralUnitOfWork(records),
            notices=cast(Any, InMemoryNotices(records)),
            participants=InMemoryReferrals(records),
            reviewed=InMemoryReviewedSubmissions(records),
            clients=cast(Any, {}),
            ready=ready,
            graph=InMemoryReferralGraph(records),
            variants=variants if variants is not None else InMemoryPosterVariants(records),
            payouts=InMemorySharePayouts(records),
        )

    return bootstrap
