"""The profiles read model: what other services may read of profile documents, and that the profiles
service writes all of it."""

from __future__ import annotations

from datetime import date

import pytest

from services.profiles.adapters.repository import PROFILES, to_document
from services.profiles.domain.profile import Profile
from services.segments.adapters.profile_documents import FACT_FIELDS
from shared.contracts import PROFILES_READ_MODEL, UndeclaredField, profile_id, stage_span_filter
from shared.maternal_infant import Basis, DateSpan


def test_the_owner_writes_the_declared_collection_and_every_declared_field() -> None:
    assert PROFILES_READ_MODEL.collection == PROFILES
    document = to_document(Profile("wx1", "o1")) | {"written_at": None}  # the repository stamps written_at
    assert set(PROFILES_READ_MODEL.fields) <= set(document)
    assert document["_id"] == profile_id("wx1", "o1")


def test_readers_may_project_declared_fields_only() -> None:
    assert PROFILES_READ_MODEL.projection("appid", "follow.following") == {"appid": 1, "follow.following": 1}
    assert set(FACT_FIELDS) <= set(PROFILES_READ_MODEL.fields)
    with pytest.raises(UndeclaredField, match="applied_events"):
        PROFILES_READ_MODEL.projection("openid", "applied_events")


@pytest.mark.parametrize(
    ("span", "query"),
    [
        (DateSpan(Basis.PREPARING), {"stage.basis": "preparing"}),
        (DateSpan(Basis.DUE_DATE, date(2026, 1, 1)), {"stage.basis": "due_date", "stage.on": {"$gt": "2026-01-01"}}),
        (
            DateSpan(Basis.BIRTHDAY, date(2025, 1, 1), date(2025, 6, 30)),
            {"stage.basis": "birthday", "stage.on": {"$gt": "2025-01-01", "$lte": "2025-06-30"}},
        ),
        (
            DateSpan(Basis.BIRTHDAY, None, date(2025, 6, 30)),
            {"stage.basis": "birthday", "stage.on": {"$lte": "2025-06-30"}},
        ),
    ],
)
def test_a_date_span_selects_the_counting_declaration(span: DateSpan, query: dict[str, object]) -> None:
    assert stage_span_filter(span) == query
