"""The value report's CSV: brand and project names are typed by operators and never run as formulas."""

from __future__ import annotations

import csv
import io

from tests.unit.brands.conftest import Api
from tests.unit.brands.test_http import _brand, _deliver, _facts, _project


def test_a_hostile_brand_or_project_name_comes_out_as_text(api: Api) -> None:
    brand = _brand(api, "mia", '=HYPERLINK("http://evil.example","贝贝")')
    project = _project(api, "mia", brand["id"], name="@SUM(1+1)*cmd|' /C calc'!A0", target_deliveries=10)
    _deliver(api, _facts(project["id"]))
    answer = api.client.get(f"/projects/{project['id']}/value-report?format=csv", headers=api.as_("mia"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="value-report-{project["id"]}.csv"'
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert rows[1][:2] == ['\'=HYPERLINK("http://evil.example","贝贝")', "'@SUM(1+1)*cmd|' /C calc'!A0"]
    assert rows[1][4:] == ["10", "4", "2", "1", "25.0%"]  # the figures stay numbers
    assert answer.text.count("\ufeff") == 1 and "\r\n" in answer.text
