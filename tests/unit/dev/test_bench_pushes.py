"""The push benchmark's own parts: its members all get the template, and its pacing check counts right
(no timing here)."""

from __future__ import annotations

from datetime import UTC, datetime

from scrm.bench_pushes import _busiest_second, _push_document, _recipients
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.pushes import Channel, decide
from services.segments.service_layer.dispatch import _recipient


def test_every_bench_member_gets_the_template_of_the_bench_push() -> None:
    now = datetime.now(UTC)
    push = push_from_document(_push_document("push_x", "wx1", "seg_x", now) | {"status": "sending"})
    documents = _recipients("o_t_", 50, now)
    assert len({d["openid"] for d in documents}) == 50
    for document in documents:
        for variant in push.variants:
            decision = decide(_recipient(document, {}, "2026-01"), variant, push.cap, now)
            assert decision.channel is Channel.TEMPLATE, decision


def test_the_busiest_second_counts_requests_started_within_one_second() -> None:
    assert _busiest_second([]) == 0
    assert _busiest_second([0.0, 0.5, 0.99, 1.0, 1.5, 1.98]) == 4  # 0.99 to 1.98
    assert _busiest_second([0.0, 2.0, 4.0]) == 1
    assert _busiest_second([i / 8 for i in range(40)]) == 8  # steady 8/s
