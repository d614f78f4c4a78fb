"""A dashboard's CSV through the API: a name that would start a formula (a screenshot's reason code) is
shown as text, never run; a negative change stays a number."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from services.analytics.adapters.memory_reader import InMemoryRollupReader
from services.analytics.entrypoints.http import create_app
from services.analytics.settings import AnalyticsSettings
from shared.identity import Role
from tests.accounts import account
from tests.identities import Callers

APPID = "wx1"
NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://evil.example","海报")'


def test_a_hostile_source_name_comes_out_as_text() -> None:
    reader = InMemoryRollupReader()
    reader.add(APPID, "account", "2026-03-01", {"screenshots:rejected": 2, f"screenshot_reason:{HOSTILE}": 2})
    reader.add(APPID, "account", "2026-02-27", {"screenshots:rejected": 5})  # the previous period: -3
    callers = Callers.on(APPID)
    app = create_app(
        AnalyticsSettings(wechat_accounts=[account(APPID)]), identity=callers.config, clock=lambda: NOW, reader=reader
    )
    with TestClient(app, headers=callers.headers(Role.ANALYST)) as client:
        response = client.get(
            f"/accounts/{APPID}/dashboards/screenshots",
            params={"from": "2026-03-01", "to": "2026-03-02", "format": "csv"},
        )
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.count("\ufeff".encode()) == 1
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    reasons = rows.index(["rejection and review reasons"])
    assert rows[reasons + 1 : reasons + 3] == [["reason", "count"], ["'" + HOSTILE, "2"]]
    assert ["rejected", "2", "5", "-3", "-60.0"] in rows
