"""The operator's actions on a push, every status against every action: which moves are allowed, where
they lead (a resumed push goes on sending only once its audience is frozen) and what a refusal says;
and the factory that schedules a new push."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from services.segments.domain.pushes import (
    ACTION_SOURCES,
    DraftChange,
    FrequencyCap,
    IllegalTransition,
    MessageContent,
    PushAction,
    PushInvalid,
    PushStatus,
    QuietHours,
    TemplateContent,
    Variant,
    check_variants,
    draft_change,
    new_push,
    operator_move,
    send_time,
)

S = PushStatus
PAUSE, RESUME, CANCEL, SEND = PushAction.PAUSE, PushAction.RESUME, PushAction.CANCEL, PushAction.SEND

#: (action, status) -> (target with the audience not yet frozen, target once frozen); None: refused.
EXPECTED: dict[tuple[PushAction, PushStatus], tuple[PushStatus, PushStatus] | None] = {
    (PAUSE, S.DRAFT): None,
    (PAUSE, S.SCHEDULED): (S.PAUSED, S.PAUSED),
    (PAUSE, S.MATERIALIZING): (S.PAUSED, S.PAUSED),
    (PAUSE, S.SENDING): (S.PAUSED, S.PAUSED),
    (PAUSE, S.PAUSED): None,
    (PAUSE, S.WAITING_QUOTA): (S.PAUSED, S.PAUSED),
    (PAUSE, S.FINISHED): None,
    (PAUSE, S.CANCELLED): None,
    (PAUSE, S.FAILED): None,
    (RESUME, S.DRAFT): None,
    (RESUME, S.SCHEDULED): None,
    (RESUME, S.MATERIALIZING): None,
    (RESUME, S.SENDING): None,
    (RESUME, S.PAUSED): (S.SCHEDULED, S.SENDING),
    (RESUME, S.WAITING_QUOTA): (S.SCHEDULED, S.SENDING),
    (RESUME, S.FINISHED): None,
    (RESUME, S.CANCELLED): None,
    (RESUME, S.FAILED): None,
    (CANCEL, S.DRAFT): None,  # a draft is deleted instead
    (CANCEL, S.SCHEDULED): (S.CANCELLED, S.CANCELLED),
    (CANCEL, S.MATERIALIZING): (S.CANCELLED, S.CANCELLED),
    (CANCEL, S.SENDING): (S.CANCELLED, S.CANCELLED),
    (CANCEL, S.PAUSED): (S.CANCELLED, S.CANCELLED),
    (CANCEL, S.WAITING_QUOTA): (S.CANCELLED, S.CANCELLED),
    (CANCEL, S.FINISHED): None,
    (CANCEL, S.CANCELLED): None,
    (CANCEL, S.FAILED): None,
    (SEND, S.DRAFT): (S.SCHEDULED, S.SCHEDULED),
    (SEND, S.SCHEDULED): None,
    (SEND, S.MATERIALIZING): None,
    (SEND, S.SENDING): None,
    (SEND, S.PAUSED): None,
    (SEND, S.WAITING_QUOTA): None,
    (SEND, S.FINISHED): None,
    (SEND, S.CANCELLED): None,
    (SEND, S.FAILED): None,
}


def test_the_table_covers_every_status_and_every_action() -> None:
    assert set(EXPECTED) == {(action, status) for action in PushAction for status in PushStatus}


@pytest.mark.parametrize(("action", "status"), list(EXPECTED))
@pytest.mark.parametrize("frozen", [False, True])
def test_each_action_from_each_status(action: PushAction, status: PushStatus, frozen: bool) -> None:
    expected = EXPECTED[(action, status)]
    if expected is None:
        with pytest.raises(IllegalTransition) as refused:
            operator_move(action, status, frozen=frozen)
        assert str(refused.value) == f"cannot {action.value} a push that is {status.value}"
        assert (refused.value.action, refused.value.status) == (action, status)
        return
    move = operator_move(action, status, frozen=frozen)
    assert move.target is expected[frozen]
    assert move.action is action
    # The store moves the push only if it is still where the action may take it from.
    assert status in move.sources and move.sources == ACTION_SOURCES[action]


@pytest.mark.parametrize("action", list(PushAction))
def test_no_action_moves_a_final_push(action: PushAction) -> None:
    assert not any(status.final for status in ACTION_SOURCES[action])


@pytest.mark.parametrize("action", list(PushAction))
def test_an_allowed_move_always_changes_the_status(action: PushAction) -> None:
    for status in ACTION_SOURCES[action]:
        for frozen in (False, True):
            assert operator_move(action, status, frozen=frozen).target is not status


@pytest.mark.parametrize("change", list(DraftChange))
@pytest.mark.parametrize("status", list(PushStatus))
def test_only_a_draft_is_edited_or_deleted(change: DraftChange, status: PushStatus) -> None:
    if status is PushStatus.DRAFT:
        draft_change(change, status)
        return
    with pytest.raises(IllegalTransition, match=f"cannot {change.value} a push that is {status.value}"):
        draft_change(change, status)


NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TEXT = MessageContent(kind="text", text="hi")
TEMPLATE = TemplateContent("tpl", {"first": "hi"})


def test_a_new_push_is_scheduled_for_now_unless_told_otherwise() -> None:
    push = new_push(
        push_id="push_1", appid="wx1", name="p", segment_id="seg_1", variants=[Variant("A", 1, TEXT)], now=NOW
    )
    assert (push.status, push.send_at, push.created_at) == (PushStatus.SCHEDULED, NOW, NOW)
    assert push.cap == FrequencyCap() and push.quiet_hours is None and not push.broadcast
    assert push.segment_version is None and push.audience_size is None


def test_a_new_push_keeps_its_send_time_in_utc_with_its_cap_and_quiet_hours() -> None:
    later = datetime(2026, 11, 24, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    quiet = QuietHours(time(22), time(8))
    push = new_push(
        push_id="push_1",
        appid="wx1",
        name="p",
        segment_id="seg_1",
        variants=[Variant("A", 2, TEXT), Variant("B", 1, template=TEMPLATE)],
        now=NOW,
        send_at=later,
        cap=FrequencyCap(2, 5),
        quiet_hours=quiet,
    )
    assert push.send_at == later and push.send_at.tzinfo is UTC
    assert (push.cap, push.quiet_hours, [v.name for v in push.variants]) == (FrequencyCap(2, 5), quiet, ["A", "B"])


@pytest.mark.parametrize("send_at", [None, NOW + timedelta(hours=5)])
def test_a_draft_waits_unscheduled_keeping_the_time_it_asked_for(send_at: datetime | None) -> None:
    push = new_push(
        push_id="p",
        appid="wx1",
        name="p",
        segment_id="s",
        variants=[Variant("A", 1, TEXT)],
        now=NOW,
        send_at=send_at,
        draft=True,
    )
    assert (push.status, push.send_at) == (PushStatus.DRAFT, send_at)
    assert send_time(push.send_at, NOW) == (send_at or NOW)
    assert send_time(NOW - timedelta(hours=1), NOW) == NOW  # a time gone by: now


def test_a_send_time_without_a_timezone_is_refused() -> None:
    with pytest.raises(PushInvalid, match="timezone"):
        new_push(
            push_id="p",
            appid="wx1",
            name="p",
            segment_id="s",
            variants=[Variant("A", 1, TEXT)],
            now=NOW,
            send_at=datetime(2026, 11, 24, 18, 0),  # no timezone: the point of the test
        )


@pytest.mark.parametrize(
    ("variants", "broadcast", "problem"),
    [
        ([], False, "needs a variant"),
        ([Variant("A", 1)], False, "needs a message, a template or a subscription"),
        ([Variant("A", 0, TEXT)], False, "weight"),
        ([Variant("A", 1, TEXT), Variant("A", 1, TEXT)], False, "names must differ"),
        ([Variant("A", 1, TEXT), Variant("B", 1, TEXT)], True, "exactly one variant"),
        ([Variant("A", 1, template=TEMPLATE)], True, "text or image"),
        ([Variant("A", 1, MessageContent("news"))], True, "text or image"),
    ],
)
def test_variants_that_make_no_push_are_refused(variants: list[Variant], broadcast: bool, problem: str) -> None:
    with pytest.raises(PushInvalid, match=problem):
        check_variants(variants, broadcast=broadcast)


@pytest.mark.parametrize("kind", ["text", "image"])
def test_a_broadcast_is_one_text_or_image(kind: str) -> None:
    check_variants([Variant("A", 1, MessageContent(kind, text="t", media_id="m"))], broadcast=True)
