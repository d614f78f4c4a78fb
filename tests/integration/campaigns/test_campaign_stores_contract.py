"""One contract each for campaign definitions (``CampaignRepository``) and poster background images
(``TemplateStore``), run against the in-memory adapters and MongoDB's."""

from __future__ import annotations

import abc
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.campaigns.adapters import campaigns as campaign_docs
from services.campaigns.adapters import templates as template_docs
from services.campaigns.adapters.campaigns import MongoCampaignRepository, to_document
from services.campaigns.adapters.memory import InMemoryCampaigns, InMemoryTemplates
from services.campaigns.adapters.templates import MongoTemplateStore
from services.campaigns.domain.campaign import (
    Campaign,
    CampaignStatus,
    InviteTier,
    PosterTemplate,
    QrBox,
    Rules,
    TextSlot,
    VersionConflict,
)
from services.campaigns.service_layer.ports import CampaignRepository, ImageInfo, TemplateStore
from shared.storage import ensure_indexes

# Whole milliseconds: what MongoDB keeps of a time.
T0 = datetime(2026, 11, 23, 8, 0, 0, 123_000, tzinfo=UTC)


def campaign(campaign_id: str, *, appid: str = "wx1", minutes: int = 0) -> Campaign:
    return Campaign.create(
        appid=appid,
        name=f"活动 {campaign_id}",
        starts_at=T0,
        ends_at=T0 + timedelta(days=7),
        now=T0 + timedelta(minutes=minutes),
        campaign_id=campaign_id,
        template=PosterTemplate("img1", 750, 1334, QrBox(500, 1100, 200), (TextSlot("nickname", 40, 40, 32),)),
        tiers=(InviteTier(3, "A"), InviteTier(10, "B")),
        rules=Rules(per_inviter_daily_cap=20, blacklist=frozenset({"o-cheat"})),
    )


class CampaignRepositoryContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def campaigns(self) -> CampaignRepository: ...

    async def test_an_added_campaign_reads_back_whole_at_version_one(self, campaigns: CampaignRepository) -> None:
        added = campaign("c1")
        await campaigns.add(added)
        assert added.version == 1
        found = await campaigns.get("wx1", "c1")
        assert found is not None and to_document(found) == to_document(added)
        assert await campaigns.get("wx2", "c1") is None  # another account's
        assert await campaigns.get("wx1", "nope") is None

    async def test_an_id_is_added_once(self, campaigns: CampaignRepository) -> None:
        await campaigns.add(campaign("c1"))
        with pytest.raises(VersionConflict, match="already exists"):
            await campaigns.add(campaign("c1"))

    async def test_a_save_bumps_the_version_and_refuses_a_stale_copy(self, campaigns: CampaignRepository) -> None:
        await campaigns.add(campaign("c1"))
        mine, theirs = await campaigns.get("wx1", "c1"), await campaigns.get("wx1", "c1")
        assert mine is not None and theirs is not None
        mine.name = "第二期"
        await campaigns.save(mine)
        assert mine.version == 2
        theirs.name = "lost update"
        with pytest.raises(VersionConflict, match="version 1"):
            await campaigns.save(theirs)
        assert theirs.version == 1
        stored = await campaigns.get("wx1", "c1")
        assert stored is not None and (stored.name, stored.version) == ("第二期", 2)

    async def test_a_campaign_never_added_or_of_another_account_is_not_saved(
        self, campaigns: CampaignRepository
    ) -> None:
        with pytest.raises(VersionConflict):
            await campaigns.save(campaign("ghost"))
        await campaigns.add(campaign("c1"))
        elsewhere = campaign("c1", appid="wx2")
        elsewhere.version = 1
        with pytest.raises(VersionConflict):
            await campaigns.save(elsewhere)
        assert await campaigns.get("wx2", "c1") is None

    async def test_what_a_reader_changes_stays_with_the_reader(self, campaigns: CampaignRepository) -> None:
        added = campaign("c1")
        await campaigns.add(added)
        added.name = "changed after add"
        found = await campaigns.get("wx1", "c1")
        assert found is not None
        found.tiers = ()
        again = await campaigns.get("wx1", "c1")
        assert again is not None and again.name == "活动 c1" and len(again.tiers) == 2

    async def test_the_list_is_the_accounts_newest_first_by_status_and_paged(
        self, campaigns: CampaignRepository
    ) -> None:
        for n in range(5):
            await campaigns.add(campaign(f"c{n}", minutes=n))
        await campaigns.add(campaign("other", appid="wx2", minutes=9))
        live = await campaigns.get("wx1", "c1")
        assert live is not None
        live.activate(T0)
        await campaigns.save(live)
        assert [c.id for c in await campaigns.list("wx1")] == ["c4", "c3", "c2", "c1", "c0"]
        assert [c.id for c in await campaigns.list("wx1", limit=2, offset=1)] == ["c3", "c2"]
        assert [c.id for c in await campaigns.list("wx1", status=CampaignStatus.ACTIVE)] == ["c1"]
        assert [c.id for c in await campaigns.list("wx1", status=CampaignStatus.ENDED)] == []
        assert [c.id for c in await campaigns.list("wx2")] == ["other"]

    async def test_campaigns_created_together_list_in_id_order(self, campaigns: CampaignRepository) -> None:
        for campaign_id in ("b", "c", "a"):
            await campaigns.add(campaign(campaign_id))
        assert [c.id for c in await campaigns.list("wx1")] == ["a", "b", "c"]


