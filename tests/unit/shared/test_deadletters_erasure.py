"""Mirroring the dead-letter topic does not undo an erasure: an erased member's letters arrive blanked."""

from __future__ import annotations

from datetime import datetime

from shared.contracts import CATALOG, TOPICS, WECHAT_PUSHES
from shared.datarights import InMemoryMemberRights
from shared.deadletters import DeadLetterDesk, DeadLetterStatus, InMemoryDeadLetterStore
from shared.events import Envelope, Message
from shared.messaging import Delivery, InMemoryEventPublisher, PermanentHandlerError, RetryPolicy, dispatch
from tests.unit.shared.test_deadletters import AT, PREFIX, Audit, follow, no_sleep, source_of

GONE, KEPT = "o_letter_gone_000000000000000", "o_letter_kept_000000000000000"


async def _park(parked: InMemoryEventPublisher, openid: str, offset: int) -> None:
    async def handler(envelope: Envelope, message: Message) -> None:
        raise PermanentHandlerError(f"no profile for {openid}")

    await dispatch(
        Delivery(WECHAT_PUSHES.physical_name(PREFIX), 0, offset, openid.encode(), follow(openid).to_bytes()),
        consumer="profiles",
        handler=handler,
        catalog=CATALOG,
        deadletters=parked,
        retry=RetryPolicy(attempts=1, initial_delay=0.0, max_delay=0.0),
        sleep=no_sleep,
    )


async def test_an_erased_members_letter_is_mirrored_blanked_and_discarded() -> None:
    parked = InMemoryEventPublisher()
    await _park(parked, GONE, 1)
    await _park(parked, KEPT, 2)
    rights = InMemoryMemberRights()
    await rights.erase("wx1", GONE, by="ada", now=AT)

    async def erased(appid: str, openid: str, at: datetime) -> bool:
        erasure = await rights.erasure(appid, openid)
        return erasure is not None and erasure.suppresses(at, follow=False)

    store = InMemoryDeadLetterStore()
    desk = DeadLetterDesk(
        store,
        source_of(parked),
        InMemoryEventPublisher(),
        Audit(),
        actor="bo",
        topics=TOPICS,
        topic_prefix=PREFIX,
        erased=erased,
    )
    assert (await desk.sync()).added == 2
    letters = {letter.original_key: letter for letter in store.letters.values()}
    assert GONE not in repr(store.letters)
    blanked = letters[None]
    assert blanked.original == "" and blanked.status is DeadLetterStatus.DISCARDED and blanked.reason == "rejected"
    assert letters[KEPT].status is DeadLetterStatus.OPEN and KEPT in letters[KEPT].original
