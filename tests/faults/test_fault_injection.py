"""The fault-injection run: short inside ``make test``, ``SCRM_FAULTS_PUSHES=10000`` in ``make test-faults``.

``SCRM_FAULTS_SEED`` picks the scenario (the same seed, the same pushes and faults) and
``SCRM_FAULTS_BROKER=0`` leaves the (durable) broker alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.faults.runner import run
from tests.faults.scenario import generate, model

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("SCRM_FAULTS_SEED", "19"))
PUSHES = int(os.environ.get("SCRM_FAULTS_PUSHES", "400"))
BROKER = os.environ.get("SCRM_FAULTS_BROKER", "1") != "0"


def test_the_same_seed_gives_the_same_scenario() -> None:
    first, again, other = generate(7, 2_000), generate(7, 2_000), generate(8, 2_000)
    quiet = generate(7, 2_000, broker_restarts=False)
    assert first == again and first != other
    assert 2_000 <= first.pushes < 2_050
    kinds = {fault.kind for fault in first.faults}
    assert kinds == {
        *("worker_sigkill", "worker_sigterm", "mongodb_restart", "redelivery", "gateway_restart", "broker_restart")
    }
    assert "broker_restart" not in {fault.kind for fault in quiet.faults}
    expected = first.expected()
    assert expected.rewarded and set(expected.rejections) == {
        "already_invited",
        "not_a_new_follower",
        "existing_follower_scan",
    }
    assert any(status == "revoked" for _, status in expected.invitations.values())


def test_the_model_follows_the_rules_as_documented() -> None:
    from tests.faults.scenario import Step

    steps = [
        Step("inv", "follow"),
        *(Step(f"m{i}", "follow", via="inv") for i in range(4)),
        Step("m0", "unfollow"),
        Step("m0", "follow", via="inv"),  # back through a poster: credited before
        Step("m1", "scan", via="inv"),  # a follower scanning
        Step("old", "follow"),
        Step("old", "unfollow"),
        Step("old", "follow", via="inv"),  # seen before: not new
        Step("m3", "h5"),
        Step("m3", "mall", mall_event="e1", category="toys", amount_fen=1990),
    ]
    expected = model(steps)
    assert expected.follow_count["m0"] == 2 and expected.following["m0"] and expected.following["m2"]
    assert expected.invitations["m0"] == ("inv", "revoked") and expected.credited["inv"] == 3
    assert expected.rejections == {"already_invited": 1, "not_a_new_follower": 1, "existing_follower_scan": 1}
    assert expected.rewarded == {"inv"}
    assert expected.audience == {"m3"} and expected.mall_events == {"m3": 1} and expected.spend_fen == {"m3": 1990}


# Restarts take seconds each and the campaigns worker renders a poster per new participant: minutes.
@pytest.mark.timeout(max(900, int(PUSHES * 0.6)))
def test_nothing_lost_nothing_doubled_every_process_recovered(tmp_path: Path) -> None:
    scenario = generate(SEED, PUSHES, broker_restarts=BROKER)
    figures = run(scenario, tmp_path, log=print)
    summary = figures.summary()
    (Path.cwd() / "fault-figures.json").write_text(json.dumps(figures.as_json(), ensure_ascii=False))
    print(summary)  # noqa: T201  (shown with -s, as make test-faults runs it)
    assert figures.pushes == scenario.pushes, summary
    assert figures.refused == 0, summary
    assert (figures.lost, figures.doubled) == (0, 0), summary
    assert figures.injected == len(scenario.faults) and figures.recovered == figures.injected, summary
