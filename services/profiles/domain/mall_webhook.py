"""The mall webhook's contract: how a shop signs its requests and what an event must say. Pure.

Signing: ``X-Mall-Timestamp: <unix seconds>`` and ``X-Mall-Signature: sha256=<hex>``, where the hex is
HMAC-SHA256 with the shared secret over ``<timestamp>.<raw body>``. Binding the timestamp into the MAC
and refusing stale ones stops a captured request from being replayed later; comparing in constant time
stops the signature being guessed byte by byte.

A request is all or nothing: every event in it (one JSON object, or NDJSON lines for the bulk route) is
checked — shape, account, category — before any is accepted, and the errors name the line and field.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MAX_BULK_EVENTS",
    "REPLAY_WINDOW_SECONDS",
    "EventProblem",
    "MallEventIn",
    "SignatureRejected",
    "parse_events",
    "sign",
    "verify_signature",
]

REPLAY_WINDOW_SECONDS = 300
MAX_BULK_EVENTS = 10_000
_KINDS = ("view", "add_to_cart", "order", "refund")
_MAX_TEXT = 128


class SignatureRejected(Exception):
    """The request is not from the shop (or is stale); the message says which check failed."""


@dataclass(frozen=True)
class EventProblem:
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class MallEventIn:
    event_id: str
    appid: str
    openid: str
    kind: str
    category: str
    occurred_at: datetime
    amount_fen: int = 0
    unionid: str | None = None
    order_id: str | None = None


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Mall-Signature`` value for ``body`` sent at ``timestamp`` (shops and tests use it)."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
    if not timestamp or not signature:
        raise SignatureRejected("X-Mall-Timestamp and X-Mall-Signature are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureRejected("X-Mall-Timestamp must be unix seconds") from None
    if abs(now - sent) > REPLAY_WINDOW_SECONDS:
        raise SignatureRejected(f"X-Mall-Timestamp is more than {REPLAY_WINDOW_SECONDS} s from now")
    # As bytes: compare_digest raises on non-ASCII text, which must be a mismatch, not a 500.
    if not hmac.compare_digest(sign(secret, sent, body).encode(), signature.strip().encode("utf-8", "replace")):
        raise SignatureRejected("X-Mall-Signature does not match the body")


def _text(item: dict[str, Any], name: str, problems: list[str], *, required: bool = True) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        problems.append(f"{name}: a string of 1-{_MAX_TEXT} characters is required")
        return None
    return value


def _amount_fen(item: dict[str, Any], problems: list[str]) -> int:
    """``amount_fen`` (integer fen) or ``amount`` (yuan, two decimals at most)."""
    if "amount_fen" in item:
        value = item["amount_fen"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000_000:
            problems.append("amount_fen: a whole number of fen, 0-100000000")
            return 0
        return value
    if "amount" in item:
        try:
            yuan = Decimal(str(item["amount"]))
        except InvalidOperation:
            problems.append("amount: a number of yuan")
            return 0
        if isinstance(item["amount"], bool) or not yuan.is_finite() or yuan < 0 or yuan > 1_000_000:
            problems.append("amount: yuan between 0 and 1000000")
            return 0
        if yuan != yuan.quantize(Decimal("0.01")):
            problems.append("amount: at most two decimals")
            return 0
        return int(yuan * 100)
    return 0


def _event(
    line: int, item: Any, known_account: Callable[[str], bool], categories: Container[str]
) -> tuple[MallEventIn | None, list[EventProblem]]:
    if not isinstance(item, dict):
        return None, [EventProblem(line, "", "expected a JSON object")]
    problems: list[str] = []
    event_id = _text(item, "event_id", problems)
    appid = _text(item, "appid", problems)
    openid = _text(item, "openid", problems)
    unionid = _text(item, "unionid", problems, required=False)
    order_id = _text(item, "order_id", problems, required=False)
    kind = item.get("type")
    if kind not in _KINDS:
        problems.append(f"type: one of {', '.join(_KINDS)}")
    category = _text(item, "category", problems)
    if category is not None and category not in categories:
        problems.append(f"category: {category!r} is not in the taxonomy's mall categories")
    occurred_at: datetime | None = None
    raw_time = item.get("occurred_at")
    try:
        occurred_at = datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else None
        if occurred_at is not None and occurred_at.utcoffset() is not None:
            occurred_at = occurred_at.astimezone(UTC)  # overflows at the ends of the calendar (0001-01-01+01:00)
    except (ValueError, OverflowError):
        occurred_at = None
    if occurred_at is None or occurred_at.utcoffset() is None:
        problems.append("occurred_at: an ISO 8601 time with a time zone")
    amount = _amount_fen(item, problems)
    if kind in ("order", "refund") and amount == 0 and not any(p.startswith("amount") for p in problems):
        problems.append(f"amount: an {kind} needs its amount (amount in yuan or amount_fen)")
    if appid is not None and not known_account(appid):
        problems.append(f"appid: unknown account {appid!r}")
    found = [EventProblem(line, text.split(":", 1)[0], text.split(": ", 1)[1]) for text in problems]
    if found:
        return None, found
    assert event_id and appid and openid and category and occurred_at and isinstance(kind, str)
    return (
        MallEventIn(event_id, appid, openid, kind, category, occurred_at, amount, unionid, order_id),
        [],
    )


def parse_events(
    body: bytes, *, bulk: bool, known_account: Callable[[str], bool], categories: Container[str]
) -> tuple[list[MallEventIn], list[EventProblem]]:
    """Every event in ``body``, or the problems (line numbers from 1; 0 for the body as a whole)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [], [EventProblem(0, "", "the body is not UTF-8")]
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()] if bulk else [(1, text)]
    if not lines:
        return [], [EventProblem(0, "", "no events in the body")]
    if len(lines) > MAX_BULK_EVENTS:
        return [], [EventProblem(0, "", f"at most {MAX_BULK_EVENTS} events per request")]
    events: list[MallEventIn] = []
    problems: list[EventProblem] = []
    seen: set[str] = set()
    for number, raw in lines:
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(EventProblem(number, "", f"not JSON ({exc.msg})"))
            continue
        except (ValueError, RecursionError):  # an integer of thousands of digits; arrays nested past the stack
            problems.append(
                EventProblem(number, "", "not JSON this service reads (numbers too long or nested too deep)")
            )
            continue
        event, found = _event(number, item, known_account, categories)
        problems += found
        if event is not None and event.event_id not in seen:  # a repeat within one request: once
            seen.add(event.event_id)
            events.append(event)
    return (events, []) if not problems else ([], problems)
