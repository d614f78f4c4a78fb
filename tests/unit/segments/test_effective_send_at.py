"""A ``send_at`` inside the quiet hours is accepted and held: the push says when it really goes (issue 22,
item 10), as the dispatcher will hold it."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.segments.domain.pushes import BEIJING, PushStatus, QuietHours, effective_send_at
from services.segments.entrypoints.http.schemas import PushOut

NIGHT = QuietHours(time(22, 0), time(8, 0))


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("send_at", "really"),
    [
        (beijing(23, 23, 30), beijing(24, 8)),  # inside, before midnight: the next morning
        (beijing(24, 2, 0), beijing(24, 8)),  # inside, after midnight: this morning
        (beijing(24, 9, 0), beijing(24, 9)),  # outside: as asked
        (beijing(23, 21, 59), beijing(23, 21, 59)),
    ],
)
def test_a_send_time_in_the_quiet_hours_moves_to_their_end(send_at: datetime, really: datetime) -> None:
    assert effective_send_at(send_at, NIGHT, PushStatus.SCHEDULED) == really
    assert effective_send_at(send_at, None, PushStatus.SCHEDULED) == send_at  # no quiet hours: as asked


@pytest.mark.parametrize("status", [PushStatus.SENDING, PushStatus.PAUSED, PushStatus.FINISHED, PushStatus.CANCELLED])
def test_a_push_that_started_has_no_effective_send_time(status: PushStatus) -> None:
    assert effective_send_at(beijing(23, 23), NIGHT, status) is None


def test_a_draft_sent_when_sent_has_none_yet() -> None:
    assert effective_send_at(None, NIGHT, PushStatus.DRAFT) is None
    assert effective_send_at(beijing(23, 23), NIGHT, PushStatus.DRAFT) == beijing(24, 8)


def _doc(**fields: object) -> dict[str, object]:
    return {
        "_id": "p1",
        "name": "晚安推送",
        "segment_id": "s1",
        "status": "scheduled",
        "send_at": beijing(23, 23, 30).astimezone(UTC).replace(tzinfo=None),  # as MongoDB gives it back
        "quiet_hours": {"start": "22:00:00", "end": "08:00:00"},
        "variants": [],
        "cap": {"per_day": 1, "per_week": 3},
        "created_at": beijing(23, 12).astimezone(UTC),
    } | fields


def test_the_push_answer_says_when_it_really_goes() -> None:
    held = PushOut.of(_doc())
    assert held.held_by_quiet_hours and held.effective_send_at == beijing(24, 8)
    assert held.send_at == beijing(23, 23, 30)  # what was asked stays what was asked
    free = PushOut.of(_doc(quiet_hours=None))
    assert not free.held_by_quiet_hours and free.effective_send_at == beijing(23, 23, 30)
    started = PushOut.of(_doc(status="sending"))
    assert started.effective_send_at is None and not started.held_by_quiet_hours
    assert PushOut.of(_doc(status="draft", send_at=None)).effective_send_at is None
