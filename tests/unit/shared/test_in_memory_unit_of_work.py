"""The in-memory unit of work's claims: granted once per consumer, kept only when committed."""

from __future__ import annotations

from shared.storage import InMemoryUnitOfWork


class Counter(InMemoryUnitOfWork):
    """A unit of work over one number, staged like the services' in-memory stores."""

    def __init__(self) -> None:
        super().__init__()
        self.value = 0
        self.staged = 0

    def _begin(self) -> None:
        self.staged = self.value

    def _apply(self) -> None:
        self.value = self.staged


async def test_claims_and_writes_commit_together_or_not_at_all() -> None:
    uow = Counter()
    async with uow:
        assert await uow.claim("c", "e1")
        uow.staged += 1
    assert (uow.value, uow.processed, uow.commits) == (0, set(), 0)
    async with uow:
        assert await uow.claim("c", "e1")
        assert not await uow.claim("c", "e1")  # the same event twice in one transaction
        uow.staged += 1
        await uow.commit()
    assert (uow.value, uow.processed, uow.commits) == (1, {"c:e1"}, 1)


async def test_a_batch_claims_only_what_its_consumer_has_not_processed() -> None:
    uow = Counter()
    async with uow:
        assert await uow.claim_many("c", ["e1", "e2", "e1"]) == {"e1", "e2"}
        await uow.commit()
    async with uow:
        assert await uow.claim_many("c", ["e1", "e3"]) == {"e3"}
        assert await uow.claim_many("other", ["e1"]) == {"e1"}


async def test_emitted_events_join_the_outbox_only_when_the_transaction_commits() -> None:
    from datetime import UTC, datetime

    from shared.contracts import WECHAT_PUSHES, MemberFollowed
    from shared.events import Envelope

    def followed(openid: str) -> Envelope:
        event = MemberFollowed(openid=openid, followed_at=datetime(2026, 12, 1, tzinfo=UTC))
        return Envelope.wrap(event, appid="wx1", key=openid)

    uow = Counter()
    async with uow:
        await uow.emit(WECHAT_PUSHES, followed("o-dropped"))
    async with uow:
        await uow.emit(WECHAT_PUSHES, followed("o-kept"))
        await uow.commit()
    assert [(topic, envelope.key) for topic, envelope in uow.emitted] == [(WECHAT_PUSHES, "o-kept")]