class TestInMemoryCampaigns(CampaignRepositoryContract):
    @pytest.fixture
    async def campaigns(self) -> CampaignRepository:
        return InMemoryCampaigns()


@pytest.mark.integration
class TestMongoCampaigns(CampaignRepositoryContract):
    @pytest.fixture
    async def campaigns(self, database: Any) -> CampaignRepository:
        await ensure_indexes(database, campaign_docs.INDEXES)
        return MongoCampaignRepository(database)


PNG = ImageInfo("image/png", 750, 1334, 9)


class TemplateStoreContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def templates(self) -> TemplateStore: ...

    async def test_an_upload_is_kept_with_its_description_under_a_new_id(self, templates: TemplateStore) -> None:
        first = await templates.put("wx1", "c1", b"png bytes", PNG)
        second = await templates.put("wx1", "c1", b"png bytes", PNG)
        assert first.id != second.id
        assert (first.appid, first.campaign_id, first.info) == ("wx1", "c1", PNG)
        assert first.sha256 == hashlib.sha256(b"png bytes").hexdigest()
        assert first.uploaded_at.microsecond == 0
        assert await templates.get("c1", first.id) == first
        assert await templates.read(first.id) == b"png bytes"

    async def test_an_image_is_found_only_for_its_campaign(self, templates: TemplateStore) -> None:
        image = await templates.put("wx1", "c1", b"png bytes", PNG)
        assert await templates.get("c2", image.id) is None
        assert await templates.get("c1", "nope") is None
        assert await templates.read("nope") is None

    async def test_a_deleted_image_is_gone_and_deleting_again_is_harmless(self, templates: TemplateStore) -> None:
        image = await templates.put("wx1", "c1", b"png bytes", PNG)
        kept = await templates.put("wx1", "c1", b"other", PNG)
        await templates.delete(image.id)
        await templates.delete(image.id)
        assert await templates.get("c1", image.id) is None and await templates.read(image.id) is None
        assert await templates.read(kept.id) == b"other"


class TestInMemoryTemplates(TemplateStoreContract):
    @pytest.fixture
    async def templates(self) -> TemplateStore:
        return InMemoryTemplates()


@pytest.mark.integration
class TestMongoTemplates(TemplateStoreContract):
    @pytest.fixture
    async def templates(self, database: Any) -> TemplateStore:
        await ensure_indexes(database, template_docs.INDEXES)
        return MongoTemplateStore(database)
