"""The follower import's paging, batching and resumption, with a paged follower list in memory."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.profiles.domain.follower_import import Checkpoint
from services.profiles.service_layer.importing import BATCH, import_followers
from shared.wechat_client import FollowerPage, UserInfo, WeChatApiError

PAGE = 250


class Followers:
    """user/get in pages of PAGE and info/batchget, over a list of openids; can fail the Nth batch call."""

    def __init__(self, count: int, fail_batch: int | None = None) -> None:
        self.openids = [f"o{n:05d}" for n in range(count)]
        self.fail_batch = fail_batch
        self.batch_calls = 0
        self.pages_asked: list[str | None] = []

    async def list_followers(self, next_openid: str | None = None) -> FollowerPage:
        self.pages_asked.append(next_openid)
        start = 0 if not next_openid else self.openids.index(next_openid) + 1
        chunk = self.openids[start : start + PAGE]
        last = start + PAGE >= len(self.openids)
        return FollowerPage(
            total=len(self.openids), count=len(chunk), openids=tuple(chunk), next_openid="" if last else chunk[-1]
        )

    async def user_info_batch(self, openids: Sequence[str]) -> tuple[UserInfo, ...]:
        assert len(openids) <= BATCH
        self.batch_calls += 1
        if self.batch_calls == self.fail_batch:
            raise WeChatApiError(45009, "api freq out of limit", api="user/info/batchget")
        return tuple(UserInfo(subscribe=1, openid=o, unionid=f"u-{o}") for o in openids)


class Sink:
    def __init__(self) -> None:
        self.saved: Checkpoint | None = None
        self.profiles: dict[str, str | None] = {}

    async def checkpoint(self, appid: str) -> Checkpoint | None:
        return self.saved

    async def save_checkpoint(self, appid: str, checkpoint: Checkpoint) -> None:
        self.saved = checkpoint

    async def upsert_followers(self, appid: str, followers: Sequence[UserInfo]) -> int:
        new = [f for f in followers if f.openid not in self.profiles]
        for follower in followers:
            self.profiles.setdefault(follower.openid, follower.unionid)
        return len(new)


async def test_every_follower_is_imported_in_batches_of_a_hundred() -> None:
    source, sink = Followers(620), Sink()
    seen: list[tuple[int, int]] = []
    result = await import_followers("wx1", source, sink, progress=lambda done, total: seen.append((done, total)))
    assert (result.imported, result.created, result.total, result.resumed) == (620, 620, 620, False)
    assert len(sink.profiles) == 620 and source.batch_calls == 8  # pages of 250, 250, 120: 3 + 3 + 2 calls
    assert seen[-1] == (620, 620)
    assert sink.saved == Checkpoint(None, 620, done=True)


async def test_a_failure_resumes_at_the_page_it_stopped_on() -> None:
    source, sink = Followers(620, fail_batch=5), Sink()  # the second batch of the second page
    with pytest.raises(WeChatApiError):
        await import_followers("wx1", source, sink)
    assert sink.saved == Checkpoint("o00249", 250)  # the first page is done
    source.fail_batch = None
    result = await import_followers("wx1", source, sink)
    assert result.resumed and result.imported == 620 and len(sink.profiles) == 620
    assert source.pages_asked[-2:] == ["o00249", "o00499"]


async def test_a_finished_import_or_restart_starts_from_the_first_page() -> None:
    source, sink = Followers(120), Sink()
    await import_followers("wx1", source, sink)
    again = await import_followers("wx1", source, sink)
    assert not again.resumed and again.created == 0 and source.pages_asked[-1] is None
    sink.saved = Checkpoint("o00050", 50)
    restarted = await import_followers("wx1", source, sink, restart=True)
    assert not restarted.resumed and source.pages_asked[-1] is None
