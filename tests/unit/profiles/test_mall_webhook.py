"""The mall webhook's contract: signatures, replay window, and all-or-nothing event parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.profiles.domain.mall_webhook import (
    MAX_BULK_EVENTS,
    REPLAY_WINDOW_SECONDS,
    SignatureRejected,
    parse_events,
    sign,
    verify_signature,
)

SECRET = b"shop-secret"
BODY = b'{"event_id": "e1"}'
NOW = 1_800_000_000
CATEGORIES = {"toys", "diapers_newborn"}


def known(appid: str) -> bool:
    return appid == "wx1"


def event(**overrides: Any) -> dict[str, Any]:
    base = {
        "event_id": "e1",
        "appid": "wx1",
        "openid": "o1",
        "type": "view",
        "category": "toys",
        "occurred_at": "2026-11-23T10:00:00+08:00",
    }
    return {**base, **overrides}


def parse(*events: Any, bulk: bool = True) -> tuple[list[Any], list[tuple[int, str]]]:
    raw = "\n".join(e if isinstance(e, str) else json.dumps(e) for e in events).encode()
    parsed, problems = parse_events(raw, bulk=bulk, known_account=known, categories=CATEGORIES)
    return parsed, [(p.line, p.field) for p in problems]


def test_a_signed_request_verifies() -> None:
    verify_signature(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY, NOW + 10)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "why"),
    [
        (None, "sha256=00", BODY, "required"),
        (str(NOW), None, BODY, "required"),
        ("yesterday", "sha256=00", BODY, "unix seconds"),
        (str(NOW - REPLAY_WINDOW_SECONDS - 1), sign(SECRET, NOW - REPLAY_WINDOW_SECONDS - 1, BODY), BODY, "from now"),
        (str(NOW), sign(b"other-secret", NOW, BODY), BODY, "does not match"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY + b" ", "does not match"),  # the body was changed
        (str(NOW), sign(SECRET, NOW + 1, BODY), BODY, "does not match"),  # the timestamp was changed
    ],
)
def test_forged_stale_or_unsigned_requests_are_refused(
    timestamp: str | None, signature: str | None, body: bytes, why: str
) -> None:
    with pytest.raises(SignatureRejected, match=why):
        verify_signature(SECRET, timestamp, signature, body, NOW)


def test_events_parse_with_amounts_in_fen_or_yuan() -> None:
    events, problems = parse(
        event(),
        event(event_id="e2", type="order", amount=12.5),
        event(event_id="e3", type="refund", amount_fen=1250, unionid="u1", order_id="so-9"),
    )
    assert problems == []
    assert [e.amount_fen for e in events] == [0, 1250, 1250]
    assert events[0].occurred_at.utcoffset() is not None and events[0].occurred_at.hour == 2  # in UTC
    assert events[2].unionid == "u1" and events[2].order_id == "so-9"


def test_a_repeat_within_one_request_counts_once() -> None:
    events, problems = parse(event(), event())
    assert problems == [] and len(events) == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (event(category="lawnmowers"), "category"),
        (event(type="like"), "type"),
        (event(appid="wx-other"), "appid"),
        (event(openid=""), "openid"),
        (event(occurred_at="2026-11-23T10:00:00"), "occurred_at"),  # no time zone
        (event(occurred_at="soon"), "occurred_at"),
        (event(type="order"), "amount"),  # an order without its amount
        (event(type="order", amount=-1), "amount"),
        (event(type="order", amount=1.005), "amount"),
        (event(type="order", amount=True), "amount"),
        (event(type="order", amount_fen=12.5), "amount_fen"),
        (event(event_id="x" * 200), "event_id"),
        ("[1, 2]", ""),
        ("{not json", ""),
    ],
)
def test_one_bad_event_refuses_the_whole_request_naming_line_and_field(bad: Any, field: str) -> None:
    events, problems = parse(event(), bad)
    assert events == []
    assert (2, field) in problems


def test_whole_body_problems() -> None:
    assert parse_events(b"\xff\xfe", bulk=True, known_account=known, categories=CATEGORIES)[1][0].line == 0
    assert parse_events(b"\n\n", bulk=True, known_account=known, categories=CATEGORIES)[1][0].line == 0
    too_many = ("\n".join([json.dumps(event())] * (MAX_BULK_EVENTS + 1))).encode()
    [problem] = parse_events(too_many, bulk=True, known_account=known, categories=CATEGORIES)[1]
    assert str(MAX_BULK_EVENTS) in problem.message


def test_the_single_route_reads_one_object_even_over_several_lines() -> None:
    pretty = json.dumps(event(), indent=2)
    events, problems = parse(pretty, bulk=False)
    assert problems == [] and len(events) == 1


@pytest.mark.parametrize("signature", ["sha256=签名", "sha256=" + "é" * 64, "\udcff"])
def test_non_ascii_signatures_are_refused_not_errors(signature: str) -> None:
    with pytest.raises(SignatureRejected, match="does not match"):
        verify_signature(SECRET, str(NOW), signature, BODY, NOW)
