"""The audit export: an operator's name, the ids and the before/after are what people typed; the CSV
shows them as text and never runs them."""

from __future__ import annotations

import csv
import io

from shared.identity import Identity
from tests.unit.console.conftest import APPID, ConsoleUnderTest


async def test_a_hostile_operator_name_and_diff_come_out_as_text(console: ConsoleUnderTest) -> None:
    assert (await console.sign_in("ada")).status_code == 303
    ada = await console.directory.operator("ada")
    hostile = Identity(
        actor_id=ada.id, name='=HYPERLINK("http://evil.example","ada")', kind="operator", grants=frozenset()
    )
    await console.directory.record(
        hostile, "campaign.edited", "campaign", "-1+1", appid=APPID, before={"n": 1}, after={"name": "@x"}
    )
    answer = await console.client.get("/admin/audit/export.csv", params={"action": "campaign.edited"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="audit-')
    assert answer.content.startswith("\ufeff".encode()) and answer.content.count("\ufeff".encode()) == 1
    (row,) = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline=""))
    assert row["actor_name"] == '\'=HYPERLINK("http://evil.example","ada")' and row["object_id"] == "'-1+1"
    assert row["before"] == '{"n": 1}' and row["after"] == '{"name": "@x"}'  # JSON starts with "{": safe
