"""Administration's pure parts: the audit diff, Beijing filters in UTC, the CSV export, the role table."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from services.console.domain.admin import (
    AUDIT_CSV_HEADER,
    PERMISSION_LABELS,
    ROLE_LABELS,
    Change,
    audit_csv,
    beijing_to_utc,
    changes,
    permission_matrix,
    role_permissions,
)
from shared.identity import ROLE_PERMISSIONS, Permission, Role


def test_changes_list_only_keys_that_differ_with_nested_keys_dotted() -> None:
    before = {"name": "Spring", "caps": {"daily": 3, "total": 10}, "gone": True, "same": 1}
    after = {"name": "Spring sale", "caps": {"daily": 5, "total": 10}, "tiers": [1, 2], "same": 1}
    assert changes(before, after) == [
        Change("caps.daily", "changed", "3", "5"),
        Change("gone", "removed", "true", ""),
        Change("name", "changed", "Spring", "Spring sale"),
        Change("tiers", "added", "", "[1, 2]"),
    ]


def test_changes_of_an_entry_without_before_or_after() -> None:
    assert changes(None, None) == []
    assert changes(None, {"role": "reviewer"}) == [Change("role", "added", "", "reviewer")]
    assert changes({"disabled": False}, {"disabled": None}) == [Change("disabled", "changed", "false", "∅")]


def test_beijing_wall_clock_is_sent_in_utc() -> None:
    assert beijing_to_utc("2026-12-04T09:30") == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    assert beijing_to_utc("2026-12-04T00:10") == datetime(2026, 12, 3, 16, 10, tzinfo=UTC)
    assert beijing_to_utc("2026-12-04T09:30+00:00") == datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    assert beijing_to_utc("") is None and beijing_to_utc(None) is None and beijing_to_utc("soon") is None


def test_the_csv_has_beijing_times_and_never_runs_a_formula() -> None:
    text = audit_csv(
        [
            {
                "at": "2026-12-04T01:30:00Z",
                "actor_name": '=HYPERLINK("x")',
                "actor_id": "op_1",
                "appid": "wx1",
                "action": "campaign.edited",
                "object_type": "campaign",
                "object_id": "-1",
                "before": {"name": "旧"},
                "after": None,
                "address": "203.0.113.5",
                "request_id": "r1",
            }
        ]
    )
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == list(AUDIT_CSV_HEADER)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["time_beijing"] == "2026-12-04 09:30:00" and row["time_utc"] == "2026-12-04T01:30:00Z"
    assert row["actor_name"] == '\'=HYPERLINK("x")' and row["object_id"] == "'-1"
    assert row["before"] == '{"name": "旧"}' and row["after"] == ""


def test_the_matrix_and_labels_follow_the_identity_model() -> None:
    matrix = dict(permission_matrix())
    assert set(matrix) == {p.value for p in Permission}
    for column, role in enumerate(Role):
        assert {p for p, held in matrix.items() if held[column]} == {p.value for p in ROLE_PERMISSIONS[role]}
        assert set(role_permissions(role)) == {p.value for p in ROLE_PERMISSIONS[role]}
    assert set(ROLE_LABELS) == {r.value for r in Role} and set(PERMISSION_LABELS) == {p.value for p in Permission}
