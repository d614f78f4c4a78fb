"""The dashboards bench's synthetic year: a million members' worth, consistent between scopes."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from scrm_dev.bench_dashboards import _cases, synthetic_year


def test_a_synthetic_year_is_a_million_members_and_tens_of_millions_of_events() -> None:
    year = synthetic_year("wx1", date(2026, 12, 4))
    documents = year.documents()
    assert {d["_id"] for d in documents} == {f"wx1|{d['scope']}|{d['day']}" for d in documents}
    account = [d["c"] for d in documents if d["scope"] == "account"]
    assert len(account) == 365
    net = sum(c["follows"] - c["unfollows"] for c in account)
    assert 900_000 < net < 1_200_000
    assert 20_000_000 < year.events < 100_000_000
    # The account's counters are the campaigns' and pushes' together.
    campaigns: Counter[str] = Counter()
    pushes: Counter[str] = Counter()
    for d in documents:
        if d["scope"].startswith("campaign:"):
            campaigns.update(d["c"])
        elif d["scope"].startswith("push:"):
            pushes.update(d["c"])
    assert sum(c.get("credited", 0) for c in account) == campaigns["credited"]
    assert sum(c.get("pushes_delivered", 0) for c in account) == pushes["delivered"]
    assert sum(c.get("follows:poster", 0) for c in account) == campaigns["poster_follows"]


def test_every_case_asks_a_range_that_ends_by_today_and_an_id_active_in_it() -> None:
    year = synthetic_year("wx1", date(2026, 12, 4))
    cases = _cases(year, random.Random(1), 5)
    assert len(cases) == 1 + 8 + 7
    assert all(len(case.paths) == 5 for case in cases)
    pushes = next(case for case in cases if case.label == "pushes/{id}, 30 days")
    for path in pushes.paths:
        push_id = path.split("/pushes/")[1].split("?")[0]
        assert push_id in year.pushes
